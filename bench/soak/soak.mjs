// Soak: the worker (its Host, the WebAssembly engine, a WispClient in front, as the editors drive
// it, without the thread) under a long session, sampling the WebAssembly heap (its size, and the
// bytes malloc holds in it) and the JS heap (after a full GC), to show that nothing grows once
// warmed up.
//   phase 1: COMPLETIONS completions, each after a random edit (typing, deleting, new lines,
//            pastes) in one of three documents (Python, TypeScript, C) that stay about one size,
//            some speculative;
//   phase 2: CYCLES open/complete/close cycles of a large document (LARGE_KB of code, different
//            every time).
// Samples: at the start (after the first completion), after warm-up (WARMUP of each phase), every
// tenth of the way, and at the end. With --check, exits 1 when, after warm-up, the bytes malloc
// holds grew by more than 1 MiB plus 1 %, the heap grew at all, or the JS heap grew by more than
// 16 MiB (GC noise). No timing is checked.
//   node --expose-gc bench/soak/soak.mjs [--model M.gguf] [--completions N] [--cycles N]
//        [--large-kb N] [--warmup-frac F] [--seed S] [--json OUT] [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const COMPLETIONS = Number(opt('completions', 10000));
const CYCLES = Number(opt('cycles', 1000));
const LARGE_KB = Number(opt('large-kb', 256));
const WARMUP_FRAC = Number(opt('warmup-frac', 0.1));
const modelPath = opt('model', join(root, 'models', 'wisp-default.gguf'));
const check = args.includes('--check');
if (typeof globalThis.gc !== 'function') {
  console.error('soak.mjs: run with node --expose-gc (the JS heap is sampled after a full GC)');
  process.exit(2);
}

const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const model = readFileSync(modelPath);
const copy = (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);

let seed = Number(opt('seed', 7)) >>> 0 || 1;
const rand = () => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
};
const pick = (a) => a[Math.floor(rand() * a.length)];

const docs = new Map();
const listeners = [];
const host = new api.Host(createWisp, (msg) => { for (const fn of listeners) fn({ data: msg }); });
const port = { postMessage: (m) => host.receive(m), addEventListener: (t, fn) => { if (t === 'message') listeners.push(fn); } };
const client = new api.WispClient(port, (uri) => docs.get(uri));
const init = await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
if (!init.ok) {
  console.error('soak.mjs: init failed:', init.error.message);
  process.exit(1);
}

const SEEDS = {
  py: 'import os\n\nclass Store:\n    def __init__(self, root):\n        self.root = root\n        self.items = {}\n\n    def get(self, key):\n        return self.items.get(key)\n\n\ndef main():\n    s = Store(os.getcwd())\n    ',
  ts: 'interface Point { x: number; y: number }\n\nexport function dist(a: Point, b: Point): number {\n  const dx = a.x - b.x;\n  const dy = a.y - b.y;\n  return Math.sqrt(dx * dx + dy * dy);\n}\n\nexport function mid(a: Point, b: Point): Point {\n  ',
  c: '#include <stdio.h>\n\ntypedef struct { int n; int *v; } vec;\n\nstatic int sum(const vec *a) {\n  int s = 0;\n  for (int i = 0; i < a->n; i++) s += a->v[i];\n  return s;\n}\n\nint main(void) {\n  ',
};
const LANG = { py: 'python', ts: 'typescript', c: 'c' };
const TYPED = { py: ['x', ' = ', 'self.', 'return ', '(', ')', '\n    ', 'items', '[key]', ', '], ts: ['a.', 'x', ' + ', 'return ', '{ ', ' }', '\n  ', 'const ', ';', 'b'], c: ['s', ' += ', 'a->', 'n', ';', '\n  ', 'return ', '(', ')', 'int '] };
for (const [k, text] of Object.entries(SEEDS)) docs.set(`file:///soak/main.${k}`, { text, version: 1, languageId: LANG[k], kind: k, cursor: text.length });

