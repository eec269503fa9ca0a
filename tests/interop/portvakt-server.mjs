// Start and stop a real `portvakt serve` for the interop tests and the portal's
// browser suite (tests/portal/portal.mjs).
//
// startPortvakt(importDocument) writes the import file into a fresh temporary
// data directory, spawns `$PORTVAKT_BIN serve --listen 127.0.0.1:0 --data DIR
// --import FILE` and resolves once it printed `ready in`; stopPortvakt(server)
// sends SIGTERM and expects a graceful exit (status 0). The tests never skip:
// without a usable binary they fail.

import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const STARTUP_TIMEOUT_MS = 30_000;
const SHUTDOWN_TIMEOUT_MS = 10_000;

export function requireBinary() {
  const bin = process.env.PORTVAKT_BIN;
  if (!bin) {
    throw new Error(
      'PORTVAKT_BIN is not set: point it at a built portvakt binary, e.g. ' +
        'PORTVAKT_BIN=$CARGO_TARGET_DIR/debug/portvakt bash tests/interop/run.sh (or tests/portal/run.sh)',
    );
  }
  let st;
  try {
    st = statSync(bin);
  } catch (err) {
    throw new Error(`PORTVAKT_BIN=${bin} does not exist (${err.code}); build it with 'cargo build -p portvakt' first`);
  }
  if (!st.isFile()) throw new Error(`PORTVAKT_BIN=${bin} is not a file`);
  try {
    accessSync(bin, fsConstants.X_OK);
  } catch {
    throw new Error(`PORTVAKT_BIN=${bin} is not executable`);
  }
  return bin;
}

/** The reason there is no usable binary, or undefined. */
export function binaryProblem() {
  try {
    requireBinary();
    return undefined;
  } catch (err) {
    return err;
  }
}

/** Start `portvakt serve` on a free port; resolves once it printed `ready in`. */
export async function startPortvakt(importDocument) {
  const bin = requireBinary();
  const dir = await mkdtemp(join(tmpdir(), 'portvakt-interop-'));
  const importFile = join(dir, 'import.json');
  await writeFile(importFile, JSON.stringify(importDocument, null, 2));

  // Keep settings from the caller's environment (PORTVAKT_PUBLIC_URL,
  // PORTVAKT_CONFIG, ...) out of the server under test.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PORTVAKT_')),
  );
  const child = spawn(
    bin,
    ['serve', '--data', join(dir, 'data'), '--listen', '127.0.0.1:0', '--import', importFile],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );

  const log = [];
  const keep = (stream) => (line) => {
    log.push(`[${stream}] ${line}`);
    if (log.length > 400) log.shift();
  };
  createInterface({ input: child.stderr }).on('line', keep('stderr'));
  const stdout = createInterface({ input: child.stdout });
  stdout.on('line', keep('stdout'));

  // 'close' comes after the process exited and its stdout/stderr were read to
  // the end, so the log is complete when this settles.
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const server = { child, dir, log, exited, base: undefined };

  try {
    server.base = await new Promise((resolve, reject) => {
      let base;
      const timer = setTimeout(
        () => reject(new Error(`portvakt did not print 'ready in' within ${STARTUP_TIMEOUT_MS} ms`)),
        STARTUP_TIMEOUT_MS,
      );
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`could not start ${bin}: ${err.message}`));
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`portvakt exited during start-up (code ${code}, signal ${signal})`));
      });
      stdout.on('line', (line) => {
        const m = /^Portvakt listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/.exec(line);
        if (m) base = m[1];
        if (/^\s*ready in \d+ ms\s*$/.test(line)) {
          clearTimeout(timer);
          if (base) resolve(base);
          else reject(new Error("portvakt printed 'ready in' without a 'Portvakt listening on' line first"));
        }
      });
    });
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    await rm(dir, { recursive: true, force: true });
    err.message += `\n--- ${bin} serve output ---\n${log.join('\n')}`;
    throw err;
  }
  return server;
}

/** SIGTERM the server and expect a graceful exit (status 0). */
export async function stopPortvakt(server) {
  if (!server) return;
  const { child, exited, dir, log } = server;
  const alreadyExited = child.exitCode !== null || child.signalCode !== null;
  if (!alreadyExited) child.kill('SIGTERM');
  const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), SHUTDOWN_TIMEOUT_MS).unref());
  const outcome = await Promise.race([exited, timeout]);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
  const problem =
    outcome === 'timeout'
      ? `portvakt did not stop within ${SHUTDOWN_TIMEOUT_MS} ms of SIGTERM`
      : alreadyExited
        ? `portvakt exited before the tests finished (code ${outcome.code}, signal ${outcome.signal})`
        : outcome.code !== 0
          ? `portvakt exited with code ${outcome.code} (signal ${outcome.signal}) on SIGTERM, expected 0`
          : undefined;
  if (problem) throw new Error(`${problem}\n--- portvakt output ---\n${log.join('\n')}`);
}
