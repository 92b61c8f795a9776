// The worker protocol under abuse, over the real wisp.wasm and a real model (the worker's Host
// driven as a Worker would drive it, and a WispClient in front of it): random, reordered,
// duplicated, truncated and oversized messages; versions that skip or go back; completions for
// closed documents; cancellations racing answers. Every request must end in exactly one typed
// error or a correct answer, the worker must keep answering, and after every sequence the worker's
// copy of each document must be the editor's text (lone UTF-16 surrogates read back as U+FFFD).
// Randomness is seeded: a failure names its seed.
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
const model = readFileSync(process.env.WISP_TEST_MODEL || join(root, 'fixtures', 'reference', 'qwen2.gguf'));
const copy = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
const CODES = new Set(['cancelled', 'stale', 'not_ready', 'no_document', 'bad_request', 'download', 'integrity', 'engine', 'trap', 'worker', 'internal']);
const SEEDS = Number(process.env.WISP_ABUSE_SEEDS || 3);

// xorshift32: the same sequence for the same seed.
function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (a) => a[Math.floor(next() * a.length)] };
}

// Pieces of text an editor can hold: code, Unicode, emoji (surrogate pairs), CRLF, NULs, a lone
// surrogate (from a broken paste), long lines.
const PIECES = ['def f(a, b):\n', '    return a + b\n', 'x = 1\r\n', 'é', '😀', '\u0000', '\ud800', '\udc00', 'if x:\n    ',
  '"""doc', ')', '\t', '\n', 'const s = `${a}`;\n', 'Ω≈ç√', 'a'.repeat(300)];
const textOf = (r, n) => Array.from({ length: n }, () => r.pick(PIECES)).join('');

// A Host wired to an in-memory port. Every answer is recorded; `call` resolves with the answer.
function harness() {
  const answers = new Map(); // id -> results (must end with exactly one each)
  const waiters = new Map();
  const host = new api.Host(createWisp, (msg) => {
    if (msg.type !== 'response') return;
    if (!answers.has(msg.id)) answers.set(msg.id, []);
    answers.get(msg.id).push(msg.result);
    waiters.get(msg.id)?.(msg.result);
    waiters.delete(msg.id);
  });
  let id = 1000;
  const sent = [];
  const raw = (msg) => {
    const p = msg && typeof msg === 'object' && typeof msg.id === 'number' ? new Promise((res) => waiters.set(msg.id, res)) : null;
    if (p) sent.push(msg.id);
    host.receive(msg);
    return p;
  };
  const call = (type, params) => raw({ id: ++id, type, params });
  const nextId = () => ++id;
  // Every id sent got exactly one answer, each a well-formed Result.
  const audit = () => {
    for (const i of sent) {
      const a = answers.get(i) ?? [];
      assert.equal(a.length, 1, `request ${i} got ${a.length} answers`);
      const r = a[0];
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) {
        assert.ok(CODES.has(r.error.code), `unknown error code ${r.error.code}`);
        assert.ok(typeof r.error.message === 'string' && r.error.message.length > 0, 'an error says why');
      }
    }
  };
  return { host, raw, call, nextId, audit, answers };
}

async function ready() {
  const h = harness();
  const r = await h.call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
  assert.equal(r.ok, true, JSON.stringify(r));
  return h;
}

// What the worker must hold for the editor's text `t`.
const held = (t) => t.toWellFormed();

// The editor's state of each document, and the worker's expected copy.
async function expectSynced(h, docs, where) {
  for (const [uri, d] of docs) {
    const r = await h.call('text', { uri });
    assert.equal(r.ok, true, `${where}: ${uri}: ${JSON.stringify(r)}`);
    assert.equal(r.value.text, held(d.text), `${where}: ${uri} is out of sync`);
    assert.equal(r.value.version, d.version, `${where}: ${uri} version`);
  }
}

