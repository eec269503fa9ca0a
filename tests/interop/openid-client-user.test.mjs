// Interop test: user sign-in against a real Portvakt binary, driven by
// panva's `openid-client` v6 with its defaults (only
// `allowInsecureRequests`, because Portvakt listens on plain http on the
// loopback here). The browser part (the login and consent pages) is played
// by `fetch` with redirect: 'manual' and a small cookie jar, the way a
// browser would: every cookie Portvakt sets is sent back on the paths it
// applies to, and nothing else.
//
// Run through ./run.sh, which needs PORTVAKT_BIN to point at a built
// `portvakt` binary. The test never skips: without a usable binary it fails.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

import * as client from 'openid-client';
import * as jose from 'jose';

import { binaryProblem as findBinaryProblem, startPortvakt, stopPortvakt } from './portvakt-server.mjs';

const RESOURCE = 'api://analytics';
const API_SCOPE = `${RESOURCE}/Reports.Read`;
const SCOPE = `openid profile email offline_access ${API_SCOPE}`;

const secret = () => randomBytes(24).toString('base64url'); // 32 chars

// One tenant per signing algorithm; contoso (ES256, the default) carries the
// main tests.
const TENANTS = { contoso: 'ES256', fabrikam: 'EdDSA', northwind: 'RS256' };

const USERS = {
  ada: { upn: 'ada@contoso.example', displayName: 'Ada Lovelace', password: secret() },
  grace: { upn: 'grace@contoso.example', displayName: 'Grace Hopper', password: secret() },
};
// A public client (no secret): PKCE is mandatory, consent is asked.
const SPA = { clientId: 'spa', redirectUri: 'http://127.0.0.1:9/cb' };
// A confidential client that an administrator consented to for every user.
const WEB = { clientId: 'web-portal', secret: secret(), redirectUri: 'http://127.0.0.1:9/web/callback' };
// The API's own confidential client, used to introspect tokens (RFC 7662).
const API = { clientId: 'analytics-api', secret: secret() };
// A device without a browser (RFC 8628): a public client.
const TV = { clientId: 'wallboard' };

function importDocument() {
  return {
    tenants: Object.entries(TENANTS).map(([name, alg]) => ({
      name,
      displayName: `${name[0].toUpperCase()}${name.slice(1)} (interop)`,
      signingAlgorithm: alg,
      users: Object.values(USERS).map((u) => ({
        userPrincipalName: u.upn,
        displayName: u.displayName,
        password: u.password,
        accountEnabled: true,
      })),
      // The API's own client may introspect the API's access tokens (RFC 7662 §4).
      resources: [{ identifier: RESOURCE, displayName: 'Analytics API', scopes: ['Reports.Read'], introspectionClients: [API.clientId] }],
      applications: [
        {
          clientId: SPA.clientId,
          displayName: 'Reports SPA',
          grantTypes: ['authorization_code', 'refresh_token'],
          redirectUris: [SPA.redirectUri],
          allowedScopes: [API_SCOPE],
        },
        {
          clientId: WEB.clientId,
          displayName: 'Web portal',
          clientSecret: WEB.secret,
          adminConsented: true,
          grantTypes: ['authorization_code', 'refresh_token'],
          redirectUris: [WEB.redirectUri],
          allowedScopes: [API_SCOPE],
        },
        {
          clientId: TV.clientId,
          displayName: 'Analytics wallboard',
          grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
          allowedScopes: [API_SCOPE],
        },
        {
          clientId: API.clientId,
          displayName: 'Analytics API (introspection)',
          clientSecret: API.secret,
          grantTypes: ['client_credentials'],
          allowedScopes: [`${RESOURCE}/.default`],
        },
      ],
    })),
  };
}

// ---------------------------------------------------------------------------
// The browser: fetch with redirect: 'manual' and a cookie jar (RFC 6265 path
// matching; expired cookies are dropped).

