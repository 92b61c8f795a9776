// Progressive loading through the worker's own code (wasm/src/model-parts.ts in the Host, over the
// real wisp.wasm): the shipped model, laid out in arrival order, streamed from a local HTTP server
// with its parts manifest (models/wisp-default.parts.json), and a Cache Storage of this test's own
// (Node has none; the same API over a Map, shared by every Host here as a browser profile's is):
//   - the server holds the download after the first blocks: `init` answers, completions run at
//     the partial depth, then, the rest let through, a 'full' event and the whole model's answer,
//     equal to an engine loaded whole, in the same documents (no reopen);
//   - a part served corrupt is fetched again from its offset (and a part corrupt every time is an
//     'integrity' error); a connection cut mid-part resumes at that byte, so does a stall; server
//     errors are tried again, a 404 is not;
//   - a download cut for good after some parts ('stopped': the engine goes on at its depth); the
//     next start reads those parts from storage and asks the server for the rest with one Range
//     request from a part's offset; the start after that makes no request at all;
//   - self-speculative decoding asked for at init runs once the model is whole (same answers),
//     and a draft depth the model cannot have is refused with a reason.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostHarness } from './harness.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const model = readFileSync(join(root, 'models', 'wisp-default.gguf'));
const manifest = JSON.parse(readFileSync(join(root, 'models', 'wisp-default.parts.json'), 'utf8'));
const copy = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
const parts = manifest.parts;
const partEnd = (i) => parts[i].offset + parts[i].size;
const PY = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return ';
const END = { line: 5, character: 11 };
const OPTS = { maxTokens: 8, timeBudgetMs: 0, nCandidates: 1 }; // no time budget: the same answer on any machine

// ---- Cache Storage over a Map (the browser's API, as model-store.ts and model-parts.ts use it) ----
const stored = new Map(); // key URL -> bytes
const keyOf = (k) => (typeof k === 'string' ? k : k.url);
globalThis.caches = {
  open: async () => ({
    match: async (k) => (stored.has(keyOf(k)) ? new Response(stored.get(keyOf(k)).slice()) : undefined),
    put: async (k, res) => { stored.set(keyOf(k), new Uint8Array(await res.arrayBuffer())); },
    delete: async (k) => stored.delete(keyOf(k)),
    keys: async () => [...stored.keys()].map((url) => ({ url })),
  }),
  delete: async () => { stored.clear(); return true; },
};
const storedParts = () => [...stored.keys()].filter((k) => k.includes('/part/')).length;

// ---- The model server: Range requests, and faults set by each test -------------------------------
let server;
let base;
const sockets = new Set();
// { gate: offset to hold at until release(), cut: offset to drop the connection at (once), stall:
// offset to stop sending at, the connection left open (once), statuses: HTTP errors to answer
// first, corrupt: Map part -> 'once' | 'always' }
let plan = {};
let release = () => {};
let requests = []; // the Range header of each request (null: none)

function hold() {
  return new Promise((r) => { release = r; });
}

async function send(res, from) {
  const corrupt = plan.corrupt ?? new Map();
  let body = model;
  if (corrupt.size > 0) {
    body = Buffer.from(model);
    for (const [i, when] of corrupt) {
      body[parts[i].offset + (parts[i].size >> 1)] ^= 0x5a;
      if (when === 'once') corrupt.delete(i);
    }
  }
  let at = from;
  const write = async (to) => {
    while (at < to) {
      const n = Math.min(256 * 1024, to - at);
      const more = res.write(body.subarray(at, at + n));
      at += n;
      if (!more) await new Promise((r) => res.once('drain', r));
      if (res.destroyed) return false;
    }
    return true;
  };
  if (plan.stall !== undefined && plan.stall > from) {
    const stall = plan.stall;
    plan.stall = undefined;
    await write(stall); // and nothing more
    return;
  }
  if (plan.cut !== undefined && plan.cut > from) {
    const cut = plan.cut;
    plan.cut = undefined;
    await write(cut);
    setTimeout(() => res.socket?.destroy(), 20);
    return;
  }
  if (plan.gate !== undefined && plan.gate > from) {
    if (!(await write(plan.gate))) return;
    await plan.held;
  }
  if (await write(body.length)) res.end();
}