// A random well-formed change of the editor's text, and the text after it. Offsets are on
// character boundaries, as an editor's are (not between the halves of a pair or inside \r\n).
function randomChange(r, text) {
  const boundary = (i) => {
    while (i > 0 && i < text.length && ((text.charCodeAt(i) & 0xfc00) === 0xdc00 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800
      || (text[i] === '\n' && text[i - 1] === '\r'))) i--;
    return i;
  };
  const a = boundary(r.int(text.length + 1));
  const b = boundary(Math.min(text.length, a + r.int(12)));
  const ins = r.next() < 0.3 ? '' : textOf(r, 1 + r.int(3));
  return { change: { rangeOffset: a, rangeLength: Math.max(0, b - a), text: ins }, text: text.slice(0, a) + ins + text.slice(Math.max(a, b)) };
}

// The client's repair after a failed edit: the whole text again.
async function resync(h, uri, d) {
  const r = await h.call('open', { uri, languageId: d.languageId, text: d.text, version: d.version });
  assert.equal(r.ok, true, JSON.stringify(r));
}

test('malformed and junk messages get a typed bad_request, never an exception or a changed document', async () => {
  const h = await ready();
  const text = 'def f(a, b):\n    return a + b\n';
  const docs = new Map([['file:///m.py', { text, version: 1, languageId: 'python' }]]);
  await resync(h, 'file:///m.py', docs.get('file:///m.py'));
  const E = (params) => ({ id: h.nextId(), type: 'edit', params });
  const junk = [
    { id: h.nextId() }, { id: h.nextId(), type: 'nope', params: {} }, { id: h.nextId(), type: 'open' },
    { id: h.nextId(), type: 'open', params: { uri: 5, languageId: 'python', text: 'x', version: 1 } },
    { id: h.nextId(), type: 'open', params: { uri: 'file:///n.py', languageId: 'python', text: null, version: 1 } },
    E({ uri: 'file:///m.py', version: 2, changes: 'abc' }),
    E({ uri: 'file:///m.py', version: 2, changes: [{ rangeOffset: -1, rangeLength: 0, text: 'x' }] }),
    E({ uri: 'file:///m.py', version: 2, changes: [{ rangeOffset: 1.5, rangeLength: 0, text: 'x' }] }),
    E({ uri: 'file:///m.py', version: 2, changes: [{ rangeOffset: NaN, rangeLength: 0, text: 'x' }] }),
    E({ uri: 'file:///m.py', version: 2, changes: [{ rangeOffset: 2 ** 32 + 3, rangeLength: 0, text: 'x' }] }),
    E({ uri: 'file:///m.py', version: 2, changes: [{ rangeOffset: 0, rangeLength: Infinity, text: 'x' }] }),
    E({ uri: 'file:///m.py', version: 2, changes: [{ rangeOffset: 0, rangeLength: 0 }] }),
    E({ uri: 'file:///m.py', version: '2', changes: [] }),
    E({ uri: 'file:///m.py', version: 2, changes: [{ rangeOffset: 0, rangeLength: 0, text: 'ok' }, null] }),
    { id: h.nextId(), type: 'complete', params: { uri: 'file:///m.py', version: 1, position: { line: -1, character: 0 }, options: {} } },
    { id: h.nextId(), type: 'complete', params: { uri: 'file:///m.py', version: 1, position: { line: 0, character: 0 } } },
    { id: h.nextId(), type: 'complete', params: { uri: 'file:///m.py', version: 1, position: { line: 0, character: 0 }, options: { timeBudgetMs: -5 } } },
    { id: h.nextId(), type: 'speculate', params: { uri: 'file:///m.py', version: 1, position: { line: 0, character: 0 }, options: {}, edit: { rangeOffset: 0, rangeLength: 0, text: 'x' } } },
    { id: h.nextId(), type: 'warm', params: { languageIds: 'python' } },
    { id: h.nextId(), type: 'init', params: { model: { kind: 'url' } } },
    { id: h.nextId(), type: 'init', params: { model: { kind: 'bytes', bytes: 'not bytes' } } },
    { id: h.nextId(), type: 'init', params: { model: { kind: 'url', url: 'x', sha256: 'xyz' } } },
  ];
  const results = await Promise.all(junk.map((m) => h.raw(m)));
  results.forEach((r, i) => {
    assert.equal(r.ok, false, `junk ${i} was accepted`);
    assert.equal(r.error.code, 'bad_request', `junk ${i}: ${JSON.stringify(r)}`);
  });
  // No usable id: nothing to answer, nothing breaks.
  for (const m of [null, undefined, 42, 'edit', [], { type: 'stats' }, { id: 'x', type: 'stats', params: {} }, { id: 1.5, type: 'stats', params: {} }]) h.host.receive(m);
  await expectSynced(h, docs, 'after junk');
  const st = await h.call('stats', {});
  assert.equal(st.value.restarts, 0, 'no junk is taken for a trap');
  assert.equal(st.value.edits, 0);
  h.audit();
});

