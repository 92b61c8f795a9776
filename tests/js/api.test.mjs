// Tests of the WebAssembly package's JS API under Node: the worker host (queue, cancellation,
// typed errors, trap recovery) and the client (document resync), over the real wisp.wasm and a
// real GGUF model. Run by scripts/test-js.sh (node --test tests/js/).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const modelPath = process.env.WISP_TEST_MODEL || join(root, 'fixtures', 'reference', 'qwen2.gguf');
const model = readFileSync(modelPath);

const copy = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);

// A host wired to an in-memory "port": what the worker would post comes back through `messages`.
function makeHost(factory = createWisp) {
  const messages = [];
  const waiters = new Map();
  const host = new api.Host(factory, (msg) => {
    messages.push(msg);
    if (msg.type === 'response' && waiters.has(msg.id)) waiters.get(msg.id)(msg.result);
  });
  let id = 0;
  const send = (type, params) => {
    const rid = ++id;
    const p = new Promise((resolve) => waiters.set(rid, resolve));
    host.receive({ id: rid, type, params });
    return { id: rid, result: p };
  };
  const call = (type, params) => send(type, params).result;
  return { host, messages, send, call };
}

// A WispClient talking to a host in the same thread, as it would talk to a Worker.
function makeClient(factory, source) {
  const listeners = [];
  const host = new api.Host(factory, (msg) => { for (const fn of listeners) fn({ data: msg }); });
  const port = {
    postMessage: (msg) => host.receive(msg),
    addEventListener: (type, fn) => { if (type === 'message') listeners.push(fn); },
  };
  return new api.WispClient(port, source);
}

async function readyHost(factory) {
  const h = makeHost(factory);
  const r = await h.call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
  assert.equal(r.ok, true, JSON.stringify(r));
  return { ...h, info: r.value };
}

const PY = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return ';

test('init reports the engine, the model hash and the heap', async () => {
  const { info } = await readyHost();
  assert.match(info.version, /^wisp /);
  const expected = (await import('node:crypto')).createHash('sha256').update(model).digest('hex');
  assert.equal(info.modelSha256, expected);
  assert.equal(info.modelBytes, model.length);
  assert.equal(info.modelFromCache, false);
  assert.ok(info.heapBytes >= model.length, `heap ${info.heapBytes} holds the model`);
});

test('open, edit and complete: items come back with UTF-16 ranges at the cursor', async () => {
  const { call } = await readyHost();
  // Non-ASCII before the cursor makes UTF-8 and UTF-16 offsets differ (é: 2 bytes, 😀: 4 bytes / 2 units).
  const text = '# café 😀\n' + PY;
  assert.deepEqual(await call('open', { uri: 'file:///a.py', languageId: 'python', text, version: 1 }), { ok: true, value: null });
  const lines = text.split('\n');
  const pos = { line: lines.length - 1, character: lines.at(-1).length };
  const r = await call('complete', { uri: 'file:///a.py', version: 1, position: pos, options: { maxTokens: 8, nCandidates: 2 } });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(typeof r.value.mode, 'string');
  assert.ok(r.value.timings.engineMs > 0);
  for (const it of r.value.items) {
    assert.ok(it.text.length > 0);
    assert.equal(it.startOffset, text.length, 'an insertion at the cursor, in UTF-16 units');
    assert.deepEqual(it.start, pos);
    assert.ok(it.endOffset >= it.startOffset);
    // The engine's confidence (remote.ts compares exp of it to wisp.endpoint.minConfidence): a
    // mean log-probability, below 0 for any real model's answer, and a finite one.
    assert.ok(Number.isFinite(it.meanLogprob) && it.meanLogprob < 0 && it.meanLogprob > -40, `meanLogprob ${it.meanLogprob}`);
  }
  // An edit (insert "x" right after the emoji) moves nothing before it and keeps the doc in step.
  const emojiEnd = text.indexOf('😀') + 2;
  assert.deepEqual(await call('edit', { uri: 'file:///a.py', version: 2, changes: [{ rangeOffset: emojiEnd, rangeLength: 0, text: 'x' }] }), { ok: true, value: null });
  const r2 = await call('complete', { uri: 'file:///a.py', version: 2, position: pos, options: { maxTokens: 4 } });
  assert.equal(r2.ok, true, JSON.stringify(r2));
  for (const it of r2.value.items) assert.equal(it.startOffset, text.length + 1);
  let st = await call('stats', {});
  assert.equal(st.value.edits, 1);
  assert.equal(st.value.resyncs, 0);
  // Reopening an open document replaces its text (the client's resync path).
  assert.equal((await call('open', { uri: 'file:///a.py', languageId: 'python', text: PY, version: 9 })).ok, true);
  st = await call('stats', {});
  assert.equal(st.value.resyncs, 1);
  assert.equal(st.value.openDocs, 1);
  const r3 = await call('complete', { uri: 'file:///a.py', version: 9, position: { line: 5, character: 11 }, options: { maxTokens: 4 } });
  assert.equal(r3.ok, true);
  for (const it of r3.value.items) assert.equal(it.startOffset, PY.length);
});

