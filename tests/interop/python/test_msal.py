"""Interop test: Microsoft's own client library, PyPI ``msal`` (unchanged), against a
real Portvakt binary over TLS — MSAL accepts only https authorities. It is pointed at
a tenant with ``oidc_authority`` and trusts the test CA (``verify``).

- ConfidentialClientApplication.acquire_token_for_client
- PublicClientApplication device flow, the user code approved through the real page
- the authorization code flow (initiate_auth_code_flow / acquire_token_by_auth_code_flow),
  the login form posted
- acquire_token_silent that refreshes with the refresh token
- a refresh refused by a Conditional Access policy: ``interaction_required`` in MSAL's
  result, with Portvakt's code and the policy

Run through ../run.sh (PORTVAKT_BIN). Without a binary every test fails; nothing is skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import warnings
from urllib.parse import urljoin

import msal
import pytest
import requests

from browser import parse_form, sign_in
from certs import make as make_certs
from portvakt_server import admin_token, start_portvakt, stop_portvakt

RESOURCE = "api://analytics"
SCOPE = f"{RESOURCE}/Reports.Read"
USER = {"upn": "ada@contoso.example", "name": "Ada Lovelace", "password": secrets.token_urlsafe(24)}
DAEMON = {"client_id": "daemon", "secret": secrets.token_urlsafe(24)}
WEB = {"client_id": "web", "secret": secrets.token_urlsafe(24), "redirect_uri": "http://localhost:9/cb"}
CLI = {"client_id": "cli"}
MFA_POLICY = "Require MFA for the web app"


def import_document() -> dict:
    return {"tenants": [{
        "name": "contoso", "displayName": "Contoso (MSAL interop)",
        "users": [{"userPrincipalName": USER["upn"], "displayName": USER["name"],
                   "password": USER["password"]}],
        "resources": [{"identifier": RESOURCE, "displayName": "Analytics API", "scopes": ["Reports.Read"]}],
        "applications": [
            {"clientId": DAEMON["client_id"], "displayName": "Daemon", "clientSecret": DAEMON["secret"],
             "grantTypes": ["client_credentials"], "allowedScopes": [f"{RESOURCE}/.default"]},
            {"clientId": WEB["client_id"], "displayName": "Web app", "clientSecret": WEB["secret"],
             "adminConsented": True, "grantTypes": ["authorization_code", "refresh_token"],
             "redirectUris": [WEB["redirect_uri"]], "allowedScopes": [SCOPE]},
            {"clientId": CLI["client_id"], "displayName": "Command line",
             "grantTypes": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"],
             "allowedScopes": [SCOPE]},
        ],
        "conditionalAccessPolicies": [{
            "displayName": MFA_POLICY, "state": "disabled",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": [WEB["client_id"]]}},
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
        }],
    }]}


@pytest.fixture(scope="module")
def portvakt():
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own
    # `verify` (MSAL's `verify` is one): without this, the test CA would be ignored
    # on machines that set them.
    saved = {k: os.environ.pop(k) for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if k in os.environ}
    certs_dir = tempfile.mkdtemp(prefix="portvakt-msal-certs-")
    paths = make_certs(certs_dir)
    server = start_portvakt(import_document(),
                            ("--tls-cert", paths["server.pem"], "--tls-key", paths["server.key"]))
    server.ca = paths["ca.pem"]
    assert server.base.startswith("https://"), server.base
    yield server
    stop_portvakt(server)
    os.environ.update(saved)


def authority(portvakt) -> str:
    return portvakt.issuer("contoso")


def browser(portvakt) -> requests.Session:
    b = requests.Session()
    b.verify = portvakt.ca
    return b


def check_token(result: dict, *, user: bool):
    assert "access_token" in result, json.dumps(result, indent=2)
    assert result.get("token_type", "").lower() == "bearer", result
    if user:
        assert result.get("id_token_claims", {}).get("preferred_username") == USER["upn"], result


def test_confidential_client_credentials(portvakt):
    app = msal.ConfidentialClientApplication(
        DAEMON["client_id"], client_credential=DAEMON["secret"],
        oidc_authority=authority(portvakt), verify=portvakt.ca)
    result = app.acquire_token_for_client(scopes=[f"{RESOURCE}/.default"])
    check_token(result, user=False)
    # The second call is answered from MSAL's cache.
    again = app.acquire_token_for_client(scopes=[f"{RESOURCE}/.default"])
    assert again["access_token"] == result["access_token"]
    assert again.get("token_source") == "cache", again
    # A wrong secret: MSAL reports Portvakt's error, with its code.
    bad = msal.ConfidentialClientApplication(
        DAEMON["client_id"], client_credential="wrong-" + DAEMON["secret"],
        oidc_authority=authority(portvakt), verify=portvakt.ca)
    r = bad.acquire_token_for_client(scopes=[f"{RESOURCE}/.default"])
    assert r.get("error") == "invalid_client", r
    assert "PV" in json.dumps(r), r


def approve_device_code(portvakt, flow: dict):
    """The user's part: open the verification page, type the code, sign in, approve."""
    b = browser(portvakt)
    url = flow["verification_uri"]
    res = b.get(url, timeout=10)
    assert res.status_code == 200, res.text
    form, _ = parse_form(res.text, res.url)
    field = next(f for f in form["fields"] if f not in form["hidden"])
    res = b.post(form["action"], data={**form["hidden"], field: flow["user_code"]},
                 allow_redirects=False, timeout=10)
    for _ in range(10):
        if res.status_code in (302, 303):
            res = b.get(urljoin(res.url, res.headers["Location"]), allow_redirects=False, timeout=10)
            continue
        assert res.status_code == 200, res.text
        if "password" in res.text and 'name="password"' in res.text:
            form, _ = parse_form(res.text, res.url)
            res = b.post(form["action"], data={**form["hidden"], "username": USER["upn"],
                                               "password": USER["password"]},
                         allow_redirects=False, timeout=10)
        elif 'value="accept"' in res.text:
            form, _ = parse_form(res.text, res.url)
            res = b.post(form["action"], data={**form["hidden"], "consent": "accept"},
                         allow_redirects=False, timeout=10)
            assert res.status_code == 200, res.text
            return
        else:
            raise AssertionError(f"unexpected page at {res.url}:\n{res.text}")
    raise AssertionError("the device approval did not finish")