test('versions that skip, go back, repeat or arrive out of order are refused, and a resync restores the text', async () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = rng(seed);
    const h = await ready();
    const docs = new Map();
    for (let i = 0; i < 3; i++) {
      const d = { text: textOf(r, 4 + r.int(10)), version: 1 + r.int(5), languageId: r.pick(['python', 'javascript', 'typescript', 'c']) };
      docs.set(`file:///d${i}.${d.languageId}`, d);
      await resync(h, `file:///d${i}.${d.languageId}`, d);
    }
    for (let step = 0; step < 120; step++) {
      const [uri, d] = r.pick([...docs]);
      const { change, text } = randomChange(r, d.text);
      const kind = r.int(6);
      if (kind <= 1) { // in order
        const res = await h.call('edit', { uri, version: d.version + 1, changes: [change] });
        assert.equal(res.ok, true, `seed ${seed} step ${step}: ${JSON.stringify(res)}`);
        d.text = text;
        d.version++;
      } else if (kind === 2) { // skips a version: refused, the worker keeps the old text
        const res = await h.call('edit', { uri, version: d.version + 2, changes: [change] });
        assert.equal(res.error?.code, 'stale');
        d.text = text;
        d.version += 2;
        await resync(h, uri, d);
      } else if (kind === 3) { // goes back
        const res = await h.call('edit', { uri, version: Math.max(0, d.version - r.int(3)), changes: [change] });
        assert.equal(res.error?.code, 'stale');
      } else if (kind === 4) { // the same event twice
        const msg = { uri, version: d.version + 1, changes: [change] };
        const [a, b] = await Promise.all([h.call('edit', msg), h.call('edit', msg)]);
        assert.equal(a.ok, true);
        assert.equal(b.error?.code, 'stale', 'a duplicate is refused, not applied twice');
        d.text = text;
        d.version++;
      } else { // two events swapped
        const second = randomChange(r, text);
        const [b, a] = await Promise.all([
          h.call('edit', { uri, version: d.version + 2, changes: [second.change] }),
          h.call('edit', { uri, version: d.version + 1, changes: [change] }),
        ]);
        assert.equal(b.error?.code, 'stale');
        assert.equal(a.ok, true);
        d.text = second.text;
        d.version += 2;
        await resync(h, uri, d); // the client sees the failed edit and resends the whole text
      }
      if (step % 20 === 19) await expectSynced(h, docs, `seed ${seed} step ${step}`);
    }
    await expectSynced(h, docs, `seed ${seed} end`);
    h.audit();
  }
});