const mb = (n) => (n / 1048576).toFixed(2);
async function sample(label) {
  globalThis.gc();
  const st = await client.stats();
  const js = process.memoryUsage().heapUsed;
  const s = { label, wasmHeap: st.value.heapBytes, wasmUsed: st.value.heapUsed, jsHeap: js };
  console.log(`${label.padEnd(28)} wasm heap ${mb(s.wasmHeap)} MiB, malloc'd ${mb(s.wasmUsed)} MiB, JS heap ${mb(s.jsHeap)} MiB`);
  return s;
}

// The position (line, UTF-16 column) of a UTF-16 offset.
function posOf(text, off) {
  const before = text.slice(0, off);
  const line = before.split('\n').length - 1;
  return { line, character: off - (before.lastIndexOf('\n') + 1) };
}

// One editor step: an edit at the cursor (or elsewhere), then a completion there.
async function step() {
  const [uri, d] = pick([...docs]);
  const r = rand();
  let change;
  if (d.text.length > SEEDS[d.kind].length + 1500) { // keep each document about one size: cut a piece
    const n = 100 + Math.floor(rand() * 200);
    let at = Math.floor(rand() * (d.text.length - n));
    if ((d.text.charCodeAt(at) & 0xfc00) === 0xdc00) at--;
    change = { rangeOffset: at, rangeLength: n, text: '' };
  } else if (r < 0.7) { // type
    const t = pick(TYPED[d.kind]);
    change = { rangeOffset: d.cursor, rangeLength: 0, text: t };
  } else if (r < 0.85 && d.cursor > 0) { // delete back a little
    const n = Math.min(d.cursor, 1 + Math.floor(rand() * 4));
    change = { rangeOffset: d.cursor - n, rangeLength: n, text: '' };
  } else if (r < 0.95) { // paste a few lines
    change = { rangeOffset: d.cursor, rangeLength: 0, text: SEEDS[d.kind].slice(0, 40 + Math.floor(rand() * 80)) };
  } else { // move the cursor somewhere else
    d.cursor = Math.floor(rand() * d.text.length);
    if ((d.text.charCodeAt(d.cursor) & 0xfc00) === 0xdc00) d.cursor--;
    return client.complete(uri, d.version, posOf(d.text, d.cursor), { maxTokens: 8, timeBudgetMs: 200 });
  }
  d.text = d.text.slice(0, change.rangeOffset) + change.text + d.text.slice(change.rangeOffset + change.rangeLength);
  d.cursor = change.rangeOffset + change.text.length;
  d.version++;
  await client.edit(uri, d.version, [change]);
  const pos = posOf(d.text, d.cursor);
  if (rand() < 0.2) {
    const res = await client.complete(uri, d.version, pos, { maxTokens: 8, timeBudgetMs: 200 });
    const it = res.ok ? res.value.items[0] : undefined;
    if (it) { // what accepting it would bring, computed in idle time
      const edit = { rangeOffset: it.startOffset, rangeLength: it.endOffset - it.startOffset, text: it.text, removed: d.text.slice(it.startOffset, it.endOffset) };
      const end = posOf(d.text.slice(0, it.startOffset) + it.text, it.startOffset + it.text.length);
      return client.speculate(uri, d.version, end, { maxTokens: 8, timeBudgetMs: 50 }, edit);
    }
    return res;
  }
  return client.complete(uri, d.version, pos, { maxTokens: 8, timeBudgetMs: 200 });
}

// A large document of code, different every time (so nothing can be reused by accident).
function largeDoc(i) {
  const parts = [];
  let n = 0;
  for (let k = 0; n < LARGE_KB * 1024; k++) {
    const s = `def handler_${i}_${k}(request, value=${k}):\n    """Handle ${k}."""\n    total = value * ${i % 97} + len(request)\n    for item in request.items:\n        total += item.weight\n    return total\n\n\n`;
    parts.push(s);
    n += s.length;
  }
  return parts.join('') + 'def main():\n    result = ';
}

