// Interop test: drive a real Portvakt binary with a third-party client,
// panva's `openid-client` v6 (on top of `oauth4webapi`), and verify the
// access tokens it hands out with `jose`.
//
// Run through ./run.sh, which needs PORTVAKT_BIN to point at a built
// `portvakt` binary. The test never skips: without a usable binary it fails.

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import * as client from 'openid-client';
import * as jose from 'jose';

import { binaryProblem as findBinaryProblem, startPortvakt, stopPortvakt } from './portvakt-server.mjs';

const RESOURCE = 'api://analytics';
const ALL_SCOPES = ['Onboarding.ReadWrite', 'Reports.Read'];

// A client id with characters that openid-client percent-encodes in the
// Basic header (it encodes '-', '.', '_', '~' too), so the server has to
// form-urldecode both halves as RFC 6749 §2.3.1 asks.
const CLIENT_ID = 'bench-app.v1';

const secret = () => randomBytes(24).toString('base64url'); // 32 chars

// One tenant per signing algorithm; every tenant gets the same resource and
// an application with its own secret.
const TENANTS = {
  contoso: { alg: 'ES256', secret: secret() },
  fabrikam: { alg: 'EdDSA', secret: secret() },
  // A secret with characters that must survive form-urlencoding in the Basic
  // header (RFC 6749 §2.3.1) and in the body (client_secret_post).
  northwind: { alg: 'RS256', secret: `${secret()}+/=:%&~ é` },
};
// In contoso: an application allowed only Reports.Read, for invalid_scope.
const LIMITED = { clientId: 'reports-only', secret: secret() };

function importDocument() {
  return {
    tenants: Object.entries(TENANTS).map(([name, t]) => ({
      name,
      displayName: `${name[0].toUpperCase()}${name.slice(1)} (interop)`,
      signingAlgorithm: t.alg,
      resources: [
        { identifier: RESOURCE, displayName: 'Analytics API', scopes: ALL_SCOPES },
      ],
      applications: [
        {
          clientId: CLIENT_ID,
          displayName: 'openid-client interop',
          clientSecret: t.secret,
          grantTypes: ['client_credentials'],
          allowedScopes: [`${RESOURCE}/.default`],
        },
        ...(name === 'contoso'
          ? [
              {
                clientId: LIMITED.clientId,
                displayName: 'Reports only',
                clientSecret: LIMITED.secret,
                grantTypes: ['client_credentials'],
                allowedScopes: [`${RESOURCE}/Reports.Read`],
              },
            ]
          : []),
      ],
    })),
  };
}

/**
 * Record what openid-client actually sends, so the tests can check that the
 * client authentication method they asked for is the one on the wire.
 */
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

