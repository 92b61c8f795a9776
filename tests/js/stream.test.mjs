// Streaming the first line of a block (CompleteOptions.partial, the protocol's PartialMessage,
// WispClient.complete's onPartial, the InlineCompleter's first line then whole answer) over the
// real wisp.wasm and the shipped model (models/wisp-default.gguf: its block answers have several
// lines, where the reference models' noise may have none). The worker runs as the real bundle
// in a worker_threads thread where the timing matters: its partial message must reach this
// thread while the engine call that posts it still runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { threadWorker } from './harness.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const model = readFileSync(join(root, 'models', 'wisp-default.gguf'));
const bundle = join(root, 'wasm', 'dist', 'wisp-worker.js');
const copy = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);

// Empty bodies the shipped model fills with several lines; "@@" is the cursor. Non-ASCII before
// it makes UTF-8 and UTF-16 offsets differ (é: 2 bytes, 😀: 4 bytes / 2 units).
const BLOCKS = {
  'sum.js': ['javascript', '// café 😀 totals\nfunction sumOfSquares(values) {\n  let total = 0;\n  @@\n}\n\nmodule.exports = { sumOfSquares };\n'],
  'stats.py': ['python', '# café 😀\ndef mean_and_max(values):\n    total = 0\n    largest = None\n    @@\n\n\nprint(mean_and_max([1, 2, 3]))\n'],
  'count.c': ['c', '/* café 😀 */\n#include <stdio.h>\n\nint count_lines(FILE *f) {\n    int n = 0, c;\n    @@\n}\n'],
};

// The text without its marker, the cursor's UTF-16 offset and position.
function marked(src) {
  const offset = src.indexOf('@@');
  const text = src.replace('@@', '');
  const lines = text.slice(0, offset).split('\n');
  return { text, offset, position: { line: lines.length - 1, character: lines.at(-1).length } };
}

// The final answer begins with the streamed line, then a line break (after blanks it may keep).
function continues(finalText, first) {
  assert.ok(finalText.startsWith(first), `${JSON.stringify(finalText)} begins with ${JSON.stringify(first)}`);
  assert.match(finalText.slice(first.length), /^[ \t]*\r?\n\S*/, 'and goes on on the next line');
}

