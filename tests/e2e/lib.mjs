// Shared harness of the end-to-end tests: the localhost server, Chromium through playwright-core
// with the flags headless runs here need and a fresh profile per test, a network guard that sees
// every request the page (and its workers) makes, and a real `wisp serve` as a remote endpoint.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'deps', 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');
export const artifacts = join(root, 'tests', 'artifacts');
mkdirSync(artifacts, { recursive: true });

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** extension/server.mjs on a free port. `shaping` (model files: `rate` bytes/s, `cutAt` a file
 * offset where the next response covering it is cut off) may be changed while it runs;
 * `vscodeSettings` are VS Code for the Web's setting defaults. */
export async function startServer(shaping = {}, vscodeSettings = {}) {
  const { startServer: start } = await import(join(root, 'extension', 'server.mjs'));
  return start(0, shaping, vscodeSettings);
}

export function freshProfile(tag) {
  return mkdtempSync(join(tmpdir(), `wisp-e2e-${tag}-`));
}

/**
 * Launches Chromium on `profile` (a --user-data-dir; reuse it for a "second start"). Every request
 * of the context, workers included, goes through the guard: requests to anywhere but the local
 * server are aborted and recorded as violations, as are requests whose URL or body carries any of
 * the `secrets` (text the test types). Origins in `allow` (a remote endpoint the test named) pass,
 * typed text included; their requests are recorded with their bodies.
 */
export async function launch(profile, { origin, secrets = [], allow = [] } = {}) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    serviceWorkers: 'block',
  });
  const log = { requests: [], violations: [] };
  await context.route('**/*', async (route) => {
    const req = route.request();
    const url = req.url();
    const body = req.postData() ?? '';
    const u = new URL(url);
    if (allow.includes(u.origin)) {
      log.requests.push({ url, method: req.method(), body });
      return route.continue();
    }
    log.requests.push({ url, method: req.method(), range: (await req.allHeaders()).range ?? null });
    const local = u.origin === origin || u.protocol === 'data:' || u.protocol === 'blob:';
    if (!local) {
      log.violations.push(`request leaves localhost: ${req.method()} ${url}`);
      return route.abort('blockedbyclient');
    }
    for (const s of secrets) {
      if (s && (url.includes(s) || decodeURIComponent(url).includes(s) || body.includes(s))) {
        log.violations.push(`request carries typed text ${JSON.stringify(s)}: ${req.method()} ${url}`);
      }
    }
    return route.continue();
  });
  // Workers' requests also reach context.route in Chromium; count them per path for the tests.
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  return { context, page, log, consoleLines };
}

export function countRequests(log, pathSuffix) {
  return requestsTo(log, pathSuffix).length;
}

/** The requests made for paths ending in `pathSuffix`, with their Range header (or null). */
export function requestsTo(log, pathSuffix) {
  return log.requests.filter((r) => new URL(r.url).pathname.endsWith(pathSuffix));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A real `wisp serve` (build/wisp) on a free port of 127.0.0.1, serving `model`, as the remote
 * endpoint of the editors' tests. `health()` reads its counters; `stop()` ends it (SIGTERM) and
 * waits for it.
 */
export async function startWispServe(model, args = []) {
  const proc = spawn(join(root, 'build', 'wisp'), ['serve', '--model', model, '--port', '0', '--threads', '1', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let err = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/[^ ]+:\d+)/.exec(err);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`wisp serve exited (${code}): ${err}`)));
  });
  proc.stderr.resume();
  const exited = new Promise((r) => proc.on('exit', r));
  return {
    url,
    origin: new URL(url).origin,
    health: () => fetch(`${url}/health`).then((r) => r.json()),
    /** POSTs `body` (an object) to `path` as a client on this machine would; the parsed answer. */
    post: (path, body) => fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json()),
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
