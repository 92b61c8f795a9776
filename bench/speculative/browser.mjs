// Self-speculative decoding against plain greedy decoding in WebAssembly, in headless Chromium
// (the browser counterpart of bench/speculative/run.py, same table).
//
// One Web Worker per decoding setting (plain, then each K:D), each engine started by the editors'
// client with InitParams.speculative (what the settings wisp.speculative.draft / .depth send) and
// the relaxed-SIMD build where this Chromium runs it, as the editors ask (--simd128: the plain
// build). For every dev case the file (prefix + suffix, at the case's path; the language id an
// editor gives for its extension) is opened and completed at the cursor by each engine in turn,
// back to back, so that the machine's load drifts alike for all rows. No time budget
// (timeBudgetMs 0 = none; a budget would cut the slower run's answer), one candidate, token and
// line limits by the completion's shape (the engine's defaults, as `wisp complete`). The first
// --warmup cases (default 2) run once on every engine first, not counted, so that V8 has tiered
// the hot code up before the timing starts.
//
// From each answer: the engine's decode time and generated tokens (decode tokens/s = all tokens /
// all decode time), the tokens drafted and accepted (acceptance), and the answer: its text, token
// count and mean log-probability must be plain decoding's (the engine promises plain greedy
// decoding's output bit for bit); an answer that differs in any of the three counts as unlike.
//
//   node bench/speculative/browser.mjs [--limit N] [--settings 4:4,6:4,6:1] [--model PATH]
//                                      [--cases PATH] [--warmup N] [--simd128] [--out rows.jsonl]
//
// --settings takes DEPTH:DRAFT pairs (K blocks draft up to D tokens), as run.py. Needs
// build-wasm/ (scripts/build.sh wasm; wasm/dist/ is rebuilt from it here), deps/node_modules
// (playwright-core) and Debian's /usr/bin/chromium. Prints a Markdown table; exits 1 when any
// answer differs from plain decoding's. Results go, dated, into bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, arg } from '../browser/common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(join(root, 'deps', 'node_modules', 'x.js'))('playwright-core');
const CHROMIUM = '/usr/bin/chromium';
const limit = Number(arg('--limit', 0));
const warmup = Number(arg('--warmup', 2));
const settingsArg = arg('--settings', '4:4,6:4,6:1');
const modelPath = resolve(arg('--model', process.env.WISP_MODEL || join(root, 'models', 'wisp-default.gguf')));
const casesPath = resolve(arg('--cases', join(root, readFileSync(join(root, 'bench', 'dev_cases.path'), 'utf8').trim())));
const outPath = arg('--out', '');
const relaxed = !process.argv.includes('--simd128');
if (!existsSync(modelPath)) throw new Error(`no model at ${modelPath}`);

const settings = settingsArg.split(',').filter(Boolean).map((s) => {
  const [k, d] = s.split(':').map(Number);
  if (!(Number.isInteger(k) && Number.isInteger(d) && k > 0 && d > 0)) throw new Error(`--settings: '${s}' is not DEPTH:DRAFT`);
  return { name: `K=${k} D=${d}`, speculative: { nDraft: d, draftDepth: k } };
});
const runs = [{ name: 'plain greedy' }, ...settings];

let cases = readFileSync(casesPath, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
if (limit) cases = cases.slice(0, limit);

// The language id an editor gives a file of this extension (wasm/src/languages.ts).
const LANGUAGE_IDS = { '.py': 'python', '.js': 'javascript', '.jsx': 'javascriptreact', '.mjs': 'javascript',
  '.ts': 'typescript', '.tsx': 'typescriptreact', '.c': 'c', '.h': 'c' };
const languageOf = (path) => LANGUAGE_IDS[extname(path)] ?? '';

// wasm/dist/ from build-wasm/, as bench/browser/run.mjs does: a stale one would measure old code.
execFileSync(process.execPath, [join(root, 'wasm', 'build.mjs'), '--no-check'], { stdio: 'ignore' });

const git = (...a) => { try { return execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim(); } catch { return '?'; } };
const commit = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? ' (+ uncommitted changes)' : '');
const chromiumVersion = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim().split('\n').pop();
const started = new Date();
const loadStart = loadavg();

