// Typing-through reuse (wasm/src/reuse.ts) and the shared inline steps on top of it
// (wasm/src/inline.ts), without an engine: each rule of the suggestion cache, with the cases that
// must not reuse, and the completer's engine calls counted on a fake client.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const { SuggestionCache, InlineCompleter, acceptedState, advance, cursorState } = await import(join(root, 'wasm', 'dist', 'node.mjs'));

const URI = 'file:///a.py';
// The state of `text` with the cursor at `|`.
function at(marked, uri = URI) {
  const offset = marked.indexOf('|');
  const text = marked.replace('|', '');
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return cursorState(uri, text, offset, { line: lines.length - 1, character: lines.at(-1).length });
}
// An insertion of `text` at the cursor of state `s`.
const item = (s, text, tail = 0) => ({
  text, startOffset: s.before.length, endOffset: s.before.length + tail, start: s.position, end: advance(s.position, s.after.slice(0, tail)),
});
const texts = (r) => r?.items.map((i) => i.text);
// A cache that holds one suggestion, `text`, made at `marked`.
function remembered(marked, text) {
  const c = new SuggestionCache();
  const s0 = at(marked);
  c.remember(s0, [item(s0, text)]);
  return c;
}

test('typing the start of a suggestion shows the rest, with no new answer', () => {
  const c = remembered('def f(x):\n    return |\n', 'x * 2');
  const r = c.lookup(at('def f(x):\n    return x |\n'));
  assert.deepEqual(texts(r), ['* 2']);
  assert.equal(r.kind, 'typed');
  assert.equal(r.typed, 2);
  assert.deepEqual(r.items[0].start, { line: 1, character: 13 });
  assert.equal(r.items[0].startOffset, 'def f(x):\n    return x '.length);
});

test('a typed character that differs from the suggestion is a miss', () => {
  const c = remembered('return |', 'x * 2');
  assert.equal(c.lookup(at('return y|')), null);
  assert.equal(c.lookup(at('return x+|')), null);
});

test('another document, or a change after the cursor, is a miss', () => {
  const c = remembered('return |\nend', 'x * 2');
  assert.equal(c.lookup(at('return x|\nend', 'file:///b.py')), null);
  assert.equal(c.lookup(at('return x|\nEND')), null);
  assert.equal(c.lookup(at('RETURN x|\nend')), null, 'the text before the typed part must be the same too');
});

test('a state asked for with other options (a changed maxLines) is a miss', () => {
  const c = new SuggestionCache();
  const s0 = { ...at('return |'), variant: '0/1' };
  c.remember(s0, [item(s0, 'x * 2')]);
  assert.equal(c.lookup({ ...at('return x|'), variant: '1/1' }), null);
  assert.deepEqual(texts(c.lookup({ ...at('return x|'), variant: '0/1' })), [' * 2']);
});

test('typing the whole suggestion leaves nothing to show from it', () => {
  const c = remembered('return |', 'x');
  assert.equal(c.lookup(at('return x|')), null);
});

test('deleting back into a suggestion restores it; moving back to where it was made re-shows it whole', () => {
  const c = remembered('return |', 'x * 2');
  assert.deepEqual(texts(c.lookup(at('return x * |'))), ['2']);
  assert.deepEqual(texts(c.lookup(at('return x|'))), [' * 2'], 'after deleting " *"');
  const back = c.lookup(at('return |'));
  assert.deepEqual(texts(back), ['x * 2']);
  assert.equal(back.kind, 'same');
});

test('an LRU of recent suggestions: undo re-shows an older one; the oldest goes first', () => {
  const c = new SuggestionCache(2);
  const a = at('a = |'); c.remember(a, [item(a, '1')]);
  const b = at('a = 1\nb = |'); c.remember(b, [item(b, '2')]);
  assert.deepEqual(texts(c.lookup(a)), ['1'], 'undo back to the first state');
  const d = at('a = 1\nb = 2\nc = |'); c.remember(d, [item(d, '3')]);
  assert.equal(c.size, 2);
  assert.equal(c.lookup(b), null, 'the least recently used one was dropped');
  assert.deepEqual(texts(c.lookup(a)), ['1']);
  c.clear(URI);
  assert.equal(c.size, 0);
});

test('accepting a word or a line of a suggestion keeps the rest', () => {
  const c = remembered('def g():\n    |\n', 'total = 0\n    return total');
  const word = c.lookup(at('def g():\n    total |\n'));
  assert.deepEqual(texts(word), ['= 0\n    return total']);
  const line = c.lookup(at('def g():\n    total = 0\n    |\n'));
  assert.deepEqual(texts(line), ['return total']);
  assert.deepEqual(line.items[0].start, { line: 2, character: 4 });
});

