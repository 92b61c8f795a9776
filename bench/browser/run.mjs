// Browser latency benchmark: headless Chromium, one engine thread in a Web Worker, no
// SharedArrayBuffer. Replays typing traces made from the development benchmark's cases (--dev,
// default the path in bench/dev_cases.path; the first
// line of each case's expected text typed after its prefix at 80-120 ms a key, a completion
// request at every keystroke) and measures:
//   keystroke -> answer p50/p95 (answers that arrived before the next keystroke), the share of
//   keystrokes that got a suggestion, where the time goes (debounce, messaging, context, prefill,
//   decode, trim), cold start (worker start + model from browser storage + first answer) in a
//   fresh browser process, the compressed download (wasm + worker + model), the WebAssembly heap.
// Usage: node bench/browser/run.mjs [--cases N] [--model PATH] [--candidates N] [--write]
//   --write appends/replaces the "Browser latency" section of bench/RESULTS.md.
//   WISP_BENCH_DEBUG=1 prints the cold first answer (timings, number of requests) to stderr.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(join(root, 'deps', 'node_modules', 'x.js'))('playwright-core');
// Rebuild the JS bundles from build-wasm/ first: a stale wasm/dist would measure old code.
execFileSync('node', [join(root, 'wasm', 'build.mjs'), '--no-check'], { stdio: 'ignore' });
execFileSync('node', [join(root, 'extension', 'build.mjs'), '--no-check'], { stdio: 'ignore' });
const { startServer } = await import(join(root, 'extension', 'server.mjs'));
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const nCases = Number(arg('--cases', 40));
const modelPath = arg('--model', process.env.WISP_MODEL || join(root, 'models', 'wisp-default.gguf'));
const casesPath = arg('--dev', join(root, readFileSync(join(root, 'bench', 'dev_cases.path'), 'utf8').trim()));
const write = process.argv.includes('--write');
const options = { debounceMs: 75, maxLines: 0, candidates: Number(arg('--candidates', 1)), timeBudgetMs: 150, minPaceMs: 80, maxPaceMs: 120, seed: 7 };