const failures = { engine: 0 };
const samples = [];
const t0 = Date.now();
const first = await step();
if (!first.ok) failures.engine++;
samples.push({ phase: 'completions', ...(await sample('completions: start')) });
const warm1 = Math.max(1, Math.floor(COMPLETIONS * WARMUP_FRAC));
for (let i = 1; i < COMPLETIONS; i++) {
  const r = await step();
  if (!r.ok && r.error.code !== 'cancelled') failures.engine++;
  if (i === warm1) samples.push({ phase: 'completions', warm: true, ...(await sample(`completions: warm (${i})`)) });
  else if (i % Math.max(1, Math.floor(COMPLETIONS / 10)) === 0) samples.push({ phase: 'completions', ...(await sample(`completions: ${i}`)) });
}
samples.push({ phase: 'completions', end: true, ...(await sample(`completions: end (${COMPLETIONS})`)) });
// the documents are still in sync after all that
for (const [uri, d] of docs) {
  const t = await client.request('text', { uri });
  if (!t.ok || t.value.text !== d.text) {
    console.error(`soak.mjs: ${uri} is out of sync`);
    process.exit(1);
  }
}

const warm2 = Math.max(1, Math.floor(CYCLES * WARMUP_FRAC));
samples.push({ phase: 'cycles', ...(await sample('open/close: start')) });
for (let i = 1; i <= CYCLES; i++) {
  const uri = `file:///soak/large_${i}.py`;
  const text = largeDoc(i);
  docs.set(uri, { text, version: 1, languageId: 'python' });
  const o = await client.open(uri);
  if (!o.ok) failures.engine++;
  const r = await client.complete(uri, 1, posOf(text, text.length), { maxTokens: 4, timeBudgetMs: 200 });
  if (!r.ok) failures.engine++;
  await client.close(uri);
  docs.delete(uri);
  if (i === warm2) samples.push({ phase: 'cycles', warm: true, ...(await sample(`open/close: warm (${i})`)) });
  else if (i % Math.max(1, Math.floor(CYCLES / 10)) === 0 && i !== CYCLES) samples.push({ phase: 'cycles', ...(await sample(`open/close: ${i}`)) });
}
samples.push({ phase: 'cycles', end: true, ...(await sample(`open/close: end (${CYCLES})`)) });

const secs = (Date.now() - t0) / 1000;
const verdicts = [];
for (const phase of ['completions', 'cycles']) {
  const w = samples.find((s) => s.phase === phase && s.warm);
  const e = samples.find((s) => s.phase === phase && s.end);
  if (!w || !e) continue;
  const used = e.wasmUsed - w.wasmUsed, heap = e.wasmHeap - w.wasmHeap, js = e.jsHeap - w.jsHeap;
  const ok = used <= 1048576 + w.wasmUsed / 100 && heap <= 0 && js <= 16 * 1048576;
  verdicts.push({ phase, ok, usedGrowth: used, heapGrowth: heap, jsGrowth: js });
  console.log(`${phase}: after warm-up malloc'd ${used >= 0 ? '+' : ''}${mb(used)} MiB, heap ${heap >= 0 ? '+' : ''}${mb(heap)} MiB, JS ${js >= 0 ? '+' : ''}${mb(js)} MiB: ${ok ? 'no growth' : 'GROWTH'}`);
}
const stats = await client.stats();
console.log(`${COMPLETIONS} completions, ${CYCLES} open/close cycles of ${LARGE_KB} KB, ${secs.toFixed(0)} s; engine errors ${failures.engine}; restarts ${stats.value.restarts}; model ${modelPath.replace(root + '/', '')}`);
const json = opt('json', null);
if (json) writeFileSync(json, JSON.stringify({ completions: COMPLETIONS, cycles: CYCLES, largeKb: LARGE_KB, model: modelPath.replace(root + '/', ''), seconds: secs, failures, restarts: stats.value.restarts, samples, verdicts }, null, 2));
client.dispose();
if (check && (verdicts.some((v) => !v.ok) || failures.engine > 0 || stats.value.restarts > 0)) process.exit(1);
