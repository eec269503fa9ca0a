// What the browser suites share (portal.mjs, story.mjs): RFC 6238 TOTP, Chromium
// from Debian, screenshots and axe-core checks of every page visited, and a click
// that must land on a given URL.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// ---------------------------------------------------------------------------
// TOTP (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits), with node:crypto.

export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${JSON.stringify(text)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function totp(key, unixSeconds, digits = 6) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 10 ** digits;
  return String(bin).padStart(digits, '0');
}

/** Debian's Chromium, headless, with a fresh temporary profile. Fails loudly without it. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) {
    assert.fail(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium chromium-driver)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

// ---------------------------------------------------------------------------
// Screenshots and accessibility.

const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Screenshots (numbered, full page, into `dir`, named `{prefix}NN-name.png`) and
 * axe-core checks. `known` lists violations already reported outside our templates:
 * printed, not failed ({page, id, html}).
 */
export class Recorder {
  constructor(dir, prefix = '', known = []) {
    this.dir = dir;
    this.prefix = prefix;
    this.known = known;
    this.knownSeen = new Set();
    this.shots = [];
    this.findings = [];
    this.n = 0;
  }

  /** Make the directory and remove this suite's screenshots of an earlier run. */
  async reset() {
    await mkdir(this.dir, { recursive: true });
    const mine = new RegExp(`^${this.prefix}\\d\\d-.*\\.png$`);
    for (const f of await readdir(this.dir)) {
      if (mine.test(f)) await rm(join(this.dir, f));
    }
  }

  async screenshot(page, name) {
    this.n += 1;
    const file = join(this.dir, `${this.prefix}${String(this.n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    this.shots.push(file);
    return file;
  }

  isKnown(name, v) {
    return this.known.some((k) => {
      const hit = k.page === name && k.id === v.id && v.nodes.every((n) => n.html.startsWith(k.html));
      if (hit) this.knownSeen.add(k);
      return hit;
    });
  }

  /**
   * Run axe-core in the page (evaluated through the DevTools protocol, so the page's
   * CSP, which forbids inline script, stays in force) and fail on any `serious` or
   * `critical` violation, printing all of them.
   */
  async checkA11y(page, name) {
    const has = await page.evaluate(() => typeof window.axe === 'object');
    if (!has) await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html, summary: n.failureSummary })),
      }));
    });
    const url = page.url();
    for (const v of result) this.findings.push({ page: name, url, ...v });
    const serious = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const known = serious.filter((v) => this.isKnown(name, v));
    const bad = serious.filter((v) => !known.includes(v));
    const describe = (vs) =>
      vs
        .map(
          (v) =>
            `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` +
            v.nodes.map((n) => `      ${n.target}\n        ${n.html}\n        ${(n.summary || '').replace(/\n/g, '\n        ')}`).join('\n'),
        )
        .join('\n');
    const minor = result.filter((v) => !serious.includes(v));
    if (known.length) console.log(`# axe on ${name} (${url}): known, reported, not failed:\n${describe(known)}`);
    if (minor.length) console.log(`# axe on ${name} (${url}): below serious:\n${describe(minor)}`);
    assert.equal(bad.length, 0, `axe-core: serious/critical violations on ${name} (${url}):\n${describe(bad)}`);
  }

  /** Screenshot and accessibility check of the page as it is now. */
  async visit(page, name) {
    await this.screenshot(page, name);
    await this.checkA11y(page, name);
  }

  /** Print what was recorded. */
  summary() {
    const below = this.findings.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
    console.log(`# ${this.shots.length} screenshots in ${this.dir}`);
    console.log(`# axe: ${this.findings.length} violation(s) in all, ${below.length} below serious`);
    for (const k of this.known) {
      if (!this.knownSeen.has(k)) console.log(`# axe: the known ${k.id} on ${k.page} (${k.html}…) was not seen: remove it from the known list`);
    }
  }
}

/**
 * Click something that navigates; wait for the new document's `load` and check that
 * the browser ended up at `url` (a string, a RegExp, or a predicate of a URL).
 */
export async function go(page, locator, url) {
  const loaded = page.waitForEvent('load');
  await locator.click();
  await loaded;
  const now = page.url();
  const ok =
    typeof url === 'string' ? now === url : url instanceof RegExp ? url.test(now) : url(new URL(now));
  if (!ok) {
    const text = (await page.locator('body').innerText().catch(() => '')).slice(0, 2000);
    assert.fail(`expected to land on ${url}, landed on ${now}:\n${text}`);
  }
}