if (!existsSync(modelPath)) throw new Error(`no model at ${modelPath}`);
process.env.WISP_MODEL = modelPath; // the server serves it as /models/wisp-default.gguf
const all = readFileSync(casesPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
// Round-robin over the languages so that any N covers all four.
const byLang = new Map();
for (const c of all) (byLang.get(c.lang) ?? byLang.set(c.lang, []).get(c.lang)).push(c);
const cases = [];
for (let i = 0; cases.length < Math.min(nCases, all.length); i++) {
  for (const list of byLang.values()) if (i < list.length && cases.length < nCases) cases.push(list[i]);
}

const { server, url } = await startServer(0);
const profile = mkdtempSync(join(tmpdir(), 'wisp-bench-'));
const launch = () => chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
const modelUrl = '/models/wisp-default.gguf';

// 1. First visit: downloads the model into Cache Storage.
let ctx = await launch();
let page = ctx.pages()[0] ?? (await ctx.newPage());
await page.goto(`${url}/bench/index.html`);
const first = await page.evaluate((m) => window.benchStart(m), modelUrl);
if (!first.ok) throw new Error(`engine failed: ${JSON.stringify(first.error)}`);
await ctx.close();

// 2. A new browser process on the same profile: cold start from storage, then the traces.
ctx = await launch();
page = ctx.pages()[0] ?? (await ctx.newPage());
let modelFetches = 0;
page.on('request', (r) => { if (r.url().endsWith(modelUrl)) modelFetches++; });
await page.goto(`${url}/bench/index.html`);
const start = await page.evaluate((m) => window.benchStart(m), modelUrl);
if (!start.ok) throw new Error(`engine failed: ${JSON.stringify(start.error)}`);
const cold = await page.evaluate(([c, t0]) => window.benchFirst(c, t0), [cases[0], start.t0]);
if (process.env.WISP_BENCH_DEBUG) console.error(JSON.stringify(cold));
const keys = [];
const perLang = new Map();
for (const [i, c] of cases.entries()) {
  const r = await page.evaluate(([c, o]) => window.benchTrace(c, o), [c, options]);
  if (r.error) throw new Error(`${c.id}: ${JSON.stringify(r.error)}`);
  for (const k of r.keys) k.lang = c.lang;
  keys.push(...r.keys);
  (perLang.get(c.lang) ?? perLang.set(c.lang, []).get(c.lang)).push(...r.keys);
  process.stderr.write(`\r${i + 1}/${cases.length} cases, ${keys.length} keystrokes`);
}
process.stderr.write('\n');
const stats = await page.evaluate(() => window.benchStats());
await ctx.close();
server.close();

const q = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
function summarize(ks) {
  const answered = ks.filter((k) => k.answered);
  const single = answered.filter((k) => k.timings.requests === 1);
  const shown = answered.filter((k) => k.suggested).map((k) => k.latencyMs);
  const modes = {};
  for (const k of answered) modes[k.mode] = (modes[k.mode] ?? 0) + 1;
  return {
    keys: ks.length,
    answered: answered.length,
    p50: q(shown, 0.5),
    p95: q(shown, 0.95),
    nShown: shown.length,
    anyP50: q(answered.map((k) => k.latencyMs), 0.5),
    anyP95: q(answered.map((k) => k.latencyMs), 0.95),
    modes,
    continued: answered.filter((k) => k.timings.requests > 1).length,
    suggestedShare: ks.filter((k) => k.suggested).length / Math.max(1, ks.length),
    answeredShare: answered.length / Math.max(1, ks.length),
    debounce: mean(answered.map((k) => k.debounceMs)),
    context: mean(answered.map((k) => k.timings.contextMs)),
    prompt: mean(answered.map((k) => k.timings.promptMs)),
    prefill: mean(answered.map((k) => k.timings.prefillMs)),
    decode: mean(answered.map((k) => k.timings.decodeMs)),
    trim: mean(answered.map((k) => k.timings.trimMs)),
    engine: mean(answered.map((k) => k.timings.engineMs)),
    queue: mean(answered.map((k) => k.timings.queueMs)),
    edit: mean(answered.map((k) => k.timings.editMs)),
    messaging: mean(single.map((k) => Math.max(0, k.requestMs - k.timings.workerMs - k.timings.queueMs - k.timings.editMs))),
    messagingP50: q(single.map((k) => Math.max(0, k.requestMs - k.timings.workerMs - k.timings.queueMs - k.timings.editMs)), 0.5),
    promptTokens: mean(answered.map((k) => k.timings.promptTokens)),
    reusedTokens: mean(answered.map((k) => k.timings.reusedTokens)),
  };
}
const total = summarize(keys);

const gz = (p) => gzipSync(readFileSync(p), { level: 9 }).length;
const wasmDist = join(root, 'wasm', 'dist');
const download = { wasm: gz(join(wasmDist, 'wisp.wasm')), worker: gz(join(wasmDist, 'wisp-worker.js')), model: gz(modelPath) };
const downloadTotal = download.wasm + download.worker + download.model;

const git = (...a) => { try { return execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim(); } catch { return '?'; } };
const commit = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? ' (+ uncommitted changes)' : '');
const chromiumVersion = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim().split('\n').pop();
const machine = `${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores (load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end of the run, shared with other work); ${chromiumVersion}; Node ${process.version}`;
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (b) => (b / 1e6).toFixed(2);
const ok = (v, budget) => (v <= budget ? 'ok' : `missed by ${f(v - budget)}`);

