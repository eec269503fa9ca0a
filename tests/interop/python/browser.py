"""The user's part of a sign-in, played by a ``requests.Session`` that keeps
cookies and follows no redirect by itself: the login page (password, and a TOTP
code when a policy asks), the consent page, and back to the client's redirect URI.
Shared by the authlib and MSAL interop tests."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


class _FormParser(HTMLParser):
    """The first <form> of a page: action, method, hidden inputs, field names, buttons."""

    def __init__(self):
        super().__init__()
        self.form = None
        self.done = False
        self.list_items: list[str] = []
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "code":
            self._in_code = True
        if self.done:
            return
        if tag == "form" and self.form is None:
            self.form = {"action": a.get("action"), "method": (a.get("method") or "get").lower(),
                         "hidden": {}, "fields": [], "buttons": []}
        elif self.form is not None and tag == "input" and a.get("name"):
            self.form["fields"].append(a["name"])
            if a.get("type") == "hidden":
                self.form["hidden"][a["name"]] = a.get("value") or ""
        elif self.form is not None and tag == "button":
            self.form["buttons"].append((a.get("name"), a.get("value")))

    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None:
            self.done = True
        if tag == "code":
            self._in_code = False

    def handle_data(self, data):
        if self._in_code:
            self.list_items.append(data)


def parse_form(html: str, page_url: str) -> tuple[dict, list[str]]:
    p = _FormParser()
    p.feed(html)
    assert p.form is not None, f"no <form> on {page_url}:\n{html}"
    assert p.form["method"] == "post"
    p.form["action"] = urljoin(page_url, p.form["action"] or page_url)
    return p.form, p.list_items


def sign_in(url: str, user: dict, redirect_uri: str, browser: requests.Session | None = None):
    """Play the user: from the authorization URL to the redirect back to the
    client, signing in and accepting consent on the way. Returns the callback
    (not fetched: the redirect URL, or with response_mode=form_post the dict of
    fields the page would post to the redirect URI), the browser and what was seen."""
    browser = browser or requests.Session()
    seen = {"login": 0, "consent": 0, "consent_scopes": [], "hops": []}
    res = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        seen["hops"].append(f"{res.status_code} {res.url}")
        if res.status_code in (302, 303):
            nxt = urljoin(res.url, res.headers["Location"])
            if nxt.startswith(redirect_uri + "?"):
                return nxt, browser, seen
            res = browser.get(nxt, allow_redirects=False, timeout=10)
            continue
        assert res.status_code == 200, f"unexpected {res.status_code} from {res.url}:\n{res.text}"
        assert res.headers.get("content-type", "").startswith("text/html")
        form, items = parse_form(res.text, res.url)
        if form["action"] == redirect_uri:
            # The form-post response page (OAuth 2.0 Form Post Response Mode §2): a
            # browser posts these fields to the client by itself.
            seen["form_post"] = True
            return dict(form["hidden"]), browser, seen
        if "password" in form["fields"]:
            seen["login"] += 1
            assert form["hidden"].get("interaction"), "login form without a hidden interaction"
            assert form["hidden"].get("csrf"), "login form without a hidden csrf"
            data = {**form["hidden"], "username": user["upn"], "password": user["password"]}
        elif ("consent", "accept") in form["buttons"]:
            seen["consent"] += 1
            seen["consent_scopes"] = items
            data = {**form["hidden"], "consent": "accept"}
        else:
            raise AssertionError(f"neither a login nor a consent form at {res.url}:\n{res.text}")
        res = browser.post(form["action"], data=data, allow_redirects=False, timeout=10)
    raise AssertionError(f"no redirect to {redirect_uri} after {' -> '.join(seen['hops'])}")