before(async () => {
  server = createServer((req, res) => {
    requests.push(req.headers.range ?? null);
    const status = req.url === '/missing.gguf' ? 404 : plan.statuses?.shift();
    if (status) {
      res.writeHead(status);
      return res.end('no');
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    const head = { 'content-length': model.length - from, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (m) res.writeHead(206, { ...head, 'content-range': `bytes ${from}-${model.length - 1}/${model.length}` });
    else res.writeHead(200, head);
    void send(res, from);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => {
  release();
  for (const s of sockets) s.destroy();
  server.close();
});

// A fresh start: the model's storage and the server's log as the test sets them.
function reset({ keepStorage = false, ...p } = {}) {
  if (!keepStorage) stored.clear();
  requests = [];
  plan = p;
  if (p.gate !== undefined) plan.held = hold();
}

const harness = () => hostHarness(api, createWisp);

const source = (more = {}) => ({ kind: 'url', url: `${base}/m.gguf`, manifest, stallMs: 5000, retries: 2, earlyAnswers: 'always', ...more });
const init = (h, more = {}, params = {}) => h.call('init', { wasmBytes: copy(wasm), model: source(more), nCtx: 1024, ...params });

// The answer of an engine loaded whole (the old path), for comparison.
let wholeAnswer;
before(async () => {
  const h = harness();
  const r = await h.call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) }, nCtx: 1024 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  const c = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(c.ok, true, JSON.stringify(c));
  assert.equal(c.value.depth, manifest.block_count);
  wholeAnswer = c.value.items[0]?.text ?? '';
  assert.ok(wholeAnswer.length > 0, 'the whole model has something to say here');
});

test('answers from the first blocks while the rest downloads, then the whole model\'s answer in the same documents', { timeout: 120_000 }, async () => {
  const exit = manifest.exit_layers;
  reset({ gate: partEnd(exit) }); // part 0 (head) and the blocks up to the exit, then the server holds
  const h = harness();
  const r = await init(h);
  assert.equal(r.ok, true, JSON.stringify(r));
  const info = r.value;
  assert.ok(info.partial, 'init answered before the whole model was there');
  assert.equal(info.partial.total, manifest.size);
  assert.equal(info.partial.layers, manifest.block_count);
  // the blocks before the trained exit never answer (the engine says "still loading" until the
  // exit's blocks are in: tests/test_progressive.c), so init answers at the exit
  assert.ok(info.partial.layersReady >= exit && info.partial.layersReady < manifest.block_count, JSON.stringify(info.partial));
  assert.equal(info.partial.depth, exit, 'the trained exit runs');
  assert.equal(info.modelBytes, manifest.size);
  assert.equal(info.modelSha256, manifest.sha256);
  assert.equal(info.modelFromCache, false);
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  // The download is held: whatever arrives meanwhile, the engine runs at its partial depth.
  const early = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(early.ok, true, JSON.stringify(early));
  assert.equal(early.value.depth, exit, `partial depth ${early.value.depth}`);
  assert.equal(h.events.some((e) => e.phase === 'full'), false, 'not whole yet');
  const earlyEvents = h.events.filter((e) => e.phase === 'early');
  assert.ok(earlyEvents.every((e) => e.loaded < e.total && e.partial.depth < manifest.block_count), JSON.stringify(earlyEvents.at(-1)));

  release();
  const full = await h.phase('full');
  assert.equal(full.loaded, manifest.size);
  assert.equal(full.info.partial, undefined);
  assert.equal(full.info.storage, 'written');
  assert.equal(full.info.modelFromCache, false);
  const after = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(after.ok, true, JSON.stringify(after));
  assert.equal(after.value.depth, manifest.block_count);
  assert.equal(after.value.items[0]?.text, wholeAnswer, 'the same answer as an engine loaded whole');
  assert.deepEqual(requests, [null], 'one request for the whole download');
  assert.equal(storedParts(), parts.length, 'every part stored');
  // progress never goes back, and 'early' events come only once the engine answers
  const loaded = h.events.map((e) => e.loaded);
  assert.deepEqual(loaded, [...loaded].sort((a, b) => a - b));
});

test('by default (earlyAnswers \'trained\') a model without a trained exit streams in parts but answers once whole: download progress, no early answers', { timeout: 120_000 }, async () => {
  reset({ gate: partEnd(2) }); // part 0 and blocks 0-1, then the server holds
  const h = harness();
  // the shipped model has a trained exit: its manifest without one stands for a model that has none
  const pending = init(h, { earlyAnswers: undefined, manifest: { ...manifest, exit_layers: 0 } });
  let answered = false;
  void pending.then(() => { answered = true; });
  await new Promise((r) => setTimeout(r, 1500)); // the first parts are in; the engine could answer
  assert.equal(answered, false, 'init waits for the whole model');
  assert.equal(h.events.some((e) => e.phase === 'early'), false, 'no early answers announced');
  assert.ok(h.events.some((e) => e.phase === 'download' && e.loaded > 0 && e.loaded < e.total), 'download progress instead');
  release();
  const r = await pending;
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.partial, undefined, 'whole when it answers');
  assert.equal(r.value.storage, 'written');
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  const c = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(c.ok, true, JSON.stringify(c));
  assert.equal(c.value.depth, manifest.block_count);
  assert.equal(c.value.items[0]?.text, wholeAnswer);
  assert.deepEqual(requests, [null], 'one request for the whole download');
  assert.equal(storedParts(), parts.length, 'every part stored');
});

test('a corrupt part is fetched again from its offset; corrupt every time, it is an integrity error', { timeout: 120_000 }, async () => {
  reset({ corrupt: new Map([[4, 'once']]) });
  let h = harness();
  let r = await init(h);
  assert.equal(r.ok, true, JSON.stringify(r));
  const full = await h.phase('full');
  assert.equal(full.info.storage, 'written');
  assert.deepEqual(requests, [null, `bytes=${parts[4].offset}-`], 'the part again, from its offset');
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  const c = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(c.value.items[0]?.text, wholeAnswer);

  // before the engine answers (block 0's part): init fails
  reset({ corrupt: new Map([[1, 'always']]) });
  h = harness();
  r = await init(h);
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'integrity');
  assert.match(r.error.message, new RegExp(`m\\.gguf: part 1 \\(bytes ${parts[1].offset}-${partEnd(1) - 1}\\) failed its SHA-256 check twice`));
  assert.equal(storedParts(), 1, 'part 0 was stored; the bad one was not');

  // after it answers: a 'stopped' event, and the engine goes on at its depth (the part after the
  // exit's blocks is bad: part k holds block k - 1)
  const exit = manifest.exit_layers;
  assert.ok(exit > 0 && exit + 1 < parts.length, 'the shipped manifest records an exit before the last block');
  reset({ corrupt: new Map([[exit + 1, 'always']]) });
  h = harness();
  r = await init(h);
  assert.equal(r.ok, true, JSON.stringify(r));
  const stopped = await h.phase('stopped');
  assert.equal(stopped.error.code, 'integrity');
  assert.equal(stopped.partial.layersReady, exit, `blocks 0-${exit - 1} are in`);
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  const partial = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(partial.ok, true, JSON.stringify(partial));
  assert.equal(partial.value.depth, exit);
});

test('a connection cut mid-part resumes at that byte; one cut for good resumes on the next start from the first missing part; then no request at all', { timeout: 180_000 }, async () => {
  const mid = parts[5].offset + 1000;
  reset({ cut: mid });
  let h = harness();
  let r = await init(h);
  assert.equal(r.ok, true, JSON.stringify(r));
  await h.phase('full');
  assert.deepEqual(requests, [null, `bytes=${mid}-`], 'resumed at the byte where it stopped');

  // a stall mid-part: dropped after stallMs, resumed at that byte; two 503s: tried again
  const stall = parts[7].offset + 5000;
  reset({ stall, statuses: [undefined, 503] });
  h = harness();
  r = await init(h, { stallMs: 500, retries: 3 });
  assert.equal(r.ok, true, JSON.stringify(r));
  await h.phase('full');
  assert.deepEqual(requests, [null, `bytes=${stall}-`, `bytes=${stall}-`], 'stalled, 503, then the rest');
  reset();
  h = harness();
  r = await h.call('init', { wasmBytes: copy(wasm), model: source({ url: `${base}/missing.gguf` }) });
  assert.equal(r.error.code, 'download');
  assert.match(r.error.message, /missing\.gguf: HTTP 404; 0 bytes received/);
  assert.deepEqual(requests, [null], 'a 404 is not tried again');

  // cut for good after part 8 began (no retries): the engine answers from blocks 0-7
  reset({ cut: parts[9].offset + 4096 });
  h = harness();
  r = await init(h, { retries: 0 });
  assert.equal(r.ok, true, JSON.stringify(r));
  const stopped = await h.phase('stopped');
  assert.equal(stopped.error.code, 'download');
  assert.match(stopped.error.message, /m\.gguf: cut off/);
  assert.equal(stopped.partial.layersReady, 8);
  assert.equal(storedParts(), 9, 'parts 0-8 stored');

  // the next start: those parts from storage, the rest with one request from part 9's offset
  reset({ keepStorage: true });
  h = harness();
  r = await init(h);
  assert.equal(r.ok, true, JSON.stringify(r));
  const full = await h.phase('full');
  assert.deepEqual(requests, [`bytes=${parts[9].offset}-`], 'one Range request from the first missing part');
  assert.equal(full.info.modelFromCache, false);
  assert.equal(full.info.storage, 'written');
  assert.equal(storedParts(), parts.length);

  // and the start after that: everything from storage, no request; init answers with the whole model
  reset({ keepStorage: true });
  h = harness();
  r = await init(h);
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.partial, undefined, 'whole at once');
  assert.equal(r.value.modelFromCache, true);
  assert.equal(r.value.storage, 'read');
  assert.deepEqual(requests, [], 'no request at all');
  assert.equal(h.events.some((e) => e.phase === 'full'), false, 'init said it all');
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  const c = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(c.value.items[0]?.text, wholeAnswer);

  // a stored part gone bad is dropped and downloaded again
  const key = [...stored.keys()].find((k) => k.endsWith('/part/3'));
  stored.set(key, new Uint8Array(parts[3].size)); // right size, wrong bytes
  reset({ keepStorage: true });
  h = harness();
  r = await init(h);
  assert.equal(r.ok, true, JSON.stringify(r));
  await h.phase('full');
  assert.deepEqual(requests, [`bytes=${parts[3].offset}-`]);
  assert.equal(stored.get(key)[0], model[parts[3].offset], 'the good part stored again');
});

