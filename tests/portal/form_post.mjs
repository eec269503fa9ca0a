// response_mode=form_post in real headless Chromium (OAuth 2.0 Form Post Response
// Mode): after the password, Portvakt's page must post the code to the client by
// itself. The page's one inline script is allowed by its hash alone (CSP script-src
// 'sha256-…'), so this is the test that the hash matches what the browser runs: a CSP
// refusal is a console error here, and the post would not happen. The client is a
// tiny HTTP server on loopback that records what it was posted, then redeems the code.
//
//   PORTVAKT_BIN=$CARGO_TARGET_DIR/debug/portvakt bash tests/portal/run.sh

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium, Recorder } from './kit.mjs';
import { startPortvakt, stopPortvakt } from '../interop/portvakt-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = resolve(process.env.PORTVAKT_ARTIFACTS || join(HERE, '..', '..', 'target', 'portal-screenshots'));
const USER = 'ada@fabrikam.example';
const PASSWORD = 'a long enough password';
const SECRET = 'web-secret-0123456789abcdef0123';

test('form_post: Chromium posts the code to the client under the page CSP', async () => {
  // The client: records the POST to /cb and answers with a page that says so.
  const posted = [];
  const client = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/cb') {
        posted.push({ contentType: req.headers['content-type'], origin: req.headers.origin, body });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<!doctype html><html lang="en"><title>Client</title><h1>Code received</h1></html>');
      } else if (req.url === '/favicon.ico') {
        res.writeHead(204).end();
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise((r) => client.listen(0, '127.0.0.1', r));
  const redirectUri = `http://127.0.0.1:${client.address().port}/cb`;

  const server = await startPortvakt({
    tenants: [
      {
        name: 'fabrikam',
        users: [{ userPrincipalName: USER, password: PASSWORD }],
        resources: [{ identifier: 'api://reports', scopes: ['Read'] }],
        applications: [
          {
            clientId: 'web',
            displayName: 'Reports web',
            clientSecret: SECRET,
            grantTypes: ['authorization_code'],
            redirectUris: [redirectUri],
            allowedScopes: ['api://reports/Read'],
            adminConsented: true,
          },
        ],
      },
    ],
  });
  const browser = await launchChromium();
  const rec = new Recorder(ARTIFACTS, 'formpost-');
  try {
    await rec.reset();
    const page = await browser.newPage();
    const problems = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = 'st-' + randomBytes(6).toString('hex');
    const issuer = `${server.base}/fabrikam`;
    const q = new URLSearchParams({
      client_id: 'web',
      response_type: 'code',
      response_mode: 'form_post',
      redirect_uri: redirectUri,
      scope: 'openid api://reports/Read',
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    await page.goto(`${issuer}/oauth2/authorize?${q}`);
    await page.fill('#username', USER);
    await page.fill('#password', PASSWORD);
    const arrived = page.waitForURL(redirectUri, { timeout: 15_000 });
    await page.getByRole('button', { name: /sign in/i }).click();
    await arrived;
    await page.getByRole('heading', { name: 'Code received' }).waitFor();
    await rec.screenshot(page, 'client-received');

    assert.equal(posted.length, 1, 'one POST reached the client');
    const p = posted[0];
    assert.match(p.contentType, /^application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(p.body);
    assert.equal(form.get('state'), state);
    assert.equal(form.get('iss'), issuer);
    const code = form.get('code');
    assert.ok(code, `a code in ${p.body}`);
    assert.deepEqual(problems, [], 'no CSP violation or script error on the way');

    // The posted code redeems.
    const res = await fetch(`${issuer}/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: 'Basic ' + Buffer.from(`web:${SECRET}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }),
    });
    const tokens = await res.json();
    assert.equal(res.status, 200, JSON.stringify(tokens));
    assert.ok(tokens.id_token && tokens.access_token);
    rec.summary();
  } finally {
    await browser.close();
    await stopPortvakt(server);
    await new Promise((r) => client.close(r));
  }
});