def test_public_client_device_flow_and_silent_refresh(portvakt):
    app = msal.PublicClientApplication(CLI["client_id"], oidc_authority=authority(portvakt),
                                       verify=portvakt.ca)
    flow = app.initiate_device_flow(scopes=[SCOPE])
    assert "user_code" in flow, json.dumps(flow, indent=2)
    assert flow["verification_uri"].startswith(portvakt.base), flow
    flow["expires_at"] = flow.get("expires_at")  # MSAL's own field, kept
    t = threading.Thread(target=approve_device_code, args=(portvakt, flow))
    t.start()
    result = app.acquire_token_by_device_flow(flow)
    t.join(30)
    check_token(result, user=True)
    assert result.get("refresh_token"), result
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == [USER["upn"]], accounts
    # Silent: from the cache, then forced through the refresh token.
    cached = app.acquire_token_silent([SCOPE], account=accounts[0])
    assert cached and cached["access_token"] == result["access_token"], cached
    refreshed = app.acquire_token_silent([SCOPE], account=accounts[0], force_refresh=True)
    check_token(refreshed, user=False)
    assert refreshed["access_token"] != result["access_token"]
    assert refreshed.get("token_source") == "identity_provider", refreshed


def auth_code_sign_in(portvakt, app) -> dict:
    # response_mode=form_post, as MSAL recommends (it warns otherwise, citing RFC 9700
    # §4.3.1): the code reaches the client in a POST, never in a URL. Warnings are
    # errors here, so a warning from MSAL fails the test.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flow = app.initiate_auth_code_flow(
            [SCOPE], redirect_uri=WEB["redirect_uri"], response_mode="form_post")
    assert "auth_uri" in flow, flow
    assert flow["auth_uri"].startswith(f"{authority(portvakt)}/oauth2/authorize?"), flow["auth_uri"]
    assert "response_mode=form_post" in flow["auth_uri"], flow["auth_uri"]
    posted, _, seen = sign_in(flow["auth_uri"], USER, WEB["redirect_uri"], browser(portvakt))
    assert seen["login"] == 1, seen
    assert seen.get("form_post") and isinstance(posted, dict), (seen, posted)
    assert set(posted) >= {"code", "state", "iss"}, posted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return app.acquire_token_by_auth_code_flow(flow, posted)


def set_policy_state(portvakt, state: str):
    token = admin_token(portvakt, verify=portvakt.ca)
    base = f"{portvakt.base}/admin/v1/tenants/contoso/identity/conditionalAccess/policies"
    h = {"authorization": f"Bearer {token}"}
    policies = requests.get(base, headers=h, verify=portvakt.ca, timeout=10).json()["value"]
    pid = next(p["id"] for p in policies if p["displayName"] == MFA_POLICY)
    r = requests.patch(f"{base}/{pid}", headers=h, json={"state": state}, verify=portvakt.ca, timeout=10)
    assert r.status_code == 200, r.text


def test_auth_code_flow_silent_refresh_and_a_policy_refusal(portvakt):
    app = msal.ConfidentialClientApplication(
        WEB["client_id"], client_credential=WEB["secret"], oidc_authority=authority(portvakt),
        verify=portvakt.ca)
    result = auth_code_sign_in(portvakt, app)
    check_token(result, user=True)
    account = app.get_accounts(username=USER["upn"])[0]
    refreshed = app.acquire_token_silent([SCOPE], account=account, force_refresh=True)
    check_token(refreshed, user=False)
    assert refreshed.get("token_source") == "identity_provider", refreshed

    # A policy now requires MFA for this app: the silent refresh is refused, and MSAL
    # says interaction_required (the application then signs in interactively).
    set_policy_state(portvakt, "enabled")
    try:
        refused = app.acquire_token_silent_with_error([SCOPE], account=account, force_refresh=True)
    finally:
        set_policy_state(portvakt, "disabled")
    assert refused is not None and refused.get("error") == "interaction_required", refused
    assert MFA_POLICY in refused.get("error_description", ""), refused
    assert "PV4002" in json.dumps(refused), refused