class Browser {
  constructor() {
    /** name -> { value, path, attributes } (one host: the loopback server) */
    this.cookies = new Map();
    /** Every Set-Cookie header seen, raw. */
    this.setCookies = [];
  }

  static pathMatches(cookiePath, requestPath) {
    if (requestPath === cookiePath) return true;
    if (!requestPath.startsWith(cookiePath)) return false;
    return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
  }

  cookieHeader(url) {
    const path = new URL(url).pathname;
    return [...this.cookies.entries()]
      .filter(([, c]) => Browser.pathMatches(c.path, path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  store(url, res) {
    for (const raw of res.headers.getSetCookie()) {
      this.setCookies.push(raw);
      const [pair, ...attrs] = raw.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const attributes = {};
      for (const a of attrs) {
        const i = a.indexOf('=');
        attributes[(i < 0 ? a : a.slice(0, i)).toLowerCase()] = i < 0 ? true : a.slice(i + 1);
      }
      // RFC 6265 §5.1.4: the default path is the request path up to its last '/'.
      const reqPath = new URL(url).pathname;
      const path = attributes.path ?? (reqPath.lastIndexOf('/') > 0 ? reqPath.slice(0, reqPath.lastIndexOf('/')) : '/');
      if (attributes['max-age'] !== undefined && Number(attributes['max-age']) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, { value, path, attributes });
    }
  }

  async request(url, { method = 'GET', form } = {}) {
    const headers = { accept: 'text/html' };
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    this.store(url, res);
    return res;
  }
}

const decodeEntities = (s) =>
  s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The first POST form of a page: its action, hidden inputs and submit buttons. */
function parseForm(html, pageUrl) {
  const m = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  assert.ok(m, `no <form> on the page:\n${html}`);
  const attr = (tag, name) => {
    const a = new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag);
    return a ? decodeEntities(a[1]) : undefined;
  };
  assert.equal((attr(m[1], 'method') ?? 'get').toLowerCase(), 'post');
  const action = new URL(attr(m[1], 'action') ?? pageUrl, pageUrl).href;
  const hidden = {};
  const fields = [];
  for (const [tag] of m[2].matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(tag, 'name');
    if (!name) continue;
    fields.push(name);
    if (attr(tag, 'type') === 'hidden') hidden[name] = attr(tag, 'value') ?? '';
  }
  const buttons = [...m[2].matchAll(/<button\b[^>]*>/gi)].map(([tag]) => ({
    name: attr(tag, 'name'),
    value: attr(tag, 'value'),
  }));
  return { action, hidden, fields, buttons };
}

/**
 * Play the user in a browser, from the authorization URL to the redirect back
 * to the client: sign in on the login page, accept the consent page if one is
 * shown. Returns the callback URL (not fetched) and what was seen on the way.
 */
async function signInWithBrowser(authorizationUrl, { user, redirectUri, browser = new Browser() }) {
  const seen = { loginPages: 0, consentPages: 0, consentScopes: undefined, hops: [] };
  let res = await browser.request(authorizationUrl);
  let url = authorizationUrl.href ?? String(authorizationUrl);
  for (let hop = 0; hop < 10; hop++) {
    seen.hops.push(`${res.status} ${url}`);
    if (res.status === 303 || res.status === 302) {
      const location = res.headers.get('location');
      assert.ok(location, `${res.status} from ${url} without a Location`);
      const next = new URL(location, url).href;
      if (next.startsWith(`${redirectUri}?`)) return { callbackUrl: next, browser, seen };
      url = next;
      res = await browser.request(url);
      continue;
    }
    const html = await res.text();
    assert.equal(res.status, 200, `unexpected ${res.status} from ${url}:\n${html}`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const form = parseForm(html, url);
    if (form.fields.includes('password')) {
      seen.loginPages++;
      assert.ok(form.hidden.interaction, 'login form without a hidden interaction');
      assert.ok(form.hidden.csrf, 'login form without a hidden csrf');
      res = await browser.request(form.action, {
        method: 'POST',
        form: { ...form.hidden, username: user.upn, password: user.password },
      });
    } else if (form.buttons.some((b) => b.name === 'consent' && b.value === 'accept')) {
      seen.consentPages++;
      seen.consentScopes = [...html.matchAll(/<li><code>([^<]*)<\/code><\/li>/g)].map((x) => decodeEntities(x[1]));
      res = await browser.request(form.action, { method: 'POST', form: { ...form.hidden, consent: 'accept' } });
    } else {
      assert.fail(`neither a login nor a consent form at ${url}:\n${html}`);
    }
    url = form.action;
  }
  assert.fail(`no redirect to ${redirectUri} after ${seen.hops.join(' -> ')}`);
}

/** base64url(left half of the hash of the access token), OIDC Core §3.1.3.6. */
function atHash(alg, accessToken) {
  // Ed25519 uses SHA-512 (as in the OpenID Connect errata for EdDSA).
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256').update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** Record what openid-client sends. */
function recordRequests(config) {
  const requests = [];
  config[client.customFetch] = async (url, options) => {
    requests.push({
      url: String(url),
      method: options.method,
      headers: new Headers(options.headers),
      body: options.body === undefined ? undefined : new URLSearchParams(String(options.body)),
    });
    return fetch(url, options);
  };
  return requests;
}

async function expectOAuthError(promise, error, what) {
  const err = await promise.then(
    () => assert.fail(`${what} succeeded`),
    (e) => e,
  );
  assert.ok(err instanceof client.ResponseBodyError, `${what}: unexpected error: ${err?.stack ?? err}`);
  assert.equal(err.error, error, `${what}: ${JSON.stringify(err.cause)}`);
  return err;
}

const binaryProblem = findBinaryProblem();
if (binaryProblem) {
  test('PORTVAKT_BIN points at a built portvakt binary', () => {
    throw binaryProblem;
  });
}

describe('User sign-in with openid-client v6', { timeout: 180_000 }, () => {
  let server;
  let startProblem;
  const issuerOf = (tenant) => `${server.base}/${tenant}`;
  const jwksCache = new Map();
  const jwksFor = (jwksUri) => {
    if (!jwksCache.has(jwksUri)) jwksCache.set(jwksUri, jose.createRemoteJWKSet(new URL(jwksUri)));
    return jwksCache.get(jwksUri);
  };

  before(async () => {
    if (binaryProblem) return;
    try {
      server = await startPortvakt(importDocument());
    } catch (err) {
      startProblem = err;
    }
  });

  beforeEach(() => {
    if (binaryProblem) throw binaryProblem;
    if (startProblem) throw startProblem;
  });

  after(async () => {
    await stopPortvakt(server);
  });

  const insecure = { execute: [client.allowInsecureRequests] };

  /** The public client, as a newcomer would configure it: no secret, openid-client's defaults. */
  const discoverSpa = (tenant = 'contoso') => client.discovery(new URL(issuerOf(tenant)), SPA.clientId, undefined, undefined, insecure);
  /** The confidential web app with client_secret_basic. */
  const discoverWeb = (tenant = 'contoso') =>
    client.discovery(new URL(issuerOf(tenant)), WEB.clientId, undefined, client.ClientSecretBasic(WEB.secret), insecure);
  /** The API's client, for introspection; openid-client's default auth for a secret (client_secret_post). */
  const discoverApi = (tenant = 'contoso') => client.discovery(new URL(issuerOf(tenant)), API.clientId, API.secret, undefined, insecure);

  /**
   * The authorization code flow with PKCE, state and nonce, the way
   * openid-client's README does it. Returns the tokens and what happened.
   */
  async function codeFlow(config, { user, redirectUri, pkce = true, browser }) {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const parameters = { redirect_uri: redirectUri, scope: SCOPE, state, nonce };
    if (pkce) {
      parameters.code_challenge = await client.calculatePKCECodeChallenge(codeVerifier);
      parameters.code_challenge_method = 'S256';
    }
    const authorizationUrl = client.buildAuthorizationUrl(config, parameters);
    const { callbackUrl, seen } = await signInWithBrowser(authorizationUrl, { user, redirectUri, browser });
    const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
      ...(pkce ? { pkceCodeVerifier: codeVerifier } : {}),
      expectedState: state,
      expectedNonce: nonce,
    });
    return { tokens, callbackUrl, seen, nonce, state, codeVerifier, authorizationUrl };
  }

  /** Check the ID token (already validated by openid-client) and the access token. */
  async function checkTokens(config, tokens, { clientId, user, nonce, alg }) {
    const md = config.serverMetadata();
    const claims = tokens.claims();
    assert.ok(claims, 'the token response has no ID token');
    assert.equal(claims.iss, md.issuer);
    assert.equal(claims.aud, clientId);
    assert.equal(claims.nonce, nonce);
    assert.equal(typeof claims.sub, 'string');
    assert.ok(claims.sub.length > 0);
    assert.equal(typeof claims.sid, 'string');
    assert.equal(typeof claims.auth_time, 'number');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(claims.auth_time - now) < 120, `auth_time ${claims.auth_time} is far from now ${now}`);
    assert.ok(Array.isArray(claims.amr) && claims.amr.includes('pwd'), `amr is ${JSON.stringify(claims.amr)}`);
    // ID tokens are RS256 whatever the tenant's algorithm (OIDC Core §15.1; it is the
    // default of id_token_signed_response_alg), and discovery lists exactly that.
    const idAlg = 'RS256';
    assert.equal(claims.at_hash, atHash(idAlg, tokens.access_token));
    const idHeader = jose.decodeProtectedHeader(tokens.id_token);
    assert.equal(idHeader.alg, idAlg);
    assert.ok(md.id_token_signing_alg_values_supported.includes(idAlg));
    await jose.jwtVerify(tokens.id_token, jwksFor(md.jwks_uri), { issuer: md.issuer, audience: clientId, algorithms: [idAlg] });

    // The access token is for the API, on behalf of the user.
    const { payload } = await jose.jwtVerify(tokens.access_token, jwksFor(md.jwks_uri), {
      issuer: md.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
      algorithms: [alg],
    });
    assert.equal(payload.sub, claims.sub);
    assert.equal(payload.client_id, clientId);
    assert.ok(payload.scope.split(' ').includes('Reports.Read'), `access token scope: ${payload.scope}`);
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.expires_in > 0);
    assert.equal(typeof tokens.refresh_token, 'string', 'offline_access was granted but no refresh token came');
    assert.ok(tokens.scope.split(' ').includes('offline_access'), `token response scope: ${tokens.scope}`);

    // UserInfo with the access token; openid-client checks sub.
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.sub, claims.sub);
    assert.equal(info.name, user.displayName);
    assert.equal(info.preferred_username, user.upn);
    assert.equal(info.email, user.upn);
    return { claims, payload };
  }