test('warm prepares languages ahead of the first completion', async () => {
  const { call } = await readyHost();
  assert.deepEqual(await call('warm', { languageIds: ['python', 'typescriptreact', 'c'] }), { ok: true, value: null });
  const r = await call('warm', { languageIds: ['cobol'] });
  assert.equal(r.ok, false);
  assert.equal(r.error.engineStatus, 'unknown language');
  assert.match(r.error.message, /cobol/);
  assert.equal((await call('stats', {})).value.openDocs, 0, 'the scratch document is gone');
});

test('typed errors: unknown document, stale versions, bad positions, bad models', async () => {
  const { call } = await readyHost();
  let r = await call('complete', { uri: 'file:///nope.py', version: 1, position: { line: 0, character: 0 }, options: {} });
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'no_document');
  await call('open', { uri: 'file:///b.py', languageId: 'python', text: 'x = 1\n', version: 5 });
  r = await call('edit', { uri: 'file:///b.py', version: 7, changes: [{ rangeOffset: 0, rangeLength: 0, text: 'y' }] });
  assert.equal(r.error.code, 'stale', 'a skipped version is detected');
  r = await call('complete', { uri: 'file:///b.py', version: 4, position: { line: 0, character: 0 }, options: {} });
  assert.equal(r.error.code, 'stale');
  r = await call('complete', { uri: 'file:///b.py', version: 5, position: { line: 9, character: 0 }, options: {} });
  assert.equal(r.error.code, 'engine');
  assert.equal(r.error.engineStatus, 'out of range');
  r = await call('edit', { uri: 'file:///b.py', version: 6, changes: [{ rangeOffset: 100, rangeLength: 0, text: 'y' }] });
  assert.equal(r.ok, false, 'an edit past the end fails');

  const bad = makeHost();
  const junk = new Uint8Array(4096).fill(7);
  r = await bad.call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: junk.buffer } });
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'engine');
  assert.equal(r.error.engineStatus, 'bad model');
  r = await bad.call('stats', {});
  assert.equal(r.ok, true, 'the host survives a failed init');
  r = await bad.call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model), sha256: '00'.repeat(32) } });
  assert.equal(r.error.code, 'integrity');
  r = await bad.call('init', { wasmBytes: new Uint8Array([0, 97, 115, 109, 9, 9]).buffer, model: { kind: 'bytes', bytes: copy(model) } });
  assert.equal(r.ok, false, 'a broken wasm is an answer, not a hang');
  assert.equal(r.error.code, 'download');
  assert.match(r.error.message, /wisp\.wasm/);
});

