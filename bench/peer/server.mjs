// The peer for Portvakt's benchmarks (issue #5): npm oidc-provider v9 (the certified
// Node.js OpenID provider), configured to match the Portvakt bench tenant:
//   - one confidential client `bench`, client_secret_basic, client_credentials only;
//   - one EC P-256 signing key, so the client needs id_token_signed_response_alg ES256;
//   - resource indicators: `api://analytics` issues ES256 JWT access tokens (RFC 9068
//     style, 3600 s) for scope `api://analytics/.default`, the default resource;
//   - introspection enabled; oidc-provider introspects only opaque tokens, so a second
//     resource `api://analytics-opaque` issues opaque access tokens (the introspection
//     scenario introspects one of those: a lookup in the in-memory store);
//   - a public client `web` (PKCE, authorization_code + refresh_token, rotation on every
//     refresh) for the refresh scenario. oidc-provider leaves sign-in to the
//     application: the interaction page `GET /interaction/:uid` here signs the
//     `login_hint` account in at once (no password, no form) and grants the requested
//     scopes, like an admin-consented app;
//   - the default in-memory adapter (an LRU of about 1,000 entries).
// Routes are renamed so the token and JWKS paths equal Portvakt's:
//   POST /bench/oauth2/token, GET /bench/oauth2/keys, GET /.well-known/openid-configuration.
// `GET /health` answers 200 before the provider (for the start-up measurement).
// Usage: node server.mjs PORT   (prints `listening on http://127.0.0.1:PORT`)
// PEER_TLS_CERT=FILE PEER_TLS_KEY=FILE serves HTTPS with that pair instead (bench/tls.sh;
// node's defaults: TLS 1.2 and 1.3, X25519 first), the issuer then being https://.
// PEER_WORKERS=N runs N processes with node:cluster (default 1, the benchmark's setting);
// each has its own key and in-memory store, so use it only for stateless scenarios.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 3000);
const workers = Number(process.env.PEER_WORKERS || 1);
if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  let listening = 0;
  cluster.on('listening', () => {
    listening += 1;
    if (listening === workers) console.log(`listening on http://127.0.0.1:${port} (${workers} workers)`);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      for (const w of Object.values(cluster.workers)) w.kill();
      process.exit(0);
    });
  }
} else {
  await serve();
}

async function serve() {
const tls = process.env.PEER_TLS_CERT
  ? { cert: readFileSync(process.env.PEER_TLS_CERT), key: readFileSync(process.env.PEER_TLS_KEY) }
  : null;
const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
const RESOURCE = 'api://analytics';
const OPAQUE_RESOURCE = 'api://analytics-opaque';
const SCOPE = 'api://analytics/.default';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'peer-es256-1', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  clients: [
    {
      client_id: 'bench',
      client_secret: 'bench-secret-0123456789abcdef',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: SCOPE,
    },
    {
      client_id: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'ES256',
      scope: `openid offline_access ${SCOPE}`,
    },
  ],
  scopes: ['openid', 'offline_access', SCOPE],
  ttl: { ClientCredentials: 3600 },
  rotateRefreshToken: () => true,
  routes: {
    token: '/bench/oauth2/token',
    jwks: '/bench/oauth2/keys',
    introspection: '/bench/oauth2/introspect',
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (resourceIndicator === OPAQUE_RESOURCE) {
          return { scope: SCOPE, audience: OPAQUE_RESOURCE, accessTokenTTL: 3600, accessTokenFormat: 'opaque' };
        }
        if (resourceIndicator !== RESOURCE) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: SCOPE,
          audience: RESOURCE,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});
provider.proxy = false;

// The interaction: sign the login_hint account in, then grant what was asked (two
// rounds, as in oidc-provider's own example: login, then consent).
async function signIn(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (process.env.PEER_DEBUG) console.log(JSON.stringify({ prompt: details.prompt, params: details.params, grantId: details.grantId, session: details.session }));
  if (details.prompt.name === 'login') {
    const accountId = details.params.login_hint || 'u1@bench.example';
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
const handler = (req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    signIn(req, res).catch((e) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(e));
    });
    return;
  }
  callback(req, res);
};
const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
}