  test('discovery lists the user sign-in endpoints and capabilities', async () => {
    const config = await discoverSpa();
    const md = config.serverMetadata();
    const issuer = issuerOf('contoso');
    assert.equal(md.issuer, issuer);
    assert.equal(md.authorization_endpoint, `${issuer}/oauth2/authorize`);
    assert.equal(md.userinfo_endpoint, `${issuer}/oauth2/userinfo`);
    assert.equal(md.introspection_endpoint, `${issuer}/oauth2/introspect`);
    assert.equal(md.revocation_endpoint, `${issuer}/oauth2/revoke`);
    assert.equal(md.end_session_endpoint, `${issuer}/oauth2/logout`);
    assert.ok(md.response_types_supported.includes('code'));
    assert.ok(md.code_challenge_methods_supported.includes('S256'));
    assert.ok(!md.code_challenge_methods_supported.includes('plain'));
    assert.equal(md.authorization_response_iss_parameter_supported, true);
    assert.ok(md.grant_types_supported.includes('authorization_code'));
    assert.ok(md.grant_types_supported.includes('refresh_token'));
    assert.ok(md.id_token_signing_alg_values_supported.includes('RS256'), 'OIDC Discovery §3: RS256 MUST be included');
    assert.ok(md.access_token_signing_alg_values_supported.includes('ES256'));
    for (const s of ['openid', 'profile', 'email', 'offline_access']) assert.ok(md.scopes_supported.includes(s), s);
    // openid-client decides PKCE support from discovery.
    assert.equal(config.serverMetadata().supportsPKCE(), true);
  });