function basicCredentials(headers) {
  const value = headers.get('authorization');
  assert.ok(value, 'expected an Authorization header');
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(value);
  assert.ok(m, `expected a Basic Authorization header, got ${value}`);
  const decoded = Buffer.from(m[1], 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  // RFC 6749 §2.3.1: both halves are application/x-www-form-urlencoded.
  const unform = (s) => decodeURIComponent(s.replace(/\+/g, ' '));
  return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
}

// Fail loudly, as a counted test failure, when there is no binary to test.
const binaryProblem = findBinaryProblem();
if (binaryProblem) {
  test('PORTVAKT_BIN points at a built portvakt binary', () => {
    throw binaryProblem;
  });
}

describe('Portvakt with openid-client v6', { timeout: 120_000 }, () => {
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

  // A server that did not start fails every test with the reason (a failing
  // `before` alone would only cancel them).
  beforeEach(() => {
    if (binaryProblem) throw binaryProblem;
    if (startProblem) throw startProblem;
  });

  after(async () => {
    await stopPortvakt(server);
  });

  /**
   * openid-client discovery. Note openid-client v6 defaults to
   * client_secret_post when given a secret string, so client_secret_basic is
   * asked for explicitly here; `auth: 'post'` picks ClientSecretPost and
   * `auth: 'default'` leaves the choice to openid-client.
   */
  function discover(tenant, options = {}) {
    const secret = options.secret ?? TENANTS[tenant].secret;
    const auth = options.auth ?? 'basic';
    const clientAuth =
      auth === 'basic'
        ? client.ClientSecretBasic(secret)
        : auth === 'post'
          ? client.ClientSecretPost(secret)
          : undefined;
    return client.discovery(new URL(issuerOf(tenant)), options.clientId ?? CLIENT_ID, secret, clientAuth, {
      // Portvakt runs on plain http here; openid-client v6 wants https otherwise.
      execute: [client.allowInsecureRequests],
      ...(options.algorithm ? { algorithm: options.algorithm } : {}),
    });
  }

  /** Verify an access token the way a resource server would, and check its claims. */
  /** `asked`: the request's scope; the response's `scope` is in its words (RFC 6749 §5.1). */
  async function verifyAccessToken(config, tokens, { alg, scopes, asked }) {
    const md = config.serverMetadata();
    const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwksFor(md.jwks_uri), {
      issuer: md.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
      algorithms: [alg],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'tid'],
    });

    assert.equal(protectedHeader.alg, alg);
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(typeof protectedHeader.kid, 'string');

    assert.equal(payload.iss, md.issuer);
    assert.equal(payload.aud, RESOURCE);
    assert.equal(payload.client_id, CLIENT_ID);
    // RFC 9068 §2.2: for a client credentials token, sub is the client.
    assert.equal(payload.sub, CLIENT_ID);
    assert.equal(typeof payload.tid, 'string');
    assert.ok(payload.tid.length > 0, 'tid is empty');
    assert.equal(typeof payload.jti, 'string');
    assert.ok(payload.jti.length > 0, 'jti is empty');
    assert.deepEqual(payload.scope.split(' ').sort(), [...scopes].sort());

    // The token response agrees with the token.
    assert.equal(tokens.token_type, 'bearer'); // oauth4webapi lower-cases it
    assert.equal(typeof tokens.expires_in, 'number');
    assert.ok(tokens.expires_in > 0);
    assert.equal(payload.exp - payload.iat, tokens.expires_in);
    assert.equal(tokens.expiresIn() <= tokens.expires_in, true);
    if (payload.nbf !== undefined) assert.ok(payload.nbf <= payload.iat + 1, 'nbf is after iat');
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(payload.iat - now) < 120, `iat ${payload.iat} is far from now ${now}`);
    if (asked) assert.equal(tokens.scope, asked, 'the response scope is the request\'s, all of it granted');
    else assert.deepEqual(tokens.scope.split(' ').sort(), [...scopes].sort());
    assert.equal(tokens.refresh_token, undefined, 'client credentials must not return a refresh token');
    assert.equal(tokens.id_token, undefined, 'client credentials must not return an ID token');
    return { payload, protectedHeader };
  }

  test('discovery (OpenID Connect) finds the issuer and its endpoints', async () => {
    const config = await discover('contoso');
    const md = config.serverMetadata();
    const issuer = issuerOf('contoso');
    assert.equal(md.issuer, issuer);
    assert.equal(md.token_endpoint, `${issuer}/oauth2/token`);
    assert.equal(md.jwks_uri, `${issuer}/oauth2/keys`);
    assert.ok(md.grant_types_supported.includes('client_credentials'));
    assert.ok(md.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
    assert.ok(md.token_endpoint_auth_methods_supported.includes('client_secret_post'));
    assert.equal(config.clientMetadata().client_id, CLIENT_ID);
  });

  test('discovery (RFC 8414 oauth-authorization-server) finds the same issuer', async () => {
    const config = await discover('contoso', { algorithm: 'oauth2' });
    const md = config.serverMetadata();
    assert.equal(md.issuer, issuerOf('contoso'));
    assert.equal(md.token_endpoint, `${issuerOf('contoso')}/oauth2/token`);
    assert.equal(md.jwks_uri, `${issuerOf('contoso')}/oauth2/keys`);
  });

  test('client credentials, client_secret_basic, scope={resource}/.default', async () => {
    const config = await discover('contoso');
    const requests = recordRequests(config);
    const tokens = await client.clientCredentialsGrant(config, { scope: `${RESOURCE}/.default` });

    assert.equal(requests.length, 1);
    const [req] = requests;
    assert.equal(req.url, `${issuerOf('contoso')}/oauth2/token`);
    assert.deepEqual(basicCredentials(req.headers), { id: CLIENT_ID, secret: TENANTS.contoso.secret });
    assert.equal(req.body.get('client_secret'), null, 'secret must not also be in the body');
    assert.equal(req.body.get('grant_type'), 'client_credentials');

    await verifyAccessToken(config, tokens, { alg: 'ES256', scopes: ALL_SCOPES, asked: `${RESOURCE}/.default` });
  });

  test('client credentials, client_secret_post, scope={resource}/.default', async () => {
    const { secret } = TENANTS.contoso;
    const config = await discover('contoso', { auth: 'post' });
    const requests = recordRequests(config);
    const tokens = await client.clientCredentialsGrant(config, { scope: `${RESOURCE}/.default` });

    assert.equal(requests.length, 1);
    const [req] = requests;
    assert.equal(req.headers.get('authorization'), null, 'client_secret_post must not send Authorization');
    assert.equal(req.body.get('client_id'), CLIENT_ID);
    assert.equal(req.body.get('client_secret'), secret);

    await verifyAccessToken(config, tokens, { alg: 'ES256', scopes: ALL_SCOPES, asked: `${RESOURCE}/.default` });
  });

  test("client credentials with openid-client's default client auth (client_secret_post)", async () => {
    const config = await discover('contoso', { auth: 'default' });
    const requests = recordRequests(config);
    const tokens = await client.clientCredentialsGrant(config, { scope: `${RESOURCE}/.default` });
    // openid-client v6 documents ClientSecretPost as its default.
    assert.equal(requests[0].headers.get('authorization'), null);
    assert.equal(requests[0].body.get('client_secret'), TENANTS.contoso.secret);
    await verifyAccessToken(config, tokens, { alg: 'ES256', scopes: ALL_SCOPES, asked: `${RESOURCE}/.default` });
  });

  test('client credentials, scope={resource}/{scope}', async () => {
    const config = await discover('contoso');
    const tokens = await client.clientCredentialsGrant(config, { scope: `${RESOURCE}/Onboarding.ReadWrite` });
    await verifyAccessToken(config, tokens, { alg: 'ES256', scopes: ['Onboarding.ReadWrite'], asked: `${RESOURCE}/Onboarding.ReadWrite` });
  });

  test('client credentials, RFC 8707 resource with a plain scope', async () => {
    const config = await discover('contoso');
    const requests = recordRequests(config);
    const tokens = await client.clientCredentialsGrant(config, {
      resource: RESOURCE,
      scope: 'Onboarding.ReadWrite',
    });
    assert.equal(requests[0].body.get('resource'), RESOURCE);
    await verifyAccessToken(config, tokens, { alg: 'ES256', scopes: ['Onboarding.ReadWrite'] });
  });

  test('wrong secret with client_secret_basic: 401 invalid_client PV1103 with a Basic challenge', async () => {
    const config = await discover('contoso', { secret: `${TENANTS.contoso.secret}-wrong` });
    const err = await client
      .clientCredentialsGrant(config, { scope: `${RESOURCE}/.default` })
      .then(() => assert.fail('the grant succeeded with a wrong secret'), (e) => e);

    // RFC 6749 §5.2: a client that authenticated with the Authorization header
    // gets 401 and a WWW-Authenticate challenge for that scheme. oauth4webapi
    // checks for challenges before it reads the body, so this surfaces as a
    // WWWAuthenticateChallengeError (not ResponseBodyError); the JSON error
    // body is still on err.response.
    assert.ok(err instanceof client.WWWAuthenticateChallengeError, `unexpected error: ${err?.stack ?? err}`);
    assert.equal(err.status, 401);
    assert.equal(err.cause[0].scheme, 'basic');
    assert.equal(err.cause[0].parameters.realm, 'portvakt');

    const body = await err.response.json();
    assert.equal(body.error, 'invalid_client');
    assert.equal(body.error_code, 'PV1103');
    assert.equal(typeof body.error_description, 'string');
    assert.equal(body.error_uri, `${server.base}/errors/PV1103`);
    assert.equal(body.correlation_id, err.response.headers.get('x-correlation-id'));
    assert.equal(err.response.headers.get('cache-control'), 'no-store');
  });

  test('wrong secret with client_secret_post: ResponseBodyError invalid_client PV1103', async () => {
    const wrong = `${TENANTS.contoso.secret}-wrong`;
    const config = await discover('contoso', { secret: wrong, auth: 'post' });
    const err = await client
      .clientCredentialsGrant(config, { scope: `${RESOURCE}/.default` })
      .then(() => assert.fail('the grant succeeded with a wrong secret'), (e) => e);

    assert.ok(err instanceof client.ResponseBodyError, `unexpected error: ${err?.stack ?? err}`);
    assert.equal(err.status, 401);
    assert.equal(err.error, 'invalid_client');
    assert.equal(typeof err.error_description, 'string');
    assert.equal(err.cause.error, 'invalid_client');
    assert.equal(err.cause.error_code, 'PV1103');
    assert.equal(err.cause.error_uri, `${server.base}/errors/PV1103`);
    assert.equal(err.cause.correlation_id, err.response.headers.get('x-correlation-id'));
  });

  test('unknown client: invalid_client PV1102', async () => {
    const config = await discover('contoso', {
      clientId: 'no-such-client',
      auth: 'post',
    });
    const err = await client
      .clientCredentialsGrant(config, { scope: `${RESOURCE}/.default` })
      .then(() => assert.fail('the grant succeeded for an unknown client'), (e) => e);
    assert.ok(err instanceof client.ResponseBodyError, `unexpected error: ${err?.stack ?? err}`);
    assert.equal(err.error, 'invalid_client');
    assert.equal(err.cause.error_code, 'PV1102');
  });

  test('scope the application is not allowed: invalid_scope PV1204', async () => {
    const config = await discover('contoso', { clientId: LIMITED.clientId, secret: LIMITED.secret });
    const err = await client
      .clientCredentialsGrant(config, { scope: `${RESOURCE}/Onboarding.ReadWrite` })
      .then(() => assert.fail('the grant succeeded for a scope the application is not allowed'), (e) => e);
    assert.ok(err instanceof client.ResponseBodyError, `unexpected error: ${err?.stack ?? err}`);
    assert.equal(err.status, 400);
    assert.equal(err.error, 'invalid_scope');
    assert.equal(err.cause.error_code, 'PV1204');

    // ... while the scope it is allowed works.
    const tokens = await client.clientCredentialsGrant(config, { scope: `${RESOURCE}/.default` });
    const { payload } = await jose.jwtVerify(tokens.access_token, jwksFor(config.serverMetadata().jwks_uri), {
      issuer: issuerOf('contoso'),
      audience: RESOURCE,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    assert.equal(payload.client_id, LIMITED.clientId);
    assert.equal(payload.scope, 'Reports.Read');
  });

  for (const tenant of ['fabrikam', 'northwind']) {
    const { alg } = TENANTS[tenant];
    test(`${alg} tenant (${tenant}): discovery, both auth methods, token verifies with ${alg}`, async () => {
      const basic = await discover(tenant);
      const md = basic.serverMetadata();
      assert.equal(md.issuer, issuerOf(tenant));
      if (md.access_token_signing_alg_values_supported) {
        assert.ok(md.access_token_signing_alg_values_supported.includes(alg));
      }

      const requests = recordRequests(basic);
      const t1 = await client.clientCredentialsGrant(basic, { scope: `${RESOURCE}/.default` });
      assert.deepEqual(basicCredentials(requests[0].headers), { id: CLIENT_ID, secret: TENANTS[tenant].secret });
      await verifyAccessToken(basic, t1, { alg, scopes: ALL_SCOPES, asked: `${RESOURCE}/.default` });

      const post = await discover(tenant, { auth: 'post' });
      const t2 = await client.clientCredentialsGrant(post, { resource: RESOURCE, scope: 'Reports.Read' });
      await verifyAccessToken(post, t2, { alg, scopes: ['Reports.Read'] });

      // The JWKS publishes the key with the algorithm it signs with.
      const { protectedHeader } = await jose.jwtVerify(t1.access_token, jwksFor(md.jwks_uri));
      const jwks = await (await fetch(md.jwks_uri)).json();
      const jwk = jwks.keys.find((k) => k.kid === protectedHeader.kid);
      assert.ok(jwk, `kid ${protectedHeader.kid} is not in ${md.jwks_uri}`);
      if (jwk.alg !== undefined) assert.equal(jwk.alg, alg);
      for (const k of jwks.keys) {
        for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
          assert.equal(k[priv], undefined, `JWKS key ${k.kid} exposes private member '${priv}'`);
        }
      }
    });
  }

  test("a token from one tenant does not verify against another tenant's keys or issuer", async () => {
    const contoso = await discover('contoso');
    const fabrikam = await discover('fabrikam');
    const tokens = await client.clientCredentialsGrant(contoso, { scope: `${RESOURCE}/.default` });
    await assert.rejects(
      jose.jwtVerify(tokens.access_token, jwksFor(fabrikam.serverMetadata().jwks_uri), {
        issuer: fabrikam.serverMetadata().issuer,
        audience: RESOURCE,
        typ: 'at+jwt',
      }),
    );
    await assert.rejects(
      jose.jwtVerify(tokens.access_token, jwksFor(contoso.serverMetadata().jwks_uri), {
        issuer: fabrikam.serverMetadata().issuer,
        audience: RESOURCE,
        typ: 'at+jwt',
      }),
      (e) => e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'iss',
    );
  });
});