test('edits past the end or splitting a character close the document; the reopen is exact', async () => {
  const h = await ready();
  const uri = 'file:///s.ts';
  const d = { text: 'const a = "😀";\r\nlet b = 1;\n', version: 1, languageId: 'typescript' };
  await resync(h, uri, d);
  // each event: a good change first, then the bad one (offsets in the text after the first)
  const t1 = '// ok\n' + d.text;
  const bad = [
    { rangeOffset: t1.length + 1, rangeLength: 0, text: 'x' },      // past the end
    { rangeOffset: 0, rangeLength: t1.length + 5, text: 'x' },      // runs past the end
    { rangeOffset: t1.indexOf('😀') + 1, rangeLength: 0, text: 'x' }, // between the halves of the pair
    { rangeOffset: t1.indexOf('\r') + 1, rangeLength: 0, text: 'x' }, // between \r and \n
  ];
  for (const change of bad) {
    const res = await h.call('edit', { uri, version: d.version + 1, changes: [{ rangeOffset: 0, rangeLength: 0, text: '// ok\n' }, change] });
    assert.equal(res.ok, false, JSON.stringify(change));
    assert.equal(res.error.code, 'engine');
    assert.equal(res.error.engineStatus, 'out of range');
    const gone = await h.call('complete', { uri, version: d.version, position: { line: 0, character: 0 }, options: {} });
    assert.equal(gone.error.code, 'no_document', 'half an event is never kept');
    await resync(h, uri, d);
    await expectSynced(h, new Map([[uri, d]]), JSON.stringify(change));
  }
  h.audit();
});

test('oversized documents, edits and messages are answered, and the worker goes on', async () => {
  const h = await ready();
  const big = 'x = 1\n'.repeat(1_000_000); // 6 MB
  const d = { text: big, version: 1, languageId: 'python' };
  await resync(h, 'file:///big.py', d);
  const insert = 'y'.repeat(2_000_000);
  let res = await h.call('edit', { uri: 'file:///big.py', version: 2, changes: [{ rangeOffset: 3, rangeLength: 0, text: insert }] });
  assert.equal(res.ok, true);
  d.text = big.slice(0, 3) + insert + big.slice(3);
  d.version = 2;
  // over the size the engine parses: kept in sync, completion refused with the reason
  res = await h.call('complete', { uri: 'file:///big.py', version: 2, position: { line: 999_999, character: 3 }, options: { maxTokens: 2 } });
  assert.equal(res.ok, false);
  assert.equal(res.error.engineStatus, 'unsupported');
  assert.match(res.error.message, /big\.py: \d+ bytes is over the \d+ that wisp parses/);
  const longUri = 'file:///' + 'u'.repeat(1 << 20) + '.py';
  res = await h.call('open', { uri: longUri, languageId: 'python', text: 'a = 1\n', version: 1 });
  assert.equal(res.ok, true);
  res = await h.call('open', { uri: 'file:///lang', languageId: 'l'.repeat(1 << 16), text: 'a', version: 1 });
  assert.equal(res.error?.code, 'engine', 'an unknown language is an engine error');
  // one event of 2,000 changes
  const small = { text: 'a = 1\n'.repeat(100), version: 1, languageId: 'python' };
  await resync(h, 'file:///many.py', small);
  const many = Array.from({ length: 2000 }, (_, i) => ({ rangeOffset: i % 500, rangeLength: i % 3 === 0 ? 1 : 0, text: i % 2 ? 'z' : '' }));
  res = await h.call('edit', { uri: 'file:///many.py', version: 2, changes: many });
  assert.equal(res.ok, true);
  for (const c of many) small.text = small.text.slice(0, c.rangeOffset) + c.text + small.text.slice(c.rangeOffset + c.rangeLength);
  small.version = 2;
  await expectSynced(h, new Map([['file:///big.py', d], ['file:///many.py', small]]), 'big');
  res = await h.call('close', { uri: longUri });
  assert.equal(res.ok, true);
  h.audit();
});

