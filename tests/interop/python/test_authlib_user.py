"""Interop test: user sign-in against a real Portvakt binary, driven by PyPI
authlib's requests client (``OAuth2Session``) with its defaults.

The browser part (login and consent pages) is played by a ``requests.Session``
that keeps cookies and does not follow redirects by itself. ID tokens are
checked the way authlib's own OpenID client integrations do it (joserfc and
``authlib.oidc.core.CodeIDToken``), and the discovery documents with authlib's
metadata validators.

Run through ../run.sh, which needs PORTVAKT_BIN to point at a built
``portvakt`` binary. Without one every test fails; nothing is skipped.
"""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from browser import parse_form, sign_in
from portvakt_server import start_portvakt, stop_portvakt

RESOURCE = "api://analytics"
API_SCOPE = f"{RESOURCE}/Reports.Read"
SCOPE = f"openid profile email offline_access {API_SCOPE}"

TENANTS = {"contoso": "ES256", "fabrikam": "EdDSA", "northwind": "RS256"}


def _secret() -> str:
    return secrets.token_urlsafe(24)  # 32 characters


USERS = {
    "ada": {"upn": "ada@contoso.example", "name": "Ada Lovelace", "password": _secret()},
    "grace": {"upn": "grace@contoso.example", "name": "Grace Hopper", "password": _secret()},
}
# A public client: PKCE is mandatory, the user is asked for consent.
SPA = {"client_id": "spa", "redirect_uri": "http://127.0.0.1:9/cb"}
# A confidential client that an administrator consented to.
WEB = {"client_id": "web-portal", "secret": _secret(), "redirect_uri": "http://127.0.0.1:9/web/callback"}
# The API's own confidential client, for introspection (RFC 7662).
API = {"client_id": "analytics-api", "secret": _secret()}


def import_document() -> dict:
    return {
        "tenants": [
            {
                "name": name,
                "displayName": f"{name.capitalize()} (authlib interop)",
                "signingAlgorithm": alg,
                "users": [
                    {"userPrincipalName": u["upn"], "displayName": u["name"],
                     "password": u["password"], "accountEnabled": True}
                    for u in USERS.values()
                ],
                # The API's own client may introspect the API's access tokens (RFC 7662 §4).
                "resources": [{"identifier": RESOURCE, "displayName": "Analytics API",
                               "scopes": ["Reports.Read"], "introspectionClients": [API["client_id"]]}],
                "applications": [
                    {"clientId": SPA["client_id"], "displayName": "Reports SPA",
                     "grantTypes": ["authorization_code", "refresh_token"],
                     "redirectUris": [SPA["redirect_uri"]], "allowedScopes": [API_SCOPE]},
                    {"clientId": WEB["client_id"], "displayName": "Web portal",
                     "clientSecret": WEB["secret"], "adminConsented": True,
                     "grantTypes": ["authorization_code", "refresh_token"],
                     "redirectUris": [WEB["redirect_uri"]], "allowedScopes": [API_SCOPE]},
                    {"clientId": API["client_id"], "displayName": "Analytics API (introspection)",
                     "clientSecret": API["secret"], "grantTypes": ["client_credentials"],
                     "allowedScopes": [f"{RESOURCE}/.default"]},
                ],
            }
            for name, alg in TENANTS.items()
        ]
    }


@pytest.fixture(scope="module")
def portvakt():
    server = start_portvakt(import_document())
    try:
        yield server
    finally:
        stop_portvakt(server)


def discovery(portvakt, tenant: str = "contoso") -> dict:
    res = requests.get(f"{portvakt.issuer(tenant)}/.well-known/openid-configuration", timeout=10)
    res.raise_for_status()
    return res.json()


# --- checks ------------------------------------------------------------------


def validate_id_token(md: dict, token: dict, client_id: str, nonce: str):
    """What authlib's OpenIDMixin.parse_id_token does, with the keys from jwks_uri."""
    key_set = KeySet.import_key_set(requests.get(md["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(
        token["id_token"],
        key_set,
        registry=JWSRegistry(algorithms=md["id_token_signing_alg_values_supported"],
                             strict_check_header=False),
    )
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"values": [md["issuer"]]}},
        {"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
    )
    claims.validate(leeway=120)  # exp, iat, aud, nonce, at_hash, auth_time, azp
    return claims, decoded.header