test('an item that replaces text after the cursor keeps replacing it', () => {
  const c = new SuggestionCache();
  const s0 = at('f(|)');
  c.remember(s0, [item(s0, 'a, b)', 1)]);
  const r = c.lookup(at('f(a|)'));
  assert.deepEqual(texts(r), [', b)']);
  assert.equal(r.items[0].endOffset - r.items[0].startOffset, 1);
  assert.deepEqual(r.items[0].end, { line: 0, character: 4 });
});

test('an item whose range starts before the cursor must agree with the text it overwrites', () => {
  const c = new SuggestionCache();
  const s0 = at('ret|');
  c.remember(s0, [{ ...item(s0, 'return x'), startOffset: 0, start: { line: 0, character: 0 } }]);
  assert.deepEqual(texts(c.lookup(at('retu|'))), ['rn x']);
  const c2 = new SuggestionCache();
  c2.remember(s0, [{ ...item(s0, 'yield x'), startOffset: 0, start: { line: 0, character: 0 } }]);
  assert.equal(c2.size, 0, 'a suggestion that disagrees with what is typed is not remembered');
});

test('acceptedState: the document after accepting, and the edit that undoes it', () => {
  const s0 = at('f(|)\nz');
  const acc = acceptedState(s0, item(s0, 'a,\n  b)', 1));
  assert.equal(acc.state.before, 'f(a,\n  b)');
  assert.equal(acc.state.after, '\nz');
  assert.deepEqual(acc.state.position, { line: 1, character: 4 });
  assert.deepEqual(acc.edit, { rangeOffset: 2, rangeLength: 1, text: 'a,\n  b)', removed: ')' });
});

// A fake WispClient: answers `complete` with the suggestion `answer(position)`, and records calls.
function fakeClient(answer) {
  const calls = [];
  const respond = (kind, position, signal, options) => new Promise((resolve) => {
    calls.push({ kind, position, signal, promptTokens: options?.promptTokens });
    setTimeout(() => {
      if (signal?.aborted) return resolve({ ok: false, error: { code: 'cancelled', message: '' } });
      const text = answer(kind, position, options);
      const off = position.offset ?? position.character; // speculative positions: one-line documents here
      const items = text ? [{ text, startOffset: off, endOffset: off, start: position, end: position }] : [];
      resolve({ ok: true, value: { items, mode: 'end_of_line', timings: {} } });
    }, 5);
  });
  return {
    calls,
    complete: (uri, version, position, options, signal) => respond('complete', position, signal, options),
    speculate: (uri, version, position, options, edit, signal) => respond(edit ? 'speculate' : 'prefetch', position, signal, options),
  };
}
const token = () => ({ isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) });
const ready = Promise.resolve(true);
function req(marked, version) {
  const s = at(marked);
  const text = s.before + s.after;
  // The fake client answers at position.offset, so give it one.
  return () => ({ uri: URI, version, position: { ...s.position, offset: s.before.length }, options: { timeBudgetMs: 150 }, text, offset: s.before.length });
}
const settle = () => new Promise((r) => setTimeout(r, 40));

test('InlineCompleter: typing through a suggestion asks the engine once; a differing key asks again', async () => {
  const client = fakeClient((kind) => (kind === 'complete' ? 'x * 2' : null));
  const ic = new InlineCompleter(client, { maxDebounceMs: 0, speculate: false });
  assert.deepEqual((await ic.complete(token(), ready, req('return |', 1))).map((i) => i.text), ['x * 2']);
  assert.deepEqual((await ic.complete(token(), ready, req('return x|', 2))).map((i) => i.text), [' * 2']);
  assert.deepEqual((await ic.complete(token(), ready, req('return x |', 3))).map((i) => i.text), ['* 2']);
  assert.equal(client.calls.length, 1, 'no engine call while the typed characters match');
  assert.equal(ic.counts.typed, 2);
  await ic.complete(token(), ready, req('return x -|', 4));
  assert.equal(client.calls.length, 2, 'a differing character asks the engine');
  assert.equal(ic.counts.engine, 2);
});

test('InlineCompleter: an explicit request (Alt+\\) asks the engine whatever the cache holds', async () => {
  const client = fakeClient((kind) => (kind === 'complete' ? 'x * 2' : null));
  const ic = new InlineCompleter(client, { maxDebounceMs: 0, speculate: false });
  await ic.complete(token(), ready, req('return |', 1));
  const explicit = () => ({ ...req('return |', 1)(), explicit: true });
  await ic.complete(token(), ready, explicit);
  assert.equal(client.calls.length, 2);
  await ic.complete(token(), ready, req('return |', 1));
  assert.equal(client.calls.length, 2, 'an automatic one is served from the cache');
});