test('a newer completion cancels older queued ones; cancel drops a queued request', async () => {
  const { send, call, host } = await readyHost();
  await call('open', { uri: 'file:///c.py', languageId: 'python', text: PY, version: 1 });
  const pos = { line: 5, character: 11 };
  const params = { uri: 'file:///c.py', version: 1, position: pos, options: { maxTokens: 4 } };
  // The first request starts at once (the host is idle); the next ones arrive while it holds the
  // engine, so they queue: the third supersedes the second, and the stats request is cancelled.
  const first = send('complete', params);
  const second = send('complete', params);
  const third = send('complete', params);
  const fourth = send('stats', {});
  host.receive({ id: fourth.id, type: 'cancel' });
  const [r1, r2, r3, r4] = await Promise.all([first.result, second.result, third.result, fourth.result]);
  assert.equal(r1.ok, true, 'the running request completes');
  assert.equal(r2.ok, false);
  assert.equal(r2.error.code, 'cancelled');
  assert.match(r2.error.message, /superseded/);
  assert.equal(r3.ok, true, 'the newest request runs');
  assert.equal(r4.ok, false);
  assert.equal(r4.error.code, 'cancelled');
});

test('a trap restarts the instance; the client reopens its documents and retries', async () => {
  let trapsLeft = 1;
  const factory = async (opts) => {
    const m = await createWisp(opts);
    const real = m._wisp_js_complete;
    m._wisp_js_complete = (...args) => {
      if (trapsLeft-- > 0) throw new WebAssembly.RuntimeError('unreachable executed');
      return real(...args);
    };
    return m;
  };
  const { call } = await readyHost(factory);
  await call('open', { uri: 'file:///d.py', languageId: 'python', text: PY, version: 1 });
  const params = { uri: 'file:///d.py', version: 1, position: { line: 5, character: 11 }, options: { maxTokens: 4 } };
  let r = await call('complete', params);
  assert.equal(r.error.code, 'trap');
  r = await call('complete', params);
  assert.equal(r.error.code, 'no_document', 'the new instance has no documents');
  r = await call('stats', {});
  assert.equal(r.value.restarts, 1);

  // Through the client, the same situation heals itself.
  trapsLeft = 1;
  const doc = { text: PY, version: 1, languageId: 'python' };
  const client = makeClient(factory, (uri) => (uri === 'file:///e.py' ? doc : undefined));
  const init = await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
  assert.equal(init.ok, true);
  r = await client.complete('file:///e.py', 1, { line: 5, character: 11 }, { maxTokens: 4 });
  assert.equal(r.error.code, 'trap');
  r = await client.complete('file:///e.py', 1, { line: 5, character: 11 }, { maxTokens: 4 });
  assert.equal(r.ok, true, JSON.stringify(r));
});

test('an aborted signal cancels through the client', async () => {
  const client = makeClient(createWisp, () => ({ text: PY, version: 1, languageId: 'python' }));
  assert.equal((await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } })).ok, true);
  const ac = new AbortController();
  const pending = client.complete('file:///f.py', 1, { line: 5, character: 11 }, {}, ac.signal);
  ac.abort();
  const r = await pending;
  assert.equal(r.ok, false);
  assert.equal(r.error.code, 'cancelled');
});

test('adaptive debounce: the floor while completions fit between requests, their cost when not', async () => {
  const d = new api.AdaptiveDebounce(0, 75, 30);
  // Requests 100 ms apart, completions of 20 ms: nothing to wait for.
  for (let i = 0; i < 5; i++) { d.record(20); await d.wait(); await new Promise((r) => setTimeout(r, 100)); }
  assert.equal(d.delayMs, 0);
  // Completions of 400 ms cannot keep up with typing: wait, at most the ceiling.
  for (let i = 0; i < 20; i++) d.record(400);
  assert.equal(d.delayMs, 75);
  // 60 ms completions with requests every ~10 ms: wait about the cost.
  const gone = AbortSignal.abort();
  for (let i = 0; i < 20; i++) { d.record(60); await d.wait(gone); }
  assert.ok(d.delayMs > 50 && d.delayMs <= 75, String(d.delayMs));
  const ac = new AbortController();
  const p = d.wait(ac.signal);
  ac.abort();
  assert.equal(await p, false, 'an abort ends the wait');
});