  test('public client: authorization code + PKCE S256, login, consent, ID token, userinfo', async () => {
    const config = await discoverSpa();
    const requests = recordRequests(config);
    const browser = new Browser();
    const flow = await codeFlow(config, { user: USERS.ada, redirectUri: SPA.redirectUri, browser });

    // The browser part went as documented.
    assert.equal(flow.seen.loginPages, 1);
    assert.equal(flow.seen.consentPages, 1, 'a public client without admin consent must ask the user');
    assert.ok(flow.seen.consentScopes.length > 0, 'the consent page lists nothing');
    const interaction = browser.setCookies.find((c) => c.startsWith('pv_interaction='));
    assert.ok(interaction, `no pv_interaction cookie among ${browser.setCookies}`);
    assert.match(interaction, /;\s*Path=\/contoso(;|$)/);
    assert.match(interaction, /;\s*HttpOnly(;|$)/i);
    assert.match(interaction, /;\s*SameSite=Lax(;|$)/i);
    assert.ok(browser.cookies.has('pv_session'), 'signing in set no pv_session cookie');

    // RFC 9207 and the state come back on the redirect.
    const cb = new URL(flow.callbackUrl);
    assert.equal(cb.searchParams.get('iss'), issuerOf('contoso'));
    assert.equal(cb.searchParams.get('state'), flow.state);
    assert.ok(cb.searchParams.get('code'));

    // A public client sends its client_id and the verifier, no secret.
    const tokenReq = requests.find((r) => r.url.endsWith('/oauth2/token'));
    assert.equal(tokenReq.headers.get('authorization'), null);
    assert.equal(tokenReq.body.get('client_id'), SPA.clientId);
    assert.equal(tokenReq.body.get('code_verifier'), flow.codeVerifier);
    assert.equal(tokenReq.body.get('grant_type'), 'authorization_code');

    await checkTokens(config, flow.tokens, { clientId: SPA.clientId, user: USERS.ada, nonce: flow.nonce, alg: 'ES256' });
  });

