// Milliseconds per completion of a model in the WebAssembly build under Node (one thread, the
// worker's Host driven directly): N development cases per language, each opened as a fresh
// document and completed once at its cursor (a cold prompt: no KV reuse from typing).
//   node train/bench_wasm.mjs MODEL.gguf [N_PER_LANG=5]
// Needs build-wasm/ (scripts/build.sh wasm) and wasm/dist/ (node wasm/build.mjs).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const model = readFileSync(process.argv[2]);
const perLang = Number(process.argv[3] || 5);
const copy = (b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);

let id = 0;
const waiters = new Map();
const host = new api.Host(createWisp, (m) => { if (m.type === 'response' && waiters.has(m.id)) waiters.get(m.id)(m.result); });
const call = (type, params) => { const rid = ++id; const p = new Promise((r) => waiters.set(rid, r)); host.receive({ id: rid, type, params }); return p; };

const t0 = performance.now();
const init = await call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
if (!init.ok) throw new Error(JSON.stringify(init));
const initMs = performance.now() - t0;
const cases = readFileSync(join(root, '..', 'shared', 'bench', 'dev_cases.jsonl'), 'utf8').trim().split('\n').map(JSON.parse);
const langIds = { python: 'python', javascript: 'javascript', typescript: 'typescript', c: 'c' };
const times = [];
const count = {};
for (const c of cases) {
  if ((count[c.lang] = (count[c.lang] || 0) + 1) > perLang) continue;
  const text = c.prefix + c.suffix;
  const ext = c.path.split('.').pop();
  const uri = `file:///case${id}.${ext}`;
  await call('open', { uri, languageId: langIds[c.lang], text, version: 1 });
  const before = c.prefix.split('\n');
  const position = { line: before.length - 1, character: before.at(-1).length }; // UTF-16 units
  const s = performance.now();
  const r = await call('complete', { uri, version: 1, position, options: {} });
  times.push(performance.now() - s);
  if (!r.ok) console.error(c.id, JSON.stringify(r).slice(0, 200));
  await call('close', { uri });
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
console.log(`${process.argv[2]}: init ${initMs.toFixed(0)} ms, ${times.length} completions, p50 ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms, mean ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(0)} ms`);