process.env.WISP_MODEL = modelPath; // the server serves it as /models/wisp-default.gguf
const { startServer } = await import(join(root, 'extension', 'server.mjs'));
const { server, url } = await startServer(0);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
let failed = null;
const total = new Map(runs.map((r) => [r.name, { ms: 0, gen: 0, drafted: 0, accepted: 0, unlike: 0, prefillMs: 0 }]));
const rows = [];
let infos;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${url}/bench/index.html`);
  await page.addScriptTag({ type: 'module', content: readFileSync(join(root, 'bench', 'speculative', 'page.js'), 'utf8') });
  await page.waitForFunction(() => window.specReady === true);
  const start = await page.evaluate(([m, r, x]) => window.specStart(m, r, x), ['/models/wisp-default.gguf', runs, relaxed]);
  if (!start.ok) throw new Error(`engine failed: ${start.error}`);
  infos = start.infos;
  for (const [i, info] of infos.entries()) {
    const want = runs[i].speculative;
    if (JSON.stringify(info.speculative ?? null) !== JSON.stringify(want ?? null)) {
      throw new Error(`${info.name}: the engine runs speculative ${JSON.stringify(info.speculative)} (${info.speculativeError ?? 'no error'}), asked for ${JSON.stringify(want)}`);
    }
  }
  if (new Set(infos.map((x) => x.simd)).size !== 1) throw new Error(`engines on different builds: ${infos.map((x) => x.simd)}`);
  const options = { nCandidates: 1, timeBudgetMs: 0 };
  const one = async (c) => {
    const r = await page.evaluate(([c, l, o]) => window.specCase(c, l, o), [c, languageOf(c.path), options]);
    if (r.error) throw new Error(`${c.id}: ${r.error}`);
    return r.out;
  };
  for (const c of cases.slice(0, warmup)) await one(c);
  for (const [i, c] of cases.entries()) {
    const out = await one(c);
    const plain = out[0];
    const row = { id: c.id };
    for (const o of out) {
      const same = o.text === plain.text && o.generated === plain.generated && o.meanLogprob === plain.meanLogprob;
      const t = total.get(o.name);
      t.ms += o.decodeMs;
      t.gen += o.generated;
      t.drafted += o.drafted;
      t.accepted += o.accepted;
      t.prefillMs += o.prefillMs;
      t.unlike += same ? 0 : 1;
      row[o.name] = { ...o, same };
      if (!same) console.error(`\n${c.id} ${o.name}: ${JSON.stringify([o.text, o.generated, o.meanLogprob])} against plain ${JSON.stringify([plain.text, plain.generated, plain.meanLogprob])}`);
    }
    rows.push(row);
    process.stderr.write(`\r${i + 1}/${cases.length} cases`);
  }
  process.stderr.write('\n');
} catch (e) {
  failed = e;
} finally {
  await browser.close();
  server.close();
}
if (failed) throw failed;
if (outPath) writeFileSync(outPath, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

const ended = new Date();
const hm = (d) => d.toISOString().slice(11, 16);
const n0 = (x) => Math.round(x).toLocaleString('en-US');
const info = infos[0];
console.log(`${started.toISOString().slice(0, 10)}, ${hm(started)}-${hm(ended)} UTC; commit ${commit}; ${info.simd} build (${info.version}); ${chromiumVersion} headless; Node ${process.version}; ` +
  `${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, load average ${loadStart.map((x) => x.toFixed(1)).join(' ')} at the start, ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end.`);
console.log(`Model ${basename(modelPath)} (${info.modelName || 'unnamed'}, sha256 ${info.modelSha256.slice(0, 12)}...); cases ${basename(casesPath)}, ${cases.length} of them (+ ${Math.min(warmup, cases.length)} warm-up, not counted); ` +
  `one engine (Web Worker) per row; no time budget.`);
const base = total.get(runs[0].name);
const baseRate = base.ms ? (base.gen / base.ms) * 1e3 : 0;
console.log(`${cases.length} cases, ${base.gen} tokens generated by plain greedy decoding\n`);
console.log('| decoding | decode ms (sum) | tokens/s | speed-up | drafted | accepted | acceptance | answers unlike plain |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
let bad = 0;
for (const r of runs) {
  const t = total.get(r.name);
  const rate = t.ms ? (t.gen / t.ms) * 1e3 : 0;
  const acc = t.drafted ? `${((100 * t.accepted) / t.drafted).toFixed(1)} %` : '-';
  console.log(`| ${r.name} | ${n0(t.ms)} | ${rate.toFixed(1)} | ${(baseRate ? rate / baseRate : 0).toFixed(2)}x | ${n0(t.drafted)} | ${n0(t.accepted)} | ${acc} | ${t.unlike} |`);
  bad += t.unlike;
}

// What a trained exit would need, from these costs (as the native entry reckons it): a round of
// speculative decoding yields its accepted tokens plus the full model's own, so rounds =
// generated - accepted; it breaks even when a round yields (round ms / plain ms a token) tokens,
// i.e. at a per-token acceptance a with 1 + a + ... + a^D equal to that.
const stepMs = base.gen ? base.ms / base.gen : 0;
console.log('');
console.log('| decoding | rounds | ms a round | plain ms a token | round / plain step = break-even tokens a round | break-even acceptance | ceiling (all accepted) |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of settings) {
  const t = total.get(r.name);
  const d = r.speculative.nDraft;
  const rounds = t.gen - t.accepted;
  const roundMs = rounds ? t.ms / rounds : 0;
  const ratio = stepMs ? roundMs / stepMs : 0;
  const yieldAt = (a) => { let s = 0; for (let i = 0; i <= d; i++) s += a ** i; return s; };
  let lo = 0, hi = 1;
  for (let i = 0; i < 60; i++) { const m = (lo + hi) / 2; if (yieldAt(m) < ratio) lo = m; else hi = m; }
  const be = ratio <= 1 ? '0 (faster at any)' : ratio > d + 1 ? `never (> ${d + 1} tokens)` : lo.toFixed(2);
  console.log(`| ${r.name} | ${n0(rounds)} | ${roundMs.toFixed(2)} | ${stepMs.toFixed(2)} | ${ratio.toFixed(2)} | ${be} | ${(ratio ? (d + 1) / ratio : 0).toFixed(2)}x |`);
}
console.log(`\nprefill ms (sum, not in the table): ${runs.map((r) => `${r.name} ${n0(total.get(r.name).prefillMs)}`).join(', ')}`);
if (bad) console.error(`${bad} answers differ from plain greedy decoding's`);
process.exit(bad ? 1 : 0);