test('InlineCompleter: the suggestion after the one shown is computed speculatively and serves the accept', async () => {
  const client = fakeClient((kind) => (kind === 'complete' ? 'total = 0' : kind === 'speculate' ? '\nreturn total' : null));
  const ic = new InlineCompleter(client, { maxDebounceMs: 0, speculativeIdleMs: 10 });
  await ic.complete(token(), ready, req('|', 1));
  await settle();
  assert.deepEqual(client.calls.map((c) => c.kind), ['complete', 'speculate']);
  assert.equal(client.calls[1].position.character, 'total = 0'.length, 'at the end of the accepted suggestion');
  // Tab: the document now holds the suggestion; the next one is there at once.
  const next = await ic.complete(token(), ready, req('total = 0|', 2));
  assert.deepEqual(next.map((i) => i.text), ['\nreturn total']);
  assert.equal(ic.counts.speculative, 1);
  assert.equal(client.calls.filter((c) => c.kind === 'complete').length, 1, 'no engine request for it');
});

test('InlineCompleter: a keystroke that needs the engine cancels the speculative work first', async () => {
  const client = fakeClient((kind) => (kind === 'complete' ? 'abc' : kind === 'speculate' ? 'def' : null));
  const ic = new InlineCompleter(client, { maxDebounceMs: 0 });
  await ic.complete(token(), ready, req('|', 1));
  await new Promise((r) => setTimeout(r, 1)); // the speculation has been sent, not answered
  const spec = client.calls.find((c) => c.kind === 'speculate');
  assert.ok(spec, 'speculation started');
  const p = ic.complete(token(), ready, req('z|', 2));
  assert.equal(spec.signal.aborted, true, 'aborted before the real request goes out');
  await p;
  assert.equal(client.calls.at(-1).kind, 'complete');
});

test('InlineCompleter: prefetch computes the answer at the cursor of a document just opened', async () => {
  // a quick answer from a small prompt first (in the cache as soon as it comes), then the full one
  const client = fakeClient((kind, position, options) => (kind === 'prefetch' ? (options.promptTokens ? 'print(x)' : 'print(x, y)') : null));
  const ic = new InlineCompleter(client, { maxDebounceMs: 0, speculate: false, quickPromptTokens: 200 });
  const cached = [];
  ic.onEvent = (ev) => cached.push(ic.cache.lookup({ ...at('x = 1\n|'), variant: '0/0/1' })?.items[0].text);
  await ic.prefetch(ready, req('x = 1\n|', 1));
  assert.deepEqual(client.calls.map((c) => c.promptTokens), [200, undefined]);
  assert.deepEqual(cached, ['print(x)', 'print(x, y)']);
  const r = await ic.complete(token(), ready, req('x = 1\npr|', 3));
  assert.deepEqual(r.map((i) => i.text), ['int(x, y)']);
  assert.equal(ic.counts.prefetch, 1);
  // the engine worked on this document last: the full prompt at once
  await ic.prefetch(ready, req('x = 1\nprint(x, y)\n|', 4));
  assert.deepEqual(client.calls.map((c) => c.promptTokens), [200, undefined, undefined]);
  // off: the full prompt only
  const c2 = fakeClient((kind) => (kind === 'prefetch' ? 'print(x)' : null));
  await new InlineCompleter(c2, { maxDebounceMs: 0, speculate: false, quickPromptTokens: 0 }).prefetch(ready, req('x = 1\n|', 1));
  assert.deepEqual(c2.calls.map((c) => c.promptTokens), [undefined]);
});

test('InlineCompleter: speculation waits for a pause unless the suggestion is nearly typed', async () => {
  const client = fakeClient((kind) => (kind === 'complete' ? 'value + 1' : kind === 'speculate' ? '\n' : null));
  const ic = new InlineCompleter(client, { maxDebounceMs: 0, speculativeIdleMs: 30, speculativeNearEnd: 4 });
  await ic.complete(token(), ready, req('x = |', 1));
  await new Promise((r) => setTimeout(r, 10));
  await ic.complete(token(), ready, req('x = va|', 2)); // typed through before the pause ended
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(client.calls.map((c) => c.kind), ['complete'], 'no speculation while typing on');
  await ic.complete(token(), ready, req('x = value |', 3)); // 3 characters left: at once
  await new Promise((r) => setTimeout(r, 2));
  assert.deepEqual(client.calls.map((c) => c.kind), ['complete', 'speculate']);
});

test('InlineCompleter: a prefetch after the cursor moved waits for a pause; a keystroke first cancels it', async () => {
  const client = fakeClient((kind) => (kind === 'prefetch' ? 'print(x)' : kind === 'complete' ? 'y' : null));
  const ic = new InlineCompleter(client, { maxDebounceMs: 0, speculate: false });
  const p = ic.prefetch(ready, req('x = 1\n|', 1), 30);
  await ic.complete(token(), ready, req('x = 1\nz|', 2));
  await p;
  assert.deepEqual(client.calls.map((c) => c.kind), ['complete'], 'the keystroke came before the pause ended');
  await ic.prefetch(ready, req('x = 1\nz\n|', 3), 10);
  assert.deepEqual(client.calls.map((c) => c.kind), ['complete', 'prefetch']);
});
