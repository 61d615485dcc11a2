// Start and stop a real sitmap server for end-to-end tests: a fresh demo database in a temporary
// directory, `sitmap serve` on a free loopback port, ready once GET /healthz answers 200.
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/// A TCP port that was free a moment ago on 127.0.0.1.
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/// The sitmap binary under test: $SITMAP_BINARY, else build/sitmap next to the sources.
export function sitmapBinary() {
  if (process.env.SITMAP_BINARY) return process.env.SITMAP_BINARY;
  const source = process.env.SITMAP_SOURCE_DIR ?? new URL('../../..', import.meta.url).pathname;
  return join(source, 'build', 'sitmap');
}

/// Writes the demo database, runs `prepare(binary, db)` when given (to create tokens, say), and
/// starts `sitmap serve` on it with `serveArgs` added. Resolves to
/// { url, port, dir, db, output(), stop() }; stop() is idempotent and also runs when the process exits.
export async function startServer({ binary = sitmapBinary(), timeoutMs = 30000, serveArgs = [], prepare } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'sitmap-e2e-'));
  const db = join(dir, 'demo.sqlite');
  try {
    await run(binary, ['demo', '--db', db], { timeout: 120000 });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`'${binary} demo --db ${db}' failed: ${error.stderr || error.message}`);
  }
  const prepared = prepare ? await prepare(binary, db) : undefined;

  const port = await freePort();
  const child = spawn(binary, ['serve', '--db', db, '--host', '127.0.0.1', '--port', String(port), ...serveArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk) => { log += chunk; });
  child.stderr.on('data', (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`sitmap serve exited early (${child.exitCode ?? child.signalCode}):\n${log}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`sitmap serve did not answer GET /healthz within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, port, dir, db, prepared, output: () => log, stop };
}
