// Faults, on the real code paths, over the real wisp.wasm and a real model:
//   - the model download cut off, corrupted, with a wrong digest, an HTTP error, a stall (a local
//     HTTP server that does each), through the worker's own loader: each ends in a clear typed
//     error or heals itself (retry, resume with a Range request), and the worker stays usable;
//   - a real trap (an out-of-bounds access inside WebAssembly) in the middle of a request, and
//     WebAssembly memory growth refused: typed answers, the engine restarts by itself, and the
//     documents come back exactly as the editor has them;
//   - the worker thread terminated mid-request (the real worker bundle in a worker_threads
//     thread): the client notices, fails what waited with 'worker', starts a new worker, and the
//     next completion has the editor's text.
// Browser storage (Cache Storage full or cleared) needs a browser: tests/e2e/faults.test.mjs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostHarness, threadWorker as threadWorkerOf } from './harness.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const model = readFileSync(process.env.WISP_TEST_MODEL || join(root, 'fixtures', 'reference', 'qwen2.gguf'));
const sha = createHash('sha256').update(model).digest('hex');
const copy = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
const PY = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return ';
const END = { line: 5, character: 11 };

// ---- A model server that misbehaves on request -------------------------------------------------

const seen = new Map(); // path -> [{ range }]
let server;
let base;
const sockets = new Set();

