// The seed article's story clicked through in real headless Chromium, against the
// real demo binary (ANALYTICS_BIN: `analytics-onboarding --demo`, which runs Portvakt
// in-process). See docs/design/analytics-onboarding.md.
//
// The admin onboards Analytics (sign-in, consent for the organisation, Connect),
// watches the access token expire and renew on a reload, switches on "Require MFA for
// admins" in the portal, sees the failure and its diagnosis on the Analytics page,
// follows its links to the sign-in record and the troubleshooting page, fixes it by
// signing in again with TOTP, and sees the page in Swedish. Every page is
// screenshotted (story-NN-*.png in $PORTVAKT_ARTIFACTS) and checked with axe-core.
//
//   ANALYTICS_BIN=$CARGO_TARGET_DIR/debug/analytics-onboarding bash tests/portal/run.sh

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { base32Decode, go, launchChromium, Recorder, totp } from './kit.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = resolve(process.env.PORTVAKT_ARTIFACTS || join(HERE, '..', '..', 'target', 'portal-screenshots'));
const MFA_POLICY = 'Require MFA for admins';
const LIFETIME = 3;

/** Start `analytics-onboarding --demo` on ephemeral ports; resolve with its printed lines. */
async function startDemo() {
  const bin = process.env.ANALYTICS_BIN;
  if (!bin) throw new Error('ANALYTICS_BIN is not set: point it at a built analytics-onboarding binary');
  const data = await mkdtemp(join(tmpdir(), 'analytics-story-'));
  const child = spawn(
    bin,
    ['--demo', '--listen', '127.0.0.1:0', '--portvakt-listen', '127.0.0.1:0', '--clock-leeway', '0',
      '--access-token-lifetime', String(LIFETIME), '--data', data],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PORTVAKT_LOG: 'warn' } },
  );
  const lines = {};
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('the demo did not print Ready. within 60 s')), 60_000);
    child.on('exit', (code) => fail(new Error(`the demo exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('Ready.')) {
        clearTimeout(timer);
        ok();
      }
      const i = line.indexOf(': ');
      if (i > 0) lines[line.slice(0, i)] = line.slice(i + 2);
    });
  });
  return { child, data, lines };
}

async function stopDemo(demo) {
  const exited = new Promise((ok) => demo.child.once('exit', (code, signal) => ok({ code, signal })));
  demo.child.kill('SIGTERM');
  const r = await Promise.race([exited, new Promise((ok) => setTimeout(() => ok(null), 10_000))]);
  await rm(demo.data, { recursive: true, force: true });
  assert.ok(r && r.code === 0, `the demo stops cleanly on SIGTERM (${JSON.stringify(r)})`);
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

test('the story in headless Chromium: onboard, expiry and renewal, a policy switched on in the portal, the diagnosis, the fix', { timeout: 180_000 }, async (t) => {
  const rec = new Recorder(ARTIFACTS, 'story-');
  await rec.reset();
  const demo = await startDemo();
  const issuer = demo.lines.Portvakt;
  const portal = demo.lines.Portal.replace(/\/$/, '');
  const analytics = demo.lines.Analytics.replace(/\/$/, '');
  const user = demo.lines.User;
  const password = demo.lines.Password;
  const secret = base32Decode(demo.lines['TOTP secret']);
  assert.ok(issuer && portal && analytics && user && password, JSON.stringify(demo.lines));
  let browser;
  try {
    browser = await launchChromium();
  } catch (err) {
    await stopDemo(demo).catch(() => {});
    throw err;
  }
  const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 850 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));

  let failed = false;
  const step = async (name, fn) => {
    await t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
      try {
        await fn();
      } catch (err) {
        failed = true;
        throw err;
      }
    });
  };
  const text = async (sel) => (await page.locator(sel).textContent()).trim();

  try {
    await step('1. onboard: sign in, consent for the organisation, Connect', async () => {
      await page.goto(`${analytics}/`);
      await rec.visit(page, 'analytics-start');
      await go(page, page.locator('#signin'), (u) => u.href.startsWith(`${issuer}/login?interaction=`));
      await rec.visit(page, 'portvakt-signin');
      await page.fill('#username', user);
      await page.fill('#password', password);
      await go(page, page.locator('form button[type=submit]'), `${issuer}/login`);
      assert.equal(await page.locator('input[name=organisation]').count(), 1, 'an admin may consent for the organisation');
      await rec.visit(page, 'portvakt-consent');
      await page.check('input[name=organisation]');
      await go(page, page.locator('button[value=accept]'), `${analytics}/`);
      await rec.visit(page, 'analytics-connect');
      await go(page, page.locator('#connect'), `${analytics}/`);
      assert.match(await text('#done-detail'), new RegExp(user.replace('.', '\\.')));
      await rec.visit(page, 'analytics-done');
    });

    await step('2. the access token expires; a reload renews it silently', async () => {
      await sleep(LIFETIME * 1000 + 1200);
      await page.reload();
      assert.match(await text('#token-renewed'), /renewed without interaction/);
      assert.match(await text('#token-refusal'), /expired at/);
      await page.locator('#devices').waitFor();
      await rec.visit(page, 'analytics-renewed');
    });

    await step('3. the admin switches on "Require MFA for admins" in the portal', async () => {
      await page.goto(`${portal}/policies`);
      // The same browser: the portal signs in with the Portvakt session it has.
      assert.equal(page.url(), `${portal}/policies`);
      const row = page.locator('table.policies tbody tr', { hasText: MFA_POLICY });
      await rec.visit(page, 'portal-policies');
      await row.locator('select[name=state]').selectOption('enabled');
      await go(page, row.locator('button[type=submit]'), `${portal}/policies?changed=1`);
      const after = page.locator('table.policies tbody tr', { hasText: MFA_POLICY });
      assert.equal(await after.locator('select[name=state]').inputValue(), 'enabled');
      await rec.visit(page, 'portal-policy-enabled');
    });

    let cid;
    await step('4. Analytics cannot renew: the page names the policy, the fix and the links', async () => {
      await sleep(LIFETIME * 1000 + 1200);
      await page.goto(`${analytics}/`);
      assert.equal(await text('#error-code'), 'PV4002');
      const reason = await text('#reason');
      assert.ok(reason.includes(MFA_POLICY) && reason.includes('multifactor'), reason);
      cid = await text('#correlation-id');
      assert.equal(await page.locator('#record-link').getAttribute('href'), `${portal}/signins/${cid}`);
      await rec.visit(page, 'analytics-failure');
      // Reloading fails again: the policy persists.
      await page.reload();
      assert.equal(await text('#error-code'), 'PV4002');
      assert.notEqual(await text('#correlation-id'), cid);
    });

    await step('5. the record in the portal and the troubleshooting page', async () => {
      await page.goto(`${analytics}/`);
      cid = await text('#correlation-id');
      await go(page, page.locator('#record-link'), (u) => u.href.startsWith(`${portal}/signins/`));
      assert.ok((await page.locator('main').textContent()).includes(cid), 'the record of that correlation id');
      await rec.visit(page, 'portal-record');
      await page.goto(`${analytics}/`);
      const trouble = await page.locator('#troubleshoot-link').getAttribute('href');
      await page.goto(trouble);
      assert.ok((await page.locator('main').textContent()).includes('multifactor'), 'the PV4002 page');
      await rec.visit(page, 'troubleshooting');
    });

    await step('6. the fix: sign in again with MFA, and Analytics works', async () => {
      await page.goto(`${analytics}/`);
      await go(page, page.locator('#fix-action'), (u) => u.href.startsWith(`${issuer}/login?interaction=`));
      await page.fill('#username', user);
      await page.fill('#password', password);
      await go(page, page.locator('form button[type=submit]'), `${issuer}/login`);
      await page.locator('#otp').waitFor();
      await rec.visit(page, 'portvakt-mfa');
      await page.fill('#otp', totp(secret, Date.now() / 1000));
      await go(page, page.locator('form button[type=submit]'), `${analytics}/`);
      assert.match(await text('#done-detail'), /Onboarded by/);
      await rec.visit(page, 'analytics-fixed');
    });

    await step('7. in Swedish', async () => {
      await page.goto(`${analytics}/?lang=sv`);
      assert.equal(await page.getAttribute('html', 'lang'), 'sv');
      assert.match(await text('h1'), /Anslut din organisation/);
      await rec.visit(page, 'analytics-sv');
    });

    await step('8. no page errors', async () => {
      assert.deepEqual(problems, []);
    });
  } finally {
    if (failed) await rec.screenshot(page, 'failure').catch(() => {});
    await browser.close().catch(() => {});
    await stopDemo(demo);
    rec.summary();
  }
});
