// Shared harness of the end-to-end tests: the localhost server, Chromium through playwright-core
// with the flags TOOLCHAIN.md lists and a fresh profile per test, and a network guard that sees
// every request the page (and its workers) makes.
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

export async function startServer() {
  const { startServer: start } = await import(join(root, 'extension', 'server.mjs'));
  return start(0);
}

export function freshProfile(tag) {
  return mkdtempSync(join(tmpdir(), `wisp-e2e-${tag}-`));
}

/**
 * Launches Chromium on `profile` (a --user-data-dir; reuse it for a "second start"). Every request
 * of the context, workers included, goes through the guard: requests to anywhere but the local
 * server are aborted and recorded as violations, as are requests whose URL or body carries any of
 * the `secrets` (text the test types).
 */
export async function launch(profile, { origin, secrets = [] } = {}) {
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
    log.requests.push({ url, method: req.method() });
    const u = new URL(url);
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
  return log.requests.filter((r) => new URL(r.url).pathname.endsWith(pathSuffix)).length;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