test('adaptive time budget: cut to the typing pace from the second key of a burst, minus the time already spent', async () => {
  const d = new api.AdaptiveDebounce(0, 75, 30);
  d.note(); // the first key after a pause: nothing says the user types fast
  assert.equal(d.budgetMs(150, 0), 150);
  await new Promise((r) => setTimeout(r, 100));
  d.note(); // 100 ms later
  const b = d.budgetMs(150, 0);
  assert.ok(b >= 40 && b <= 0.7 * 130, String(b));
  assert.equal(d.budgetMs(150, 20), Math.max(40, b - 20));
  assert.equal(d.budgetMs(150, 500), 40, 'never below the floor');
  assert.equal(d.budgetMs(0, 0), 0, 'no budget stays none');
});

test('a model URL streams with progress and is checked against its SHA-256', async () => {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url !== '/m.gguf') { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'content-length': model.length });
    res.end(model);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/m.gguf`;
  try {
    const events = [];
    const got = await api.loadModel({ kind: 'url', url }, (ev) => events.push(ev));
    assert.equal(got.bytes.length, model.length);
    assert.ok(Buffer.from(got.bytes).equals(model));
    const dl = events.filter((e) => e.phase === 'download');
    assert.ok(dl.length >= 1 && dl.at(-1).loaded === model.length && dl.at(-1).total === model.length);
    await assert.rejects(api.loadModel({ kind: 'url', url, sha256: 'ab'.repeat(32) }, () => {}), (e) => e.code === 'integrity');
    await assert.rejects(api.loadModel({ kind: 'url', url: url + '.missing' }, () => {}), (e) => e.code === 'download' && /404/.test(e.message));
  } finally {
    server.close();
  }
});

test('a request cut by its time budget during prefill is continued until the model answers', async () => {
  // A long document: its prompt needs several prefill batches, more than 1 ms allows.
  const body = Array.from({ length: 60 }, (_, i) => `def f${i}(a, b):\n    return a * ${i} + b\n`).join('\n');
  const text = body + '\n\ndef g(x):\n    return ';
  const doc = { text, version: 1, languageId: 'python' };
  const listeners = [];
  let completes = 0;
  const host = new api.Host(createWisp, (msg) => { for (const fn of listeners) fn({ data: msg }); });
  const port = {
    postMessage: (msg) => { if (msg.type === 'complete') completes++; host.receive(msg); },
    addEventListener: (type, fn) => { if (type === 'message') listeners.push(fn); },
  };
  const client = new api.WispClient(port, () => doc);
  assert.equal((await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } })).ok, true);
  const lines = text.split('\n');
  const r = await client.complete('file:///long.py', 1, { line: lines.length - 1, character: lines.at(-1).length }, { timeBudgetMs: 1, maxTokens: 4 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(completes > 1, `the request was continued (${completes} requests)`);
  assert.ok(r.value.timings.reusedTokens > 0, 'the continuation reused the prefilled tokens');
  assert.ok(r.value.timings.promptTokens > 200);
});

test('a request cut by its time budget while decoding, with nothing to show, is continued with more time', async () => {
  // The shipped model: the test model is too small for a time budget to cut anything.
  const shipped = readFileSync(join(root, 'models', 'wisp-default.gguf'));
  const doc = { text: PY, version: 1, languageId: 'python' };
  const listeners = [];
  const budgets = [];
  const host = new api.Host(createWisp, (msg) => { for (const fn of listeners) fn({ data: msg }); });
  const port = {
    postMessage: (msg) => { if (msg.type === 'complete') budgets.push(msg.params.options.timeBudgetMs); host.receive(msg); },
    addEventListener: (type, fn) => { if (type === 'message') listeners.push(fn); },
  };
  const client = new api.WispClient(port, () => doc);
  assert.equal((await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(shipped) } })).ok, true);
  const end = { line: 5, character: 11 };
  // The prompt in the KV cache first: what follows is decoding only.
  assert.equal((await client.complete('file:///d.py', 1, end, { maxTokens: 4 })).ok, true);
  budgets.length = 0;
  const r = await client.complete('file:///d.py', 1, end, { timeBudgetMs: 0.01, maxTokens: 4 });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.ok(r.value.items.length > 0, `an answer in the end (${JSON.stringify(budgets)})`);
  assert.ok(budgets.length > 1, `the request was continued (${JSON.stringify(budgets)})`);
  for (let i = 1; i < budgets.length; i++) assert.equal(budgets[i], 2 * budgets[i - 1], `each piece twice as long: ${JSON.stringify(budgets)}`);
});

test('speculate: completes as if a suggestion were accepted, then leaves the document as it was', async () => {
  const { call } = await readyHost();
  await call('open', { uri: 'file:///s.py', languageId: 'python', text: PY, version: 1 });
  const accepted = 'a * b\n\n\ndef sub(a, b):\n    return ';
  const lines = (PY + accepted).split('\n');
  const pos = { line: lines.length - 1, character: lines.at(-1).length };
  const edit = { rangeOffset: PY.length, rangeLength: 0, text: accepted, removed: '' };
  const spec = await call('speculate', { uri: 'file:///s.py', version: 1, position: pos, options: { maxTokens: 6 }, edit });
  assert.equal(spec.ok, true, JSON.stringify(spec));
  for (const it of spec.value.items) assert.equal(it.startOffset, PY.length + accepted.length, 'at the end of the accepted text');
  // The speculative document is back to PY: a completion at its end sees PY's cursor, and
  // version 2 follows version 1 (the edit was not counted).
  const end = { line: 5, character: 11 };
  const r = await call('complete', { uri: 'file:///s.py', version: 1, position: end, options: { maxTokens: 4 } });
  assert.equal(r.ok, true, JSON.stringify(r));
  for (const it of r.value.items) assert.equal(it.startOffset, PY.length);
  assert.equal((await call('stats', {})).value.edits, 0);
  // Without an edit: a completion at the cursor (a prefill).
  const pre = await call('speculate', { uri: 'file:///s.py', version: 1, position: end, options: { maxTokens: 4 } });
  assert.equal(pre.ok, true);
  const stale = await call('speculate', { uri: 'file:///s.py', version: 0, position: end, options: {} });
  assert.equal(stale.error.code, 'stale');
  // The same cursor of a document that really holds the text (same file name, nothing else
  // open): the same answer.
  await call('close', { uri: 'file:///s.py' });
  await call('open', { uri: 'file:///other/s.py', languageId: 'python', text: PY + accepted, version: 1 });
  const real = await call('complete', { uri: 'file:///other/s.py', version: 1, position: pos, options: { maxTokens: 6 } });
  assert.deepEqual(real.value.items.map((i) => i.text), spec.value.items.map((i) => i.text));
});

test('speculative work waiting in the queue is dropped by any later request, never by a stats call', async () => {
  const { call, send } = await readyHost();
  await call('open', { uri: 'file:///q.py', languageId: 'python', text: PY, version: 1 });
  const pos = { line: 5, character: 11 };
  const first = send('complete', { uri: 'file:///q.py', version: 1, position: pos, options: { maxTokens: 4 } });
  const spec = send('speculate', { uri: 'file:///q.py', version: 1, position: pos, options: { maxTokens: 4 } });
  const stats = send('stats', {});
  const spec2 = send('speculate', { uri: 'file:///q.py', version: 1, position: pos, options: { maxTokens: 4 } });
  const edit = send('edit', { uri: 'file:///q.py', version: 2, changes: [{ rangeOffset: PY.length, rangeLength: 0, text: 'a' }] });
  assert.equal((await spec.result).error.code, 'cancelled', 'superseded by the newer speculative request');
  assert.equal((await spec2.result).error.code, 'cancelled', 'dropped by the keystroke');
  assert.equal((await first.result).ok, true);
  assert.equal((await stats.result).ok, true);
  assert.equal((await edit.result).ok, true);
});