test('completions for closed or unknown documents, and cancellations racing answers', async () => {
  const h = await ready();
  const uri = 'file:///c.py';
  const d = { text: 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return ', version: 1, languageId: 'python' };
  await resync(h, uri, d);
  const pos = { line: 5, character: 11 };
  const C = () => ({ id: h.nextId(), type: 'complete', params: { uri, version: 1, position: pos, options: { maxTokens: 3 } } });
  // cancel before, during and after; twice; of ids never sent
  const a = C(), b = C(), c = C();
  h.host.receive({ id: b.id, type: 'cancel' }); // before it arrives: nothing to cancel
  const pa = h.raw(a), pb = h.raw(b), pc = h.raw(c);
  h.host.receive({ id: a.id, type: 'cancel' }); // running: too late, it answers
  h.host.receive({ id: c.id, type: 'cancel' }); // queued: cancelled
  h.host.receive({ id: c.id, type: 'cancel' });
  h.host.receive({ id: 987654, type: 'cancel' });
  const [ra, rb, rc] = await Promise.all([pa, pb, pc]);
  assert.equal(ra.ok, true, 'the running request is answered');
  assert.equal(rb.ok, false, 'superseded by c');
  assert.equal(rb.error.code, 'cancelled');
  assert.equal(rc.ok, false);
  assert.equal(rc.error.code, 'cancelled');
  h.host.receive({ id: a.id, type: 'cancel' }); // after its answer
  // a burst: only the newest survives, every one is answered once
  const burst = Array.from({ length: 20 }, () => h.raw(C()));
  const rs = await Promise.all(burst);
  assert.equal(rs.filter((x) => x.ok).length >= 1, true);
  assert.ok(rs.every((x) => x.ok || x.error.code === 'cancelled'));
  // closed and unknown documents
  assert.equal((await h.call('close', { uri })).ok, true);
  for (const type of ['complete', 'speculate']) {
    const r = await h.call(type, { uri, version: 1, position: pos, options: {} });
    assert.equal(r.error.code, 'no_document');
  }
  assert.equal((await h.call('edit', { uri, version: 2, changes: [] })).error.code, 'no_document');
  assert.equal((await h.call('close', { uri })).error.code, 'no_document');
  assert.equal((await h.call('text', { uri })).error.code, 'no_document');
  // still alive
  await resync(h, uri, d);
  const last = await h.call('complete', { uri, version: 1, position: pos, options: { maxTokens: 3 } });
  assert.equal(last.ok, true);
  h.audit();
});

test('a client over a worker that misses events stays in sync with the editor', async () => {
  for (let seed = 11; seed < 11 + SEEDS; seed++) {
    const r = rng(seed);
    const docs = new Map();
    const listeners = [];
    const host = new api.Host(createWisp, (msg) => { for (const fn of listeners) fn({ data: msg }); });
    let dropEdits = 0;
    const port = {
      // The transport loses some edit events (as an editor that missed one would): the client must
      // notice (a stale version) and resend the whole text.
      postMessage: (msg) => {
        if (msg.type === 'edit' && dropEdits > 0) {
          dropEdits--;
          host.receive({ ...msg, params: { ...msg.params, version: msg.params.version + 1000 } }); // refused as stale
          return;
        }
        host.receive(msg);
      },
      addEventListener: (type, fn) => { if (type === 'message') listeners.push(fn); },
    };
    const client = new api.WispClient(port, (uri) => docs.get(uri));
    assert.equal((await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } })).ok, true);
    for (let i = 0; i < 2; i++) docs.set(`file:///e${i}.py`, { text: textOf(r, 6), version: 1, languageId: 'python' });
    for (let step = 0; step < 80; step++) {
      const [uri, d] = r.pick([...docs]);
      if (!client.isOpen(uri)) {
        const o = await client.open(uri);
        assert.equal(o.ok, true);
      }
      const n = 1 + r.int(3);
      const changes = [];
      for (let k = 0; k < n; k++) {
        const c = randomChange(r, d.text);
        changes.push(c.change);
        d.text = c.text;
      }
      d.version++;
      if (r.next() < 0.15) dropEdits = 1;
      await client.edit(uri, d.version, changes);
      if (r.next() < 0.3) {
        const lines = d.text.split('\n');
        const line = r.int(lines.length);
        const res = await client.complete(uri, d.version, { line, character: r.int(lines[line].length + 1) }, { maxTokens: 2 });
        assert.ok(res.ok || ['engine'].includes(res.error.code), JSON.stringify(res));
        // after a completion the client has repaired what it knew was broken
        const t = await client.request('text', { uri });
        assert.equal(t.ok, true);
        assert.equal(t.value.text, held(d.text), `seed ${seed} step ${step}: out of sync after a completion`);
      }
      if (r.next() < 0.05) await client.close(uri);
    }
  }
});