const lines = [];
lines.push('<!-- browser-bench:start -->');
lines.push('## Browser latency (bench/browser/run.mjs)');
lines.push('');
lines.push(`Date ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}. Machine: ${machine}.`);
lines.push(`Model ${basename(modelPath)} (${mb(start.info.modelBytes)} MB, ${start.info.modelName || 'unnamed'}, sha256 ${start.info.modelSha256.slice(0, 12)}...).`);
lines.push(`Headless Chromium, one engine thread in a Web Worker, no SharedArrayBuffer. ${cases.length} dev cases (round-robin over languages), ${keys.length} keystrokes at ${options.minPaceMs}-${options.maxPaceMs} ms a key, a request per keystroke through the editors' client (adaptive debounce <= ${options.debounceMs} ms, ${options.candidates} candidate(s), time budget ${options.timeBudgetMs} ms).`);
lines.push('');
lines.push('| measure | value | budget | verdict |');
lines.push('| --- | --- | --- | --- |');
lines.push(`| keystroke -> suggestion p50 (${total.nShown} suggestions) | ${f(total.p50)} ms | <= 30 ms | ${ok(total.p50, 30)} |`);
lines.push(`| keystroke -> suggestion p95 | ${f(total.p95)} ms | <= 100 ms | ${ok(total.p95, 100)} |`);
lines.push(`| keystrokes with a suggestion before the next key | ${f(100 * total.suggestedShare)} % | | |`);
lines.push(`| keystrokes answered before the next key (empty answers included) | ${f(100 * total.answeredShare)} %, p50 ${f(total.anyP50)} ms, p95 ${f(total.anyP95)} ms; by mode: ${Object.entries(total.modes).map(([m, n]) => `${m} ${n}`).join(', ')}; continued after a cut prefill: ${total.continued} | | |`);
lines.push(`| cold start: worker + model from storage + first answer | ${f(cold.coldMs, 0)} ms (init ${f(start.initMs, 0)} ms: wasm ${f(start.info.startMs.wasm, 0)}, model ${f(start.info.startMs.model, 0)}, engine ${f(start.info.startMs.engine, 0)}; model fetches: ${modelFetches}) | <= 1500 ms | ${ok(cold.coldMs, 1500)} |`);
lines.push(`| of which the first answer | ${f(cold.coldMs - start.initMs, 0)} ms (context ${f(cold.timings?.contextMs, 0)}, prompt ${f(cold.timings?.promptMs, 0)}, prefill ${f(cold.timings?.prefillMs, 0)} for ${cold.timings?.promptTokens ?? '?'} tokens, decode ${f(cold.timings?.decodeMs, 0)}, trim ${f(cold.timings?.trimMs, 0)}) | | |`);
lines.push(`| download, gzip -9: wasm + worker + model | ${mb(downloadTotal)} MB (${mb(download.wasm)} + ${mb(download.worker)} + ${mb(download.model)}) | <= 60 MB | ${ok(downloadTotal / 1e6, 60)} |`);
lines.push(`| WebAssembly heap after the run | ${mb(stats?.heapBytes ?? 0)} MB | <= 200 MB | ${ok((stats?.heapBytes ?? 0) / 1e6, 200)} |`);
lines.push('');
lines.push(`Where the time goes (mean per answered keystroke; messaging over single-request answers; ms): debounce ${f(total.debounce)}, waiting behind the previous request ${f(total.queue)}, applying the keystroke's edit (incremental reparse) ${f(total.edit)}, messaging ${f(total.messaging)} (median ${f(total.messagingP50)}: the mean is spikes of a shared 2-core machine), context ${f(total.context)}, prompt ${f(total.prompt)}, prefill ${f(total.prefill)}, decode ${f(total.decode)}, trim ${f(total.trim)} (engine ${f(total.engine)}); prompt ${f(total.promptTokens, 0)} tokens of which ${f(total.reusedTokens, 0)} reused from the KV cache.`);
lines.push('');
lines.push('| language | keystrokes | suggestion p50 ms | p95 ms | with suggestion | prefill ms | decode ms |');
lines.push('| --- | --- | --- | --- | --- | --- | --- |');
for (const [lang, ks] of perLang) {
  const s = summarize(ks);
  lines.push(`| ${lang} | ${s.keys} | ${f(s.p50)} | ${f(s.p95)} | ${f(100 * s.suggestedShare)} % | ${f(s.prefill)} | ${f(s.decode)} |`);
}
lines.push('<!-- browser-bench:end -->');
const section = lines.join('\n');
console.log(section);

if (write) {
  const resultsPath = join(root, 'bench', 'RESULTS.md');
  let md = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '# Benchmark results\n';
  const re = /<!-- browser-bench:start -->[\s\S]*?<!-- browser-bench:end -->/;
  md = re.test(md) ? md.replace(re, section) : `${md.trimEnd()}\n\n${section}\n`;
  writeFileSync(resultsPath, md);
  console.error(`wrote ${resultsPath}`);
}