test('self-speculative decoding asked for at init runs once the model is whole, with the same answers; a draft depth the model cannot have is refused', { timeout: 120_000 }, async () => {
  reset();
  let h = harness();
  let r = await init(h, {}, { speculative: { nDraft: 2, draftDepth: 4 } });
  assert.equal(r.ok, true, JSON.stringify(r));
  const full = r.value.partial ? (await h.phase('full')).info : r.value;
  assert.deepEqual(full.speculative, { nDraft: 2, draftDepth: 4 });
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  const c = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(c.value.items[0]?.text, wholeAnswer, 'plain greedy decoding\'s answer');

  // draft depth 0 = the model's exit: the shipped model's (every part is stored now), the same answers
  reset({ keepStorage: true });
  h = harness();
  r = await init(h, {}, { speculative: { nDraft: 2 } });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.speculativeError, undefined);
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  const d = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(d.value.items[0]?.text, wholeAnswer, 'plain greedy decoding\'s answer, drafted at the exit');

  // a draft as deep as the model is refused with a reason
  reset({ keepStorage: true });
  h = harness();
  r = await init(h, {}, { speculative: { nDraft: 2, draftDepth: manifest.block_count } });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.value.speculative, undefined);
  assert.match(r.value.speculativeError, /self-speculative decoding is off: /);
});