def check_sign_in(md: dict, session: OAuth2Session, token: dict, *, client_id: str, user: dict,
                  nonce: str, alg: str):
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] > 0
    assert "refresh_token" in token, "offline_access was granted but no refresh token came"
    assert "offline_access" in token["scope"].split()
    assert API_SCOPE in token["scope"].split() or "Reports.Read" in token["scope"].split(), token["scope"]

    claims, header = validate_id_token(md, token, client_id, nonce)
    # ID tokens are RS256 whatever the tenant's algorithm (OIDC Core §15.1).
    assert header["alg"] == "RS256", header
    assert claims["aud"] == client_id
    assert claims["nonce"] == nonce
    assert "at_hash" in claims
    assert isinstance(claims["sid"], str) and claims["sid"]
    assert abs(claims["auth_time"] - time.time()) < 120
    assert "pwd" in claims["amr"], claims["amr"]

    # UserInfo: the session sends the access token as a bearer token.
    res = session.get(md["userinfo_endpoint"], timeout=10)
    assert res.status_code == 200, res.text
    info = res.json()
    assert info["sub"] == claims["sub"]
    assert info["name"] == user["name"]
    assert info["preferred_username"] == user["upn"]
    assert info["email"] == user["upn"]
    return claims


def introspect(md: dict, token: str, hint: str | None = None) -> dict:
    api = OAuth2Session(API["client_id"], API["secret"])
    res = api.introspect_token(md["introspection_endpoint"], token=token, token_type_hint=hint)
    assert res.status_code == 200, res.text
    return res.json()


# --- tests -------------------------------------------------------------------


@pytest.mark.parametrize("tenant", list(TENANTS))
def test_discovery_documents_pass_authlib_metadata_validation(portvakt, tenant):
    md = discovery(portvakt, tenant)
    assert md["issuer"] == portvakt.issuer(tenant)
    assert "RS256" in md["id_token_signing_alg_values_supported"]
    assert TENANTS[tenant] in md["access_token_signing_alg_values_supported"]
    # OpenID Connect Discovery 1.0 §3, as authlib checks it; among others:
    # id_token_signing_alg_values_supported "... The algorithm RS256 MUST be included."
    OpenIDProviderMetadata(md).validate()

    res = requests.get(f"{portvakt.base}/.well-known/oauth-authorization-server/{tenant}", timeout=10)
    res.raise_for_status()
    AuthorizationServerMetadata(res.json()).validate()  # RFC 8414 §2


def public_session() -> OAuth2Session:
    """The public client as a newcomer writes it: no secret, S256 PKCE."""
    return OAuth2Session(SPA["client_id"], scope=SCOPE, redirect_uri=SPA["redirect_uri"],
                         code_challenge_method="S256")


def web_session(auth_method: str = "client_secret_basic", pkce: bool = True) -> OAuth2Session:
    kwargs = {} if auth_method == "client_secret_basic" else {"token_endpoint_auth_method": auth_method}
    return OAuth2Session(WEB["client_id"], WEB["secret"], scope=SCOPE, redirect_uri=WEB["redirect_uri"],
                         code_challenge_method="S256" if pkce else None, **kwargs)


def code_flow(md: dict, session: OAuth2Session, user: dict, *, pkce: bool = True):
    """Authorization code (+ PKCE) with authlib, the user played by sign_in()."""
    code_verifier = generate_token(48) if pkce else None
    nonce = generate_token(20)
    url, state = session.create_authorization_url(md["authorization_endpoint"],
                                                  code_verifier=code_verifier, nonce=nonce)
    q = parse_qs(urlsplit(url).query)
    assert q["state"] == [state]
    if pkce:
        assert q["code_challenge_method"] == ["S256"]
    else:
        assert "code_challenge" not in q
    callback, browser, seen = sign_in(url, user, session.redirect_uri)
    cb = parse_qs(urlsplit(callback).query)
    assert cb["iss"] == [md["issuer"]]  # RFC 9207
    assert cb["state"] == [state]
    token = session.fetch_token(md["token_endpoint"], authorization_response=callback, state=state,
                                **({"code_verifier": code_verifier} if pkce else {}))
    return token, nonce, browser, seen


@pytest.mark.parametrize("tenant", list(TENANTS))
def test_public_client_code_pkce_consent_id_token_userinfo(portvakt, tenant):
    md = discovery(portvakt, tenant)
    session = public_session()
    assert session.token_endpoint_auth_method == "none"  # authlib's default without a secret
    token, nonce, browser, seen = code_flow(md, session, USERS["ada"])
    assert seen["login"] == 1
    assert seen["consent"] == 1, "a public client without admin consent must ask the user"
    assert seen["consent_scopes"], "the consent page lists nothing"
    assert browser.cookies.get("pv_session"), "signing in set no pv_session cookie"
    check_sign_in(md, session, token, client_id=SPA["client_id"], user=USERS["ada"],
                  nonce=nonce, alg=TENANTS[tenant])


