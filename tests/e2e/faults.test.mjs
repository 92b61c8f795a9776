// Browser storage faults, end to end in headless Chromium: the real worker (wasm/dist) and the
// real Cache Storage, a page of this test's own, and a model server that can cut every download.
//   (a) a download cut off, or whole but corrupt (no digest to check it against), fails with a
//       clear error and leaves nothing in storage; once the server works, the model is stored after
//       the engine loaded it,
//       and the next start reads it from storage with no request; a stored copy that was
//       corrupted is caught by its hash, dropped and downloaded again;
//   (b) storage cleared while the engine runs: completions go on, the next start downloads again;
//   (c) storage full (a quota of 256 KB for the origin): the engine runs, the answer says the model
//       was not saved and why, and the next start downloads again;
//   (d) the same two with the model in parts (progressive loading: a parts manifest, each part
//       stored on its own): storage full stores the first part only, says so, and the next start
//       reads it and fetches the rest from its offset; storage cleared while the engine runs, the
//       next start downloads every part again.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { freshProfile, launch, root } from './lib.mjs';

const model = readFileSync(join(root, 'fixtures', 'reference', 'qwen2.gguf'));
const PAGE = `<!doctype html><meta charset="utf-8"><title>wisp faults</title>
<script type="module">
import { WispClient } from '/wasm/index.js';
window.docs = new Map();
window.start = async (model) => {
  window.client?.dispose();
  window.client = new WispClient(new Worker('/wasm/wisp-worker.js'), (uri) => window.docs.get(uri));
  return window.client.init({ wasmUrl: '/wasm/wisp.wasm', model });
};
window.complete = async (text) => {
  window.docs.set('file:///p.py', { text, version: 1, languageId: 'python' });
  const lines = text.split('\\n');
  return window.client.complete('file:///p.py', 1, { line: lines.length - 1, character: lines.at(-1).length }, { maxTokens: 2 });
};
window.stored = async () => (await (await caches.open('wisp-models-v1')).keys()).map((r) => r.url);
window.ready = true;
</script>`;