// The worker's Host in this thread, every message it posts kept in order.
async function readyHost() {
  const messages = [];
  const waiters = new Map();
  const host = new api.Host(createWisp, (msg) => {
    messages.push(msg);
    if (msg.type === 'response') waiters.get(msg.id)?.(msg.result);
  });
  let id = 0;
  const send = (type, params) => {
    const rid = ++id;
    const result = new Promise((resolve) => waiters.set(rid, resolve));
    host.receive({ id: rid, type, params });
    return { id: rid, result };
  };
  const init = await send('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } }).result;
  assert.equal(init.ok, true, JSON.stringify(init));
  for (const [name, [languageId, src]] of Object.entries(BLOCKS)) {
    const r = await send('open', { uri: `file:///${name}`, languageId, text: marked(src).text, version: 1 }).result;
    assert.equal(r.ok, true, JSON.stringify(r));
  }
  return { messages, send };
}

test('worker: one partial message per block, before the answer: the first line, at the cursor in UTF-16 units', { timeout: 120_000 }, async () => {
  const { messages, send } = await readyHost();
  for (const [name, [, src]] of Object.entries(BLOCKS)) {
    const { position, offset } = marked(src);
    const params = { uri: `file:///${name}`, version: 1, position, options: { partial: true } };
    messages.length = 0;
    const { id, result } = send('complete', params);
    const r = await result;
    assert.equal(r.ok, true, JSON.stringify(r));
    const mine = messages.filter((m) => m.id === id);
    assert.deepEqual(mine.map((m) => m.type), ['partial', 'response'], `${name}: the first line, then the answer`);
    const { item } = mine[0];
    assert.ok(item.text.length > 0 && !item.text.includes('\n') && item.text.trim() === item.text.trimEnd(), `${name}: ${JSON.stringify(item.text)}`);
    assert.ok(r.value.items.length > 0);
    continues(r.value.items[0].text, item.text);
    assert.deepEqual({ ...item, text: '' }, { text: '', startOffset: offset, endOffset: offset, start: position, end: position }, `${name}: an insertion at the cursor, no confidence yet`);
    assert.equal(r.value.items[0].startOffset, offset);
    // without the option: the same answer, and nothing before it
    messages.length = 0;
    const plain = send('complete', { ...params, options: {} });
    const p = await plain.result;
    assert.deepEqual(p.value.items.map((i) => i.text), r.value.items.map((i) => i.text), `${name}: streaming changes no answer`);
    assert.deepEqual(messages.filter((m) => m.id === plain.id).map((m) => m.type), ['response']);
  }
});

test('worker: no partial message in a comment (mode none), for a one-line cursor, for speculate, and a non-boolean option is refused', { timeout: 120_000 }, async () => {
  const { messages, send } = await readyHost();
  const cases = [
    ['comment.py', 'python', 'def f():\n    # compute the @@\n    pass\n', 'none'],
    ['mid.py', 'python', 'def area(w, h):\n    return w@@ * h\n', null],
    ['line.js', 'javascript', 'const total = values.map((v) => v * v)@@\n', null],
  ];
  for (const [name, languageId, src, mode] of cases) {
    const { text, position } = marked(src);
    assert.equal((await send('open', { uri: `file:///${name}`, languageId, text, version: 1 }).result).ok, true);
    messages.length = 0;
    const { id, result } = send('complete', { uri: `file:///${name}`, version: 1, position, options: { partial: true } });
    const r = await result;
    assert.equal(r.ok, true, JSON.stringify(r));
    if (mode) assert.equal(r.value.mode, mode);
    assert.ok(r.value.items.every((i) => !i.text.includes('\n')), `${name}: one line`);
    assert.deepEqual(messages.filter((m) => m.id === id).map((m) => m.type), ['response'], name);
  }
  const { position } = marked(BLOCKS['sum.js'][1]);
  messages.length = 0;
  const spec = send('speculate', { uri: 'file:///sum.js', version: 1, position, options: { partial: true } });
  const s = await spec.result;
  assert.equal(s.ok, true, JSON.stringify(s));
  assert.ok(s.value.items[0]?.text.includes('\n'), 'a block answer');
  assert.deepEqual(messages.filter((m) => m.id === spec.id).map((m) => m.type), ['response'], 'idle-time work streams nothing');
  const bad = await send('complete', { uri: 'file:///sum.js', version: 1, position, options: { partial: 'yes' } }).result;
  assert.equal(bad.ok, false);
  assert.equal(bad.error.code, 'bad_request');
  assert.match(bad.error.message, /options\.partial must be a boolean/);
});

// ---- Through a real worker thread: the client, then the inline steps ---------------------------

let worker = null;
let client = null;
const docs = new Map();

before(async () => {
  worker = threadWorker(bundle);
  client = new api.WispClient(worker, (uri) => docs.get(uri));
  const init = await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
  assert.equal(init.ok, true, JSON.stringify(init));
});

after(async () => {
  client?.dispose();
  await worker?.thread.terminate();
});

function openDoc(name, version = 1) {
  const [languageId, src] = BLOCKS[name];
  const m = marked(src);
  const uri = `file:///thread/${version}/${name}`;
  docs.set(uri, { text: m.text, version, languageId });
  return { uri, ...m };
}

test('client: onPartial gets the first line while the worker is still in the engine call, then the promise the answer', { timeout: 120_000 }, async () => {
  for (const name of Object.keys(BLOCKS)) {
    const { uri, position } = openDoc(name);
    const t0 = performance.now();
    const firsts = [];
    let resolvedAt = 0;
    const r = await client.complete(uri, 1, position, {}, undefined, {
      onPartial: (item) => firsts.push({ item, at: performance.now(), answered: resolvedAt > 0 }),
    }).then((x) => { resolvedAt = performance.now(); return x; });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(firsts.length, 1, `${name}: one first line`);
    assert.equal(firsts[0].answered, false, `${name}: before the answer`);
    continues(r.value.items[0].text, firsts[0].item.text);
    // Posted from inside the engine call, it arrived as the call went on: the engine's own time
    // after it (decoding the other lines, trimming) separates the two messages.
    assert.ok(firsts[0].at < resolvedAt, `${name}: ${(firsts[0].at - t0).toFixed(1)} ms < ${(resolvedAt - t0).toFixed(1)} ms`);
    // the same request again without onPartial: the same answer
    const plain = await client.complete(uri, 1, position, {});
    assert.deepEqual(plain.value.items.map((i) => i.text), r.value.items.map((i) => i.text));
  }
  // an aborted request's first line is never delivered
  const { uri, position } = openDoc('count.c', 2);
  const ac = new AbortController();
  let late = 0;
  const aborted = client.complete(uri, 2, position, {}, ac.signal, { onPartial: () => late++ });
  queueMicrotask(() => ac.abort());
  assert.equal((await aborted).ok, false);
  await client.complete(uri, 2, position, {}); // the worker has finished whatever it ran
  assert.equal(late, 0);
});

const token = () => ({ isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) });
const ready = Promise.resolve(true);