@pytest.mark.parametrize("tenant", list(TENANTS))
def test_public_client_refresh_rotates(portvakt, tenant):
    md = discovery(portvakt, tenant)
    session = public_session()
    token, nonce, _, _ = code_flow(md, session, USERS["grace"])
    claims, _ = validate_id_token(md, token, SPA["client_id"], nonce)
    first = token["refresh_token"]

    # authlib's refresh_token() sends the session's scope again (RFC 6749 §6
    # allows it: the same scope as originally granted).
    refreshed = session.refresh_token(md["token_endpoint"], refresh_token=first)
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != first, "the refresh token was not rotated"
    if "id_token" in refreshed:
        again, _ = validate_id_token(md, refreshed, SPA["client_id"], nonce=None)
        assert again["sub"] == claims["sub"]
        assert again["auth_time"] == claims["auth_time"]
    res = session.get(md["userinfo_endpoint"], timeout=10)  # with the new access token
    assert res.status_code == 200 and res.json()["sub"] == claims["sub"], res.text

    # Once its successor is used, the rotated-out refresh token is a replay (within
    # 10 s and before that, a client that lost the response may retry with it:
    # docs/refresh-tokens.md).
    session.refresh_token(md["token_endpoint"], refresh_token=refreshed["refresh_token"])
    with pytest.raises(OAuthError) as err:
        session.refresh_token(md["token_endpoint"], refresh_token=first)
    assert err.value.error == "invalid_grant"


def test_public_client_introspection_and_revocation(portvakt):
    md = discovery(portvakt)
    session = public_session()
    token, nonce, _, _ = code_flow(md, session, USERS["ada"])
    claims, _ = validate_id_token(md, token, SPA["client_id"], nonce)

    at = introspect(md, token["access_token"], "access_token")
    assert at["active"] is True, at
    assert at["client_id"] == SPA["client_id"]
    assert at["sub"] == claims["sub"]
    assert at["username"] == USERS["ada"]["upn"]
    # A refresh token is for its own client alone (RFC 7662 §4): the API learns nothing.
    assert introspect(md, token["refresh_token"], "refresh_token") == {"active": False}

    # Revocation (RFC 7009) by the public client itself.
    res = session.revoke_token(md["revocation_endpoint"], token=token["access_token"],
                               token_type_hint="access_token")
    assert res.status_code == 200, res.text
    assert introspect(md, token["access_token"])["active"] is False
    assert session.get(md["userinfo_endpoint"], timeout=10).status_code == 401

    res = session.revoke_token(md["revocation_endpoint"], token=token["refresh_token"],
                               token_type_hint="refresh_token")
    assert res.status_code == 200, res.text
    with pytest.raises(OAuthError) as err:
        session.refresh_token(md["token_endpoint"], refresh_token=token["refresh_token"])
    assert err.value.error == "invalid_grant"


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
@pytest.mark.parametrize("pkce", [True, False], ids=["pkce", "no-pkce"])
def test_confidential_admin_consented_client(portvakt, auth_method, pkce):
    md = discovery(portvakt)
    session = web_session(auth_method, pkce)
    assert session.token_endpoint_auth_method == auth_method  # basic is authlib's default
    sent = []
    session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request))

    token, nonce, _, seen = code_flow(md, session, USERS["grace"], pkce=pkce)
    assert seen["login"] == 1
    assert seen["consent"] == 0, "an admin-consented application must not show a consent page"
    req = sent[-1]
    assert req.url == md["token_endpoint"]
    if auth_method == "client_secret_basic":
        assert req.headers["Authorization"].startswith("Basic ")
        assert "client_secret=" not in req.body
    else:
        assert "Authorization" not in req.headers
        assert "client_secret=" in req.body
    check_sign_in(md, session, token, client_id=WEB["client_id"], user=USERS["grace"],
                  nonce=nonce, alg="ES256")

    # Introspection and revocation with the web app's own credentials.
    res = session.introspect_token(md["introspection_endpoint"], token=token["access_token"])
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["active"] is True, body
    assert body["client_id"] == WEB["client_id"]
    assert body["username"] == USERS["grace"]["upn"]
    res = session.revoke_token(md["revocation_endpoint"], token=token["access_token"],
                               token_type_hint="access_token")
    assert res.status_code == 200, res.text
    assert introspect(md, token["access_token"])["active"] is False


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_confidential_client_refresh_rotates(portvakt, auth_method):
    md = discovery(portvakt)
    session = web_session(auth_method)
    token, _, _, _ = code_flow(md, session, USERS["ada"])
    first = token["refresh_token"]
    refreshed = session.refresh_token(md["token_endpoint"])  # the session's own refresh token
    assert refreshed["refresh_token"] != first, "the refresh token was not rotated"
    # The web app may introspect its own refresh tokens; the API may not.
    own = session.introspect_token(md["introspection_endpoint"], token=refreshed["refresh_token"],
                                   token_type_hint="refresh_token").json()
    assert own["active"] is True and own["client_id"] == WEB["client_id"], own
    assert introspect(md, refreshed["refresh_token"], "refresh_token") == {"active": False}
    used = session.introspect_token(md["introspection_endpoint"], token=first,
                                    token_type_hint="refresh_token").json()
    assert used["active"] is False, used
    session.refresh_token(md["token_endpoint"])  # the successor is used: no retry of `first`
    with pytest.raises(OAuthError) as err:
        session.refresh_token(md["token_endpoint"], refresh_token=first)
    assert err.value.error == "invalid_grant"