let server;
let origin;
let mode = 'ok';
let modelRequests = 0;
let ranges = []; // the Range header of each model request (null: none)
const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(PAGE);
    }
    if (path === '/m.gguf') {
      modelRequests++;
      ranges.push(req.headers.range ?? null);
      const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      if (from > 0 && mode === 'ok') {
        res.writeHead(206, { 'content-length': model.length - from, 'content-range': `bytes ${from}-${model.length - 1}/${model.length}` });
        return res.end(model.subarray(from));
      }
      res.writeHead(200, { 'content-length': model.length, 'content-type': 'application/octet-stream' });
      if (mode === 'cut') {
        res.write(model.subarray(0, model.length >> 1));
        return setTimeout(() => res.socket?.destroy(), 20);
      }
      if (mode === 'corrupt') { // whole, but the GGUF version field is wrong
        const bad = Buffer.from(model);
        for (let i = 4; i < 8; i++) bad[i] ^= 0x5a;
        return res.end(bad);
      }
      return res.end(model);
    }
    if (path.startsWith('/wasm/')) {
      const file = normalize(join(root, 'wasm', 'dist', path.slice(6)));
      if (!file.startsWith(join(root, 'wasm', 'dist')) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
        res.writeHead(404);
        return res.end();
      }
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
      return createReadStream(file).pipe(res);
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${server.address().port}`;
});
after(() => server?.close());

const source = { kind: 'url', url: '/m.gguf', stallMs: 5000, retries: 1 };

async function open(page) {
  await page.goto(origin + '/');
  await page.waitForFunction(() => window.ready === true);
}

// The page again, and a start that downloads the model again (one request) and runs.
async function startDownloadsAgain(page) {
  const before = modelRequests;
  await open(page);
  const r = await page.evaluate((m) => window.start(m), source);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.modelFromCache, false);
  assert.equal(modelRequests, before + 1);
  return r;
}

test('a cut-off download stores nothing; a good one is stored after loading and read back; a corrupted copy is replaced', { timeout: 180_000 }, async () => {
  const { context, page, log } = await launch(freshProfile('faults-cut'), { origin });
  try {
    await open(page);
    mode = 'cut';
    let r = await page.evaluate((m) => window.start(m), source);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'download');
    assert.match(r.error.message, /m\.gguf: cut off.*\(2 attempts\); \d+ bytes received/);
    assert.deepEqual(await page.evaluate(() => window.stored()), [], 'nothing stored');
    // whole but corrupt, and no digest to tell: the engine refuses it, and it is not stored (if it
    // were, every later start would read it back, its hash being its own)
    mode = 'corrupt';
    r = await page.evaluate((m) => window.start(m), source);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'engine');
    assert.deepEqual(await page.evaluate(() => window.stored()), [], 'a model the engine refused is not stored');
    mode = 'ok';
    r = await page.evaluate((m) => window.start(m), source);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.value.storage, 'written');
    assert.equal((await page.evaluate(() => window.complete('def f(a, b):\n    return '))).ok, true);
    const before = modelRequests;
    await open(page);
    r = await page.evaluate((m) => window.start(m), source);
    assert.equal(r.ok, true);
    assert.equal(r.value.modelFromCache, true);
    assert.equal(r.value.storage, 'read');
    assert.equal(modelRequests, before, 'the second start needs no download');
    // a stored copy gone bad: caught by its hash, dropped, downloaded again
    await page.evaluate(async () => {
      const cache = await caches.open('wisp-models-v1');
      for (const req of await cache.keys()) if (req.url.includes('/model/')) await cache.put(req, new Response('junk'));
    });
    r = await startDownloadsAgain(page);
    assert.equal(r.value.storage, 'written');
    assert.deepEqual(log.violations, []);
  } finally {
    await context.close();
  }
});

test('storage cleared while the engine runs: completions go on, the next start downloads again', { timeout: 180_000 }, async () => {
  const { context, page } = await launch(freshProfile('faults-cleared'), { origin });
  try {
    mode = 'ok';
    await open(page);
    let r = await page.evaluate((m) => window.start(m), source);
    assert.equal(r.value.storage, 'written');
    await page.evaluate(() => caches.delete('wisp-models-v1'));
    assert.equal((await page.evaluate(() => window.complete('x = [1, 2, 3]\nfor v in x:\n    '))).ok, true);
    await startDownloadsAgain(page);
  } finally {
    await context.close();
  }
});

test('storage full: the engine runs and says the model was not saved; the next start downloads again', { timeout: 180_000 }, async () => {
  const { context, page } = await launch(freshProfile('faults-full'), { origin });
  try {
    mode = 'ok';
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 256 * 1024 });
    await open(page);
    let r = await page.evaluate((m) => window.start(m), source);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.value.storage, 'failed');
    assert.match(r.value.storageError, /the model was not saved in browser storage \(.*quota.*\); the next start downloads it again/i);
    assert.equal((await page.evaluate(() => window.complete('def g(x):\n    return '))).ok, true);
    await startDownloadsAgain(page);
  } finally {
    await context.close();
  }
});

// The fixture in two parts (progressive loading): its first KB, then the rest (1.3 MB, more than
// the quota below).
const hex = (b) => createHash('sha256').update(b).digest('hex');
const inParts = {
  ...source,
  manifest: {
    size: model.length, sha256: hex(model), block_count: 1, exit_layers: 0, parts: [
      { offset: 0, size: 1024, blocks: [], layers_ready: 0, sha256: hex(model.subarray(0, 1024)) },
      { offset: 1024, size: model.length - 1024, blocks: [0], layers_ready: 1, sha256: hex(model.subarray(1024)) },
    ],
  },
};

test('a model in parts: storage full keeps what fits and says so, the next start fetches the rest from its offset; storage cleared, the next start fetches it all', { timeout: 180_000 }, async () => {
  const { context, page, log } = await launch(freshProfile('faults-parts'), { origin });
  try {
    mode = 'ok';
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 256 * 1024 });
    await open(page);
    ranges = [];
    let r = await page.evaluate((m) => window.start(m), inParts);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.value.storage, 'failed');
    assert.match(r.value.storageError, /the model was not saved in browser storage from part 1 on \(.*quota.*\); the next start downloads those parts again/i);
    assert.equal((await page.evaluate(() => window.complete('def g(x):\n    return '))).ok, true);
    assert.deepEqual((await page.evaluate(() => window.stored())).map((u) => u.replace(/.*\/model\/[0-9a-f]+/, '')), ['/part/0']);
    await open(page);
    r = await page.evaluate((m) => window.start(m), inParts);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(ranges, [null, 'bytes=1024-'], 'the first part from storage, the second from its offset');

    await cdp.send('Storage.overrideQuotaForOrigin', { origin }); // the quota back
    await page.evaluate(() => caches.delete('wisp-models-v1'));
    assert.equal((await page.evaluate(() => window.complete('x = [1, 2, 3]\nfor v in x:\n    '))).ok, true, 'completions go on');
    await open(page);
    ranges = [];
    r = await page.evaluate((m) => window.start(m), inParts);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.value.storage, 'written');
    assert.deepEqual(ranges, [null], 'every part downloaded again');
    assert.deepEqual(log.violations, []);
  } finally {
    await context.close();
  }
});
