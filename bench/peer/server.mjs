// The peer for Portvakt's benchmarks (issue #5): npm oidc-provider v9 (the certified
// Node.js OpenID provider), configured to match the Portvakt bench tenant:
//   - one confidential client `bench`, client_secret_basic, client_credentials only;
//   - one EC P-256 signing key, so the client needs id_token_signed_response_alg ES256;
//   - resource indicators: `api://analytics` issues ES256 JWT access tokens (RFC 9068
//     style, 3600 s) for scope `api://analytics/.default`, the default resource;
//   - introspection enabled (oidc-provider introspects only opaque tokens; the later
//     introspection scenario will use `accessTokenFormat: 'opaque'`, see BENCHMARKS.md);
//   - the default in-memory adapter (an LRU of about 1,000 entries).
// Routes are renamed so the token and JWKS paths equal Portvakt's:
//   POST /bench/oauth2/token, GET /bench/oauth2/keys, GET /.well-known/openid-configuration.
// `GET /health` answers 200 before the provider (for the start-up measurement).
// Usage: node server.mjs PORT   (prints `listening on http://127.0.0.1:PORT`)
// PEER_WORKERS=N runs N processes with node:cluster (default 1, the benchmark's setting);
// each has its own key and in-memory store, so use it only for stateless scenarios.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
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
const issuer = `http://127.0.0.1:${port}`;
const RESOURCE = 'api://analytics';
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
  ],
  scopes: [SCOPE],
  ttl: { ClientCredentials: 3600 },
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
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
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

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
}