test('by default (earlyAnswers \'trained\') the shipped model, trained with an exit, answers from its exit once those blocks are in', { timeout: 120_000 }, async () => {
  assert.ok(manifest.exit_layers > 0, 'the shipped manifest records the exit');
  reset({ gate: partEnd(manifest.exit_layers) }); // the head and the blocks up to the exit, then the server holds
  const h = harness();
  const r = await init(h, { earlyAnswers: undefined });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(r.value.partial, 'init answers before the whole model is there');
  // never from the untrained blocks before the exit: the first answer is the exit's
  assert.equal(r.value.partial.depth, manifest.exit_layers, JSON.stringify(r.value.partial));
  assert.equal((await h.call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 1 })).ok, true);
  const c = await h.call('complete', { uri: 'file:///a.py', version: 1, position: END, options: OPTS });
  assert.equal(c.ok, true, JSON.stringify(c));
  assert.equal(c.value.depth, manifest.exit_layers, 'the trained exit answers while the rest downloads');
  release();
  await h.phase('full');
});

test('a manifest that does not fit its own file, or a server with another file, is refused clearly', { timeout: 60_000 }, async () => {
  reset();
  const h = harness();
  const bad = structuredClone(manifest);
  bad.parts[2].offset += 1;
  let r = await init(h, { manifest: bad });
  assert.equal(r.error.code, 'bad_request');
  assert.match(r.error.message, /manifest\.parts\[2\]\.offset must be \d+, where the part before ends/);
  r = await init(h, { sha256: 'ab'.repeat(32) });
  assert.equal(r.error.code, 'bad_request');
  assert.match(r.error.message, /sha256 is not the manifest's/);
  const bigger = structuredClone(manifest);
  bigger.size += 1;
  bigger.parts.at(-1).size += 1;
  r = await init(h, { manifest: bigger });
  assert.equal(r.error.code, 'integrity');
  assert.match(r.error.message, /m\.gguf has \d+ bytes, the manifest says \d+/);
  assert.deepEqual(requests, [null], 'the bad manifests never reached the network');
});