  test('the authorization code works once', async () => {
    const config = await discoverSpa();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: SPA.redirectUri,
      scope: SCOPE,
      state,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    const { callbackUrl } = await signInWithBrowser(authorizationUrl, { user: USERS.ada, redirectUri: SPA.redirectUri });
    const checks = { pkceCodeVerifier: codeVerifier, expectedState: state };
    const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), checks);
    assert.ok(tokens.access_token);
    await expectOAuthError(
      client.authorizationCodeGrant(config, new URL(callbackUrl), checks),
      'invalid_grant',
      'redeeming the code a second time',
    );
  });

  test('a wrong PKCE code_verifier is refused with invalid_grant', async () => {
    const config = await discoverSpa();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: SPA.redirectUri,
      scope: SCOPE,
      state,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    const { callbackUrl } = await signInWithBrowser(authorizationUrl, { user: USERS.ada, redirectUri: SPA.redirectUri });
    await expectOAuthError(
      client.authorizationCodeGrant(config, new URL(callbackUrl), {
        pkceCodeVerifier: client.randomPKCECodeVerifier(),
        expectedState: state,
      }),
      'invalid_grant',
      'the token request with another code_verifier',
    );
  });

  test('refresh token grant rotates the refresh token; the old one is then invalid_grant', async () => {
    const config = await discoverSpa();
    const { tokens } = await codeFlow(config, { user: USERS.grace, redirectUri: SPA.redirectUri });
    const first = tokens.refresh_token;
    const sub = tokens.claims().sub;

    const refreshed = await client.refreshTokenGrant(config, first);
    assert.equal(typeof refreshed.access_token, 'string');
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.equal(typeof refreshed.refresh_token, 'string', 'the refresh response has no new refresh token');
    assert.notEqual(refreshed.refresh_token, first, 'the refresh token was not rotated');
    if (refreshed.id_token) {
      // OIDC Core §12.2: same iss, sub, aud; auth_time of the original sign-in.
      const c = refreshed.claims();
      assert.equal(c.sub, sub);
      assert.equal(c.aud, SPA.clientId);
      assert.equal(c.auth_time, tokens.claims().auth_time);
    }
    const md = config.serverMetadata();
    const { payload } = await jose.jwtVerify(refreshed.access_token, jwksFor(md.jwks_uri), {
      issuer: md.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, sub);
    const info = await client.fetchUserInfo(config, refreshed.access_token, sub);
    assert.equal(info.sub, sub);

    // Once its successor is used, the rotated-out token is a replay: invalid_grant,
    // and the family is revoked (docs/refresh-tokens.md: within 10 s and before the
    // successor is used, a client that lost the response may retry).
    const next = await client.refreshTokenGrant(config, refreshed.refresh_token);
    assert.notEqual(next.refresh_token, refreshed.refresh_token);
    await expectOAuthError(client.refreshTokenGrant(config, first), 'invalid_grant', 'reusing the rotated refresh token');
    await expectOAuthError(client.refreshTokenGrant(config, next.refresh_token), 'invalid_grant', 'the family is revoked after a replay');
  });

  test('introspection (confidential client) of access and refresh tokens', async () => {
    const spa = await discoverSpa();
    const { tokens } = await codeFlow(spa, { user: USERS.ada, redirectUri: SPA.redirectUri });
    const sub = tokens.claims().sub;
    const api = await discoverApi();

    const at = await client.tokenIntrospection(api, tokens.access_token);
    assert.equal(at.active, true, JSON.stringify(at));
    assert.equal(at.client_id, SPA.clientId);
    assert.equal(at.sub, sub);
    assert.equal(at.iss, issuerOf('contoso'));
    assert.equal(at.username, USERS.ada.upn);
    assert.ok(at.scope.split(' ').includes('Reports.Read'), at.scope);
    assert.ok(at.exp > Math.floor(Date.now() / 1000));

    // A refresh token is for its own client alone (RFC 7662 §4): the API learns nothing.
    const rt = await client.tokenIntrospection(api, tokens.refresh_token, { token_type_hint: 'refresh_token' });
    assert.deepEqual(rt, { active: false });

    const junk = await client.tokenIntrospection(api, 'not-a-token');
    assert.equal(junk.active, false);
  });

  test('revocation (RFC 7009) by the public client; introspection then says active: false', async () => {
    const spa = await discoverSpa();
    const { tokens } = await codeFlow(spa, { user: USERS.grace, redirectUri: SPA.redirectUri });
    const api = await discoverApi();

    await client.tokenRevocation(spa, tokens.access_token, { token_type_hint: 'access_token' });
    assert.deepEqual(await client.tokenIntrospection(api, tokens.access_token), { active: false });
    const err = await client.fetchUserInfo(spa, tokens.access_token, tokens.claims().sub).then(
      () => assert.fail('userinfo accepted a revoked access token'),
      (e) => e,
    );
    assert.ok(err instanceof client.WWWAuthenticateChallengeError, `unexpected error: ${err?.stack ?? err}`);
    assert.equal(err.status, 401);

    await client.tokenRevocation(spa, tokens.refresh_token);
    await expectOAuthError(client.refreshTokenGrant(spa, tokens.refresh_token), 'invalid_grant', 'refreshing with a revoked refresh token');

    // RFC 7009 §2.2: an unknown token is not an error.
    await client.tokenRevocation(spa, 'no-such-token');
  });

  test('confidential admin-consented client: client_secret_basic, no consent page', async () => {
    const config = await discoverWeb();
    const requests = recordRequests(config);
    const flow = await codeFlow(config, { user: USERS.grace, redirectUri: WEB.redirectUri });
    assert.equal(flow.seen.loginPages, 1);
    assert.equal(flow.seen.consentPages, 0, 'an admin-consented app must not show a consent page');

    const tokenReq = requests.find((r) => r.url.endsWith('/oauth2/token'));
    const basic = /^Basic (.+)$/.exec(tokenReq.headers.get('authorization') ?? '');
    assert.ok(basic, 'the token request did not use client_secret_basic');
    assert.equal(tokenReq.body.get('client_secret'), null);

    await checkTokens(config, flow.tokens, { clientId: WEB.clientId, user: USERS.grace, nonce: flow.nonce, alg: 'ES256' });

    const refreshed = await client.refreshTokenGrant(config, flow.tokens.refresh_token);
    assert.notEqual(refreshed.refresh_token, flow.tokens.refresh_token);

    // The web app can introspect and revoke with its own credentials.
    const rt = await client.tokenIntrospection(config, refreshed.refresh_token);
    assert.equal(rt.active, true);
    assert.equal(rt.client_id, WEB.clientId);
    await client.tokenRevocation(config, refreshed.refresh_token);
    assert.equal((await client.tokenIntrospection(config, refreshed.refresh_token)).active, false);
  });

  test('confidential client without PKCE (optional for confidential clients)', async () => {
    const config = await discoverWeb();
    const flow = await codeFlow(config, { user: USERS.ada, redirectUri: WEB.redirectUri, pkce: false });
    assert.equal(flow.seen.consentPages, 0);
    await checkTokens(config, flow.tokens, { clientId: WEB.clientId, user: USERS.ada, nonce: flow.nonce, alg: 'ES256' });
  });

  test('an existing browser session signs in again without the login page', async () => {
    const config = await discoverWeb();
    const browser = new Browser();
    const first = await codeFlow(config, { user: USERS.ada, redirectUri: WEB.redirectUri, browser });
    assert.equal(first.seen.loginPages, 1);
    const second = await codeFlow(config, { user: USERS.ada, redirectUri: WEB.redirectUri, browser });
    assert.equal(second.seen.loginPages, 0, 'the pv_session cookie did not carry the sign-in');
    assert.equal(second.tokens.claims().sid, first.tokens.claims().sid);
    assert.equal(second.tokens.claims().auth_time, first.tokens.claims().auth_time);
  });

  test('RP-initiated logout with buildEndSessionUrl ends the browser session', async () => {
    const config = await discoverWeb();
    const browser = new Browser();
    const first = await codeFlow(config, { user: USERS.grace, redirectUri: WEB.redirectUri, browser });
    assert.ok(browser.cookies.has('pv_session'));

    const state = client.randomState();
    const logoutUrl = client.buildEndSessionUrl(config, {
      id_token_hint: first.tokens.id_token,
      post_logout_redirect_uri: WEB.redirectUri,
      state,
    });
    assert.equal(logoutUrl.origin + logoutUrl.pathname, `${issuerOf('contoso')}/oauth2/logout`);
    const res = await browser.request(logoutUrl);
    assert.equal(res.status, 303, `logout answered ${res.status}: ${await res.text()}`);
    const back = new URL(res.headers.get('location'));
    assert.equal(back.origin + back.pathname, WEB.redirectUri);
    assert.equal(back.searchParams.get('state'), state);
    assert.ok(!browser.cookies.has('pv_session'), 'the pv_session cookie was not cleared');

    // The next sign-in asks for the password again.
    const second = await codeFlow(config, { user: USERS.grace, redirectUri: WEB.redirectUri, browser });
    assert.equal(second.seen.loginPages, 1);
    assert.notEqual(second.tokens.claims().sid, first.tokens.claims().sid);
  });

  for (const tenant of ['fabrikam', 'northwind']) {
    const alg = TENANTS[tenant];
    test(`${alg} tenant (${tenant}): access tokens are ${alg}, ID tokens RS256, and openid-client accepts both`, async () => {
      const config = await discoverSpa(tenant);
      assert.ok(config.serverMetadata().access_token_signing_alg_values_supported.includes(alg));
      assert.ok(config.serverMetadata().id_token_signing_alg_values_supported.includes('RS256'));
      const flow = await codeFlow(config, { user: USERS.ada, redirectUri: SPA.redirectUri });
      await checkTokens(config, flow.tokens, { clientId: SPA.clientId, user: USERS.ada, nonce: flow.nonce, alg });
      const refreshed = await client.refreshTokenGrant(config, flow.tokens.refresh_token);
      assert.ok(refreshed.access_token);
    });
  }
  test('device authorization grant (RFC 8628): initiate, the user confirms in a browser, the device polls', async () => {
    const config = await client.discovery(new URL(issuerOf('contoso')), TV.clientId, undefined, undefined, insecure);
    assert.equal(config.serverMetadata().device_authorization_endpoint, `${issuerOf('contoso')}/oauth2/devicecode`);
    const response = await client.initiateDeviceAuthorization(config, { scope: SCOPE });
    assert.match(response.user_code, /^[B-Z]{4}-[B-Z]{4}$/);
    assert.ok(response.verification_uri_complete.startsWith(response.verification_uri));

    // The user, on another device: open the link, submit the code, sign in, confirm.
    const browser = new Browser();
    let url = response.verification_uri_complete;
    let res = await browser.request(url);
    let confirmed = false;
    for (let hop = 0; hop < 10 && !confirmed; hop++) {
      if (res.status === 303 || res.status === 302) {
        url = new URL(res.headers.get('location'), url).href;
        res = await browser.request(url);
        continue;
      }
      const html = await res.text();
      assert.equal(res.status, 200, `unexpected ${res.status} from ${url}:\n${html}`);
      if (!/<form\b/i.test(html)) {
        assert.match(html, /device is signed in/);
        confirmed = true;
        break;
      }
      const form = parseForm(html, url);
      if (form.fields.includes('user_code')) {
        res = await browser.request(form.action, { method: 'POST', form: { ...form.hidden, user_code: response.user_code } });
      } else if (form.fields.includes('password')) {
        res = await browser.request(form.action, { method: 'POST', form: { ...form.hidden, username: USERS.ada.upn, password: USERS.ada.password } });
      } else {
        assert.ok(html.includes(API_SCOPE), 'the confirmation names what the device gets');
        res = await browser.request(form.action, { method: 'POST', form: { ...form.hidden, consent: 'accept' } });
      }
      url = form.action;
    }
    assert.ok(confirmed, 'the browser part did not finish');

    const tokens = await client.pollDeviceAuthorizationGrant(config, response);
    assert.ok(tokens.refresh_token, 'offline_access gives the device a refresh token');
    const claims = tokens.claims();
    assert.equal(claims.aud, TV.clientId);
    const md = config.serverMetadata();
    const { payload } = await jose.jwtVerify(tokens.access_token, jwksFor(md.jwks_uri), { issuer: md.issuer, audience: RESOURCE, typ: 'at+jwt' });
    assert.equal(payload.client_id, TV.clientId);
    assert.equal(payload.sub, claims.sub);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.access_token);
  });
});