test('InlineCompleter: the first line at once, then the whole answer through onRefresh with no second engine request', { timeout: 120_000 }, async () => {
  const { uri, text, offset, position } = openDoc('count.c', 3);
  const ic = new api.InlineCompleter(client, { maxDebounceMs: 0, speculate: false });
  const request = () => ({ uri, version: 3, position, options: {}, text, offset });
  let refreshed;
  const refresh = new Promise((resolve) => { refreshed = resolve; });
  let whole = null;
  const hooks = { onRefresh: () => refreshed(), onDone: (_ms, result) => { whole = result; } };
  const first = await ic.complete(token(), ready, request, hooks);
  assert.equal(first.length, 1);
  assert.equal(whole, null, 'shown before the answer came');
  assert.ok(!first[0].text.includes('\n'), JSON.stringify(first[0].text));
  assert.equal(ic.counts.partial, 1);
  await refresh;
  assert.ok(whole && whole.items[0].text.includes('\n'));
  const sent = client.sent.complete;
  // the editor asks again (its trigger command: an explicit request): the whole answer at once
  const again = await ic.complete(token(), ready, () => ({ ...request(), explicit: true }), hooks);
  assert.deepEqual(again.map((i) => i.text), whole.items.map((i) => i.text));
  continues(again[0].text, first[0].text);
  assert.equal(ic.counts.full, 1);
  assert.equal(client.sent.complete, sent, 'no engine request for it');
  // and the cache holds the whole answer for this state from now on
  const later = await ic.complete(token(), ready, request, hooks);
  assert.deepEqual(later.map((i) => i.text), whole.items.map((i) => i.text));
  assert.equal(ic.counts.same, 1);
});

test('InlineCompleter: typing through the first line while the rest decodes, then through the whole answer once it came', { timeout: 120_000 }, async () => {
  const doc = openDoc('sum.js', 4);
  const ic = new api.InlineCompleter(client, { maxDebounceMs: 0, speculate: false });
  let state = { text: doc.text, offset: doc.offset, position: doc.position, version: 4 };
  const request = () => ({ uri: doc.uri, version: state.version, position: state.position, options: {}, text: state.text, offset: state.offset });
  let refreshes = 0;
  let answered;
  const answer = new Promise((resolve) => { answered = resolve; });
  const hooks = { onRefresh: () => refreshes++, onDone: (_ms, result) => answered(result) };
  const first = await ic.complete(token(), ready, request, hooks);
  assert.equal(first.length, 1);
  const line = first[0].text;
  assert.ok(!line.includes('\n'), `the first line alone: ${JSON.stringify(line)}`);
  // the user types the first two characters of the line shown, before the answer comes
  const typed = line.slice(0, 2);
  state = {
    text: doc.text.slice(0, doc.offset) + typed + doc.text.slice(doc.offset), offset: doc.offset + 2,
    position: { line: doc.position.line, character: doc.position.character + 2 }, version: 5,
  };
  docs.set(doc.uri, { text: state.text, version: 5, languageId: 'javascript' });
  void client.edit(doc.uri, 5, [{ rangeOffset: doc.offset, rangeLength: 0, text: typed }]);
  const during = await ic.complete(token(), ready, request, hooks);
  assert.deepEqual(during.map((i) => i.text), [line.slice(2)], 'the rest of the first line, from the cache');
  const result = await answer;
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(refreshes, 0, 'the text changed: no refresh');
  // the next keystroke types through the whole answer, the newer one
  const after3 = line.slice(0, 3);
  state = {
    text: doc.text.slice(0, doc.offset) + after3 + doc.text.slice(doc.offset), offset: doc.offset + 3,
    position: { line: doc.position.line, character: doc.position.character + 3 }, version: 6,
  };
  docs.set(doc.uri, { text: state.text, version: 6, languageId: 'javascript' });
  void client.edit(doc.uri, 6, [{ rangeOffset: doc.offset + 2, rangeLength: 0, text: line[2] }]);
  const next = await ic.complete(token(), ready, request, hooks);
  assert.deepEqual(next.map((i) => i.text), [result.items[0].text.slice(3)]);
  assert.ok(next[0].text.includes('\n'), 'the rest of the whole answer, lines after the first included');
  assert.equal(ic.counts.engine, 1, 'one engine request for the three keystrokes');
  assert.equal(ic.counts.typed, 2);
});