// Writes `body` from `from`, honouring a Range request; `cut`: close after that many bytes of it.
function serve(req, res, { cut, stall, corrupt } = {}) {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const from = m ? Number(m[1]) : 0;
  let body = corrupt ? Buffer.from(model) : model;
  if (corrupt) for (let i = 4; i < 8; i++) body[i] ^= 0x5a; // the GGUF version field
  const head = { 'content-length': body.length - from, 'accept-ranges': 'bytes' };
  if (m) res.writeHead(206, { ...head, 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` });
  else res.writeHead(200, head);
  const part = body.subarray(from);
  if (cut !== undefined) {
    res.write(part.subarray(0, cut));
    setTimeout(() => res.socket?.destroy(), 20);
  } else if (stall !== undefined) {
    res.write(part.subarray(0, stall)); // and nothing more: the socket stays open
  } else {
    res.end(part);
  }
}

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const list = seen.get(path) ?? [];
    list.push({ range: req.headers.range ?? null });
    seen.set(path, list);
    const n = list.length;
    switch (path) {
      case '/ok.gguf': return serve(req, res);
      case '/cut-once.gguf': return serve(req, res, n === 1 ? { cut: model.length >> 2 } : {});
      case '/cut-always.gguf': return serve(req, res, { cut: 1000 });
      case '/corrupt.gguf': return serve(req, res, { corrupt: true });
      case '/missing.gguf': res.writeHead(404); return res.end('no such model');
      case '/busy.gguf':
        if (n <= 2) { res.writeHead(503); return res.end('try later'); }
        return serve(req, res);
      case '/stall-once.gguf': return serve(req, res, n === 1 ? { stall: model.length >> 1 } : {});
      case '/stall-always.gguf': return serve(req, res, { stall: 100 });
      case '/silent.gguf': return; // never answers
      default: res.writeHead(404); return res.end();
    }
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

const harness = (factory = createWisp) => hostHarness(api, factory);

const url = (path, more = {}) => ({ kind: 'url', url: base + path, stallMs: 300, retries: 2, ...more });

test('a download cut off once resumes with a Range request; the model is the right one', async () => {
  const { call, events } = harness();
  const r = await call('init', { wasmBytes: copy(wasm), model: url('/cut-once.gguf', { sha256: sha }) });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.modelSha256, sha);
  const reqs = seen.get('/cut-once.gguf');
  assert.equal(reqs.length, 2);
  assert.equal(reqs[1].range, `bytes=${model.length >> 2}-`, 'the second attempt resumes');
  const last = events.filter((e) => e.phase === 'download').at(-1);
  assert.equal(last.loaded, model.length);
});

test('a download always cut off, a wrong digest, a corrupt file, an HTTP error: clear errors, and the worker recovers', async () => {
  const { call } = harness();
  let r = await call('init', { wasmBytes: copy(wasm), model: url('/cut-always.gguf') });
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'download');
  // each attempt resumes where the last was cut, and gets 1000 bytes more
  assert.match(r.error.message, /cut-always\.gguf: cut off: .* \(3 attempts\); 3000 bytes received/);
  assert.equal(seen.get('/cut-always.gguf').length, 3);

  r = await call('init', { wasmBytes: copy(wasm), model: url('/ok.gguf', { sha256: 'ab'.repeat(32) }) });
  assert.equal(r.error.code, 'integrity');
  assert.match(r.error.message, new RegExp(`ok\\.gguf has SHA-256 ${sha}, expected ${'ab'.repeat(32)}`));

  r = await call('init', { wasmBytes: copy(wasm), model: url('/corrupt.gguf', { sha256: sha }) });
  assert.equal(r.error.code, 'integrity', 'corrupt bytes are caught by the digest');
  r = await call('init', { wasmBytes: copy(wasm), model: url('/corrupt.gguf') });
  assert.equal(r.error.code, 'engine', 'without a digest, by the reader');
  assert.equal(r.error.engineStatus, 'unsupported');

  r = await call('init', { wasmBytes: copy(wasm), model: url('/missing.gguf') });
  assert.equal(r.error.code, 'download');
  assert.match(r.error.message, /missing\.gguf: HTTP 404; 0 bytes received/);
  assert.equal(seen.get('/missing.gguf').length, 1, 'a 404 is not tried again');

  // and after all that, the same worker starts
  r = await call('init', { wasmBytes: copy(wasm), model: url('/ok.gguf', { sha256: sha }) });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal((await call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  assert.equal((await call('complete', { uri: 'file:///a.py', version: 1, position: END, options: { maxTokens: 2 } })).ok, true);
});

test('server errors and stalls are tried again; a stall that lasts, or a server that never answers, is a clear error', async () => {
  const { call } = harness();
  let r = await call('init', { wasmBytes: copy(wasm), model: url('/busy.gguf', { sha256: sha }) });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(seen.get('/busy.gguf').length, 3, '503, 503, then the model');

  const h2 = harness();
  r = await h2.call('init', { wasmBytes: copy(wasm), model: url('/stall-once.gguf', { sha256: sha }) });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(seen.get('/stall-once.gguf')[1].range, `bytes=${model.length >> 1}-`);

  const h3 = harness();
  r = await h3.call('init', { wasmBytes: copy(wasm), model: url('/stall-always.gguf', { retries: 1 }) });
  assert.equal(r.error.code, 'download');
  assert.match(r.error.message, /stalled: no data for 300 ms \(2 attempts\); 200 bytes received/);

  const h4 = harness();
  r = await h4.call('init', { wasmBytes: copy(wasm), model: url('/silent.gguf', { retries: 0 }) });
  assert.equal(r.error.code, 'download');
  assert.match(r.error.message, /silent\.gguf: no answer for 300 ms; 0 bytes received/);
  assert.equal((await h4.call('stats', {})).ok, true, 'the worker still answers');
});

// A WispClient over an in-process Host (the transport of a Worker without the thread).
function inProcessClient(factory, docs) {
  const listeners = [];
  const host = new api.Host(factory, (msg) => { for (const fn of listeners) fn({ data: msg }); });
  const port = { postMessage: (m) => host.receive(m), addEventListener: (t, fn) => { if (t === 'message') listeners.push(fn); } };
  return new api.WispClient(port, (uri) => docs.get(uri));
}

async function workerText(client, uri) {
  const t = await client.request('text', { uri });
  assert.equal(t.ok, true, JSON.stringify(t));
  return t.value.text;
}

test('a real trap in the middle of a request: typed, the engine restarts, edits typed meanwhile are not lost', async () => {
  let trapNext = false;
  const factory = async (opts) => {
    const m = await createWisp(opts);
    const real = m._wisp_js_complete;
    const patched = (...args) => {
      // a wild pointer inside WebAssembly: an out-of-bounds load, as a memory bug would do
      if (trapNext) { trapNext = false; m._wisp_js_doc_text_len(0x7ffffff0); }
      const r = real(...args);
      m._wisp_js_complete = patched; // Emscripten's export stub replaces itself on its first call
      return r;
    };
    m._wisp_js_complete = patched;
    return m;
  };
  const uri = 'file:///t.py';
  const docs = new Map([[uri, { text: PY, version: 1, languageId: 'python' }]]);
  const client = inProcessClient(factory, docs);
  assert.equal((await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } })).ok, true);
  assert.equal((await client.complete(uri, 1, END, { maxTokens: 2 })).ok, true);
  trapNext = true;
  const d = docs.get(uri);
  const trapped = client.complete(uri, 1, END, { maxTokens: 2 });
  // the user types on while the engine traps and restarts
  d.text += 'a';
  d.version = 2;
  void client.edit(uri, 2, [{ rangeOffset: PY.length, rangeLength: 0, text: 'a' }]);
  d.text += ' * b';
  d.version = 3;
  void client.edit(uri, 3, [{ rangeOffset: PY.length + 1, rangeLength: 0, text: ' * b' }]);
  const r = await trapped;
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'trap');
  assert.match(r.error.message, /RuntimeError: memory access out of bounds; the engine is restarting/);
  const next = await client.complete(uri, 3, { line: 5, character: 16 }, { maxTokens: 2 });
  assert.equal(next.ok, true, JSON.stringify(next));
  assert.equal(await workerText(client, uri), d.text, 'the reopened document has everything typed');
  assert.equal((await client.stats()).value.restarts, 1);
});

test('WebAssembly memory growth refused: typed "no memory" answers, nothing lost, and all is well once growth works', async () => {
  const grow = WebAssembly.Memory.prototype.grow;
  let refuse = false;
  WebAssembly.Memory.prototype.grow = function (pages) {
    if (refuse) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    return grow.call(this, pages);
  };
  try {
    const uri = 'file:///g.py';
    const docs = new Map([[uri, { text: PY, version: 1, languageId: 'python' }]]);
    const client = inProcessClient(createWisp, docs);
    assert.equal((await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } })).ok, true);
    assert.equal((await client.complete(uri, 1, END, { maxTokens: 2 })).ok, true);
    refuse = true;
    const bigUri = 'file:///huge.py';
    docs.set(bigUri, { text: 'x = 1\n'.repeat(12_000_000), version: 1, languageId: 'python' }); // 72 MB
    const r = await client.open(bigUri);
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'engine');
    assert.equal(r.error.engineStatus, 'no memory');
    assert.match(r.error.message, /out of WebAssembly memory copying \d+ bytes/);
    // the other document is intact and completes
    const ok = await client.complete(uri, 1, END, { maxTokens: 2 });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(await workerText(client, uri), PY);
    assert.equal((await client.stats()).value.restarts, 0, 'refused growth is not a trap');
    refuse = false;
    docs.set(bigUri, { text: 'x = 1\n'.repeat(200_000), version: 2, languageId: 'python' });
    assert.equal((await client.open(bigUri)).ok, true, 'with growth back, the same open works');
  } finally {
    WebAssembly.Memory.prototype.grow = grow;
  }
});

// The real worker bundle in a worker_threads thread (harness.mjs).
const threadWorker = () => threadWorkerOf(join(root, 'wasm', 'dist', 'wisp-worker.js'));

test('the worker terminated mid-request: the client fails what waited, starts a new worker, and nothing typed is lost', { timeout: 120_000 }, async () => {
  const uri = 'file:///w.py';
  const docs = new Map([[uri, { text: PY, version: 1, languageId: 'python' }]]);
  const workers = [];
  const spawn = () => { const w = threadWorker(); workers.push(w); return w; };
  const client = new api.WispClient(spawn(), (u) => docs.get(u), { respawn: spawn, pingMs: 100, deadMs: 1500 });
  const restarts = [];
  client.onRestart = (reason, ready) => restarts.push({ reason, ready });
  const init = await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
  assert.equal(init.ok, true, JSON.stringify(init));
  assert.equal((await client.complete(uri, 1, END, { maxTokens: 2 })).ok, true);
  // a request in flight, then the thread is gone
  const inflight = client.complete(uri, 1, END, { maxTokens: 4 });
  await workers[0].thread.terminate();
  const d = docs.get(uri);
  d.text += 'a * b';
  d.version = 2;
  void client.edit(uri, 2, [{ rangeOffset: PY.length, rangeLength: 0, text: 'a * b' }]);
  const r = await inflight;
  if (!r.ok) {
    assert.equal(r.error.code, 'worker');
    assert.match(r.error.message, /did not answer for \d+ s/);
  }
  // the dead worker is noticed when something waits on it
  for (let i = 0; i < 50 && restarts.length === 0; i++) {
    await client.complete(uri, 2, { line: 5, character: 16 }, { maxTokens: 2 });
  }
  assert.equal(restarts.length, 1, 'one new worker');
  const again = await restarts[0].ready;
  assert.equal(again.ok, true, JSON.stringify(again));
  const next = await client.complete(uri, 2, { line: 5, character: 16 }, { maxTokens: 2 });
  assert.equal(next.ok, true, JSON.stringify(next));
  assert.equal(await workerText(client, uri), d.text);
  client.dispose();
  for (const w of workers) await w.thread.terminate();
});
