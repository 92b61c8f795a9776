// Browser latency benchmark: headless Chromium, one engine thread in a Web Worker, no
// SharedArrayBuffer. Replays typing traces made from the development benchmark's cases (--dev,
// default the path in bench/dev_cases.path; the first
// line of each case's expected text typed after its prefix at 80-120 ms a key, a completion
// request at every keystroke) and measures:
//   keystroke -> answer p50/p95 (answers that arrived before the next keystroke), the share of
//   keystrokes that got a suggestion, where the time goes (debounce, messaging, context, prefill,
//   decode, trim), cold start (worker start + model from browser storage + first answer) in a
//   fresh browser process, the compressed download (wasm + worker + model), the WebAssembly heap.
//   keystrokes served without the engine: by typing through a suggestion, by a speculative one
//   (computed for the state after accepting the one shown), each counted only when the reused
//   suggestion agrees with what the trace types next.
// Usage: node bench/browser/run.mjs [--cases N] [--model PATH] [--candidates N] [--old DIR] [--write]
//   --old DIR also measures another build, in the same run and first: DIR is a checkout (its own
//   bench/browser page, wasm/ and extension/server.mjs; build-wasm/ and deps/ built or linked),
//   served by its own server on another port; the table puts the two side by side. --old-name
//   TEXT names it in the table (say "main c3951b9"). --old-model PATH serves that model to the old
//   build (default: the same model as the new one), to put an old and a new default side by side
//   (DIR may then be this checkout: `--old . --old-model OLD.gguf`).
//   --no-speculate, --fixed-budget turn those parts of the inline steps off (the new build).
//   --prefetch-too adds a measure of the new build (and, with --old, of the old one) where each
//   trace's file is prefetched at its cursor before the first keystroke (as the editors do when a
//   file is opened or focused).
//   --write appends the table as a new entry at the end of bench/RESULTS.md.
//   Block-shaped requests (--block-cases N, default 12, 0 = none): for dev cases whose cursor is on
//   a blank line (an empty body), the line before is completed first (the KV cache holds the
//   prompt, as after typing it), then Enter is typed and the editors' inline steps ask for the
//   block at the new line, with the time budget of the traces and with none: the time until a
//   suggestion is visible (the streamed first line where the build streams, else the whole
//   answer) and until the whole answer. The same page functions run against each build's own
//   wasm/ (its InlineCompleter, in a worker of its own), so an old build that does not stream is
//   measured the same way; after the traces, each build in a browser of its own, the builds
//   taking turns case by case (the machine's drift falls on both alike).
//   WISP_BENCH_DEBUG=1 prints the cold first answer (timings, number of requests) to stderr.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CHROMIUM_ARGS, arg } from './common.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(join(root, 'deps', 'node_modules', 'x.js'))('playwright-core');
// Rebuild the JS bundles from build-wasm/ first: a stale wasm/dist would measure old code.
const rebuild = (dir) => {
  execFileSync('node', [join(dir, 'wasm', 'build.mjs'), '--no-check'], { stdio: 'ignore' });
  if (dir === root) execFileSync('node', [join(dir, 'extension', 'build.mjs'), '--no-check'], { stdio: 'ignore' });
};
rebuild(root);
const nCases = Number(arg('--cases', 40));
const modelPath = arg('--model', process.env.WISP_MODEL || join(root, 'models', 'wisp-default.gguf'));
const casesPath = arg('--dev', join(root, readFileSync(join(root, 'bench', 'dev_cases.path'), 'utf8').trim()));
const write = process.argv.includes('--write');
const oldDir = arg('--old', null) && resolve(arg('--old', null));
const nBlocks = Number(arg('--block-cases', 12));
// candidates: the editors' default (wasm/src/settings.ts), 3 since 2026-12-05 (entries before used 1)
const options = { debounceMs: 75, maxLines: 0, candidates: Number(arg('--candidates', 3)), timeBudgetMs: 150, minPaceMs: 80, maxPaceMs: 120, seed: 7,
  debug: Boolean(process.env.WISP_BENCH_DEBUG), speculate: !process.argv.includes('--no-speculate'), adaptiveBudget: !process.argv.includes('--fixed-budget') };

if (!existsSync(modelPath)) throw new Error(`no model at ${modelPath}`);
const oldModelPath = arg('--old-model', null) && resolve(arg('--old-model', null));
if (oldModelPath && !oldDir) throw new Error('--old-model needs --old DIR (the build that serves it)');
if (oldModelPath && !existsSync(oldModelPath)) throw new Error(`no model at ${oldModelPath}`);
// the server serves WISP_MODEL as /models/wisp-default.gguf: measure() and measureBlocks() set
// each build's before its page loads it
const modelOf = (old) => (old && oldModelPath ? oldModelPath : modelPath);
const all = readFileSync(casesPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
// Round-robin over the languages so that any N covers all four.
const byLang = new Map();
for (const c of all) (byLang.get(c.lang) ?? byLang.set(c.lang, []).get(c.lang)).push(c);
const cases = [];
for (let i = 0; cases.length < Math.min(nCases, all.length); i++) {
  for (const list of byLang.values()) if (i < list.length && cases.length < nCases) cases.push(list[i]);
}
// Cursors on a blank line with blank after it (an empty body): block-shaped requests.
const blankCursor = (c) => /\n[ \t]*$/.test(c.prefix) && /^[ \t]*\n/.test(c.suffix);
const blockCases = [];
const blocksByLang = [...byLang.values()].map((l) => l.filter(blankCursor));
for (let i = 0; blockCases.length < nBlocks && blocksByLang.some((l) => i < l.length); i++) {
  for (const list of blocksByLang) if (i < list.length && blockCases.length < nBlocks) blockCases.push(list[i]);
}

const modelUrl = '/models/wisp-default.gguf';
const CHROMIUM = '/usr/bin/chromium';

// The block-shaped requests, run in the page of either build (Playwright sends the functions'
// source): `blockSetup` starts a worker and client of its own from the served /wasm/ (the model
// from that origin's browser storage); `blockOne` runs one case through the editors'
// InlineCompleter: the line before the cursor is completed (that prompt is then in the KV cache),
// then Enter (a line break and the indentation) is typed and the block asked for as an editor's
// keystroke request would. `visibleMs`: when the inline steps returned a suggestion (the first
// line, where they stream); `wholeMs`: when the whole answer was there.
async function blockSetup(o) {
  const { InlineCompleter, WispClient } = await import('/wasm/index.js');
  const docs = new Map();
  const client = new WispClient(new Worker('/wasm/wisp-worker.js'), (uri) => docs.get(uri));
  const init = await client.init({ wasmUrl: '/wasm/wisp.wasm', model: { kind: 'url', url: o.modelUrl },
    relaxed: { wasmUrl: '/wasm/wisp-relaxed.wasm', kernelsUrl: '/wasm/wisp-kernels-relaxed.wasm' } });
  window.blockBench = { InlineCompleter, client, docs };
  return init.ok ? { ok: true, simd: init.value.simd } : { ok: false, error: init.error };
}

async function blockOne([c, budget, o]) {
  const { InlineCompleter, client, docs } = window.blockBench;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const token = () => ({ isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) });
  const ready = Promise.resolve(true);
  const positionAt = (t) => { const ls = t.split('\n'); return { line: ls.length - 1, character: ls[ls.length - 1].length }; };
  const cut = c.prefix.lastIndexOf('\n');
  const head = c.prefix.slice(0, cut);
  const enter = c.prefix.slice(cut);
  const uri = `file:///block/${budget}/${c.id}/${c.path}`;
  let text = head + c.suffix;
  docs.set(uri, { text, version: 1, languageId: c.lang });
  const opened = await client.open(uri);
  if (!opened.ok) return { error: opened.error };
  const ic = new InlineCompleter(client, { maxDebounceMs: o.debounceMs, speculate: false });
  const options = { maxLines: o.maxLines, nCandidates: o.candidates, timeBudgetMs: budget };
  await ic.complete(token(), ready, () => ({ uri, version: 1, position: positionAt(head), text, offset: head.length, options }));
  await sleep(200);
  text = c.prefix + c.suffix;
  docs.set(uri, { text, version: 2, languageId: c.lang });
  void client.edit(uri, 2, [{ rangeOffset: head.length, rangeLength: 0, text: enter }]);
  const t0 = performance.now();
  let first = null;
  let reused = null;
  let whole = null;
  let wholeMs = null;
  let settle;
  const settled = new Promise((r) => { settle = r; });
  const items = await ic.complete(token(), ready, () => ({ uri, version: 2, position: positionAt(c.prefix), text, offset: c.prefix.length, options }), {
    onPartial: (its) => { first = its[0].text; },
    onReuse: (h) => { reused = h.kind; },
    onRefresh: () => {},
    onDone: (_ms, r) => { wholeMs = performance.now() - t0; whole = r; settle(); },
    onError: () => settle(),
  });
  const visibleMs = performance.now() - t0;
  if (!whole) await Promise.race([settled, sleep(20_000)]);
  const text0 = whole?.items[0]?.text ?? '';
  await client.close(uri);
  docs.delete(uri);
  return { id: c.id, lang: c.lang, budget, visibleMs, wholeMs, shown: items.length > 0, streamed: first !== null, reused, first, whole: text0,
    lines: text0 ? text0.split('\n').length : 0, mode: whole?.mode ?? null,
    firstIsStart: first === null ? null : text0.startsWith(first), generated: whole?.timings.generatedTokens ?? 0 };
}

// The block-shaped requests of every build in `builds` ({ label, url, profile }), case by case in
// turn (the order of the builds alternating from one case to the next), each build in its own
// browser on the profile its measure left (the model in storage): the machine's drift falls on
// all builds alike.
async function measureBlocks(builds) {
  const pages = [];
  for (const b of builds) {
    process.env.WISP_MODEL = modelOf(b.old);
    const ctx = await chromium.launchPersistentContext(b.profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(`${b.url}/bench/index.html`);
    const r = await page.evaluate(blockSetup, { modelUrl });
    if (!r.ok) throw new Error(`${b.label}: block requests: ${JSON.stringify(r.error)}`);
    pages.push({ ...b, ctx, page, out: [] });
  }
  const o = { debounceMs: options.debounceMs, maxLines: options.maxLines, candidates: options.candidates };
  let n = 0;
  for (const budget of [options.timeBudgetMs, 0]) {
    for (const c of blockCases) {
      const order = n++ % 2 ? [...pages].reverse() : pages;
      for (const p of order) {
        const r = await p.page.evaluate(blockOne, [c, budget, o]);
        if (r.error) throw new Error(`${p.label} ${c.id}: ${JSON.stringify(r.error)}`);
        p.out.push(r);
      }
      process.stderr.write(`\rblock requests: ${n}/${2 * blockCases.length}`);
    }
  }
  process.stderr.write('\n');
  for (const p of pages) await p.ctx.close();
  return pages.map((p) => ({ label: p.label, blocks: p.out }));
}

// One build: its server, a first visit that puts the model into Cache Storage, then a new browser
// process on the same profile: the cold start from storage, then the traces.
async function measure(dir, label, opts = options, old = false) {
  const model = modelOf(old);
  process.env.WISP_MODEL = model;
  const { startServer } = await import(join(dir, 'extension', 'server.mjs'));
  const { server, url } = await startServer(0);
  const profile = mkdtempSync(join(tmpdir(), 'wisp-bench-'));
  const launch = () => chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  let ctx = await launch();
  let page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(`${url}/bench/index.html`);
  const first = await page.evaluate((m) => window.benchStart(m), modelUrl);
  if (!first.ok) throw new Error(`${label}: engine failed: ${JSON.stringify(first.error)}`);
  await ctx.close();

  ctx = await launch();
  page = ctx.pages()[0] ?? (await ctx.newPage());
  let modelFetches = 0;
  page.on('request', (r) => { if (r.url().endsWith(modelUrl)) modelFetches++; });
  await page.goto(`${url}/bench/index.html`);
  const start = await page.evaluate((m) => window.benchStart(m), modelUrl);
  if (!start.ok) throw new Error(`${label}: engine failed: ${JSON.stringify(start.error)}`);
  const cold = await page.evaluate(([c, t0]) => window.benchFirst(c, t0), [cases[0], start.t0]);
  if (process.env.WISP_BENCH_DEBUG) console.error(label, JSON.stringify(cold));
  const keys = [];
  const prefetches = [];
  const perLang = new Map();
  for (const [i, c] of cases.entries()) {
    const r = await page.evaluate(([c, o]) => window.benchTrace(c, o), [c, opts]);
    if (r.prefetchMs) prefetches.push(r.prefetchMs);
    if (r.error) throw new Error(`${label} ${c.id}: ${JSON.stringify(r.error)}`);
    for (const k of r.keys) k.lang = c.lang;
    if (process.env.WISP_BENCH_DEBUG) console.error(label, c.id, JSON.stringify(r.counts), r.keys.map((k) => `${k.served ?? (k.cancelled ? 'x' : '-')}${k.error ? '!' + k.error : ''}:${k.latencyMs.toFixed(0)}${(k.timings ?? k.late) ? ` prefilled ${(k.timings ?? k.late).promptTokens - (k.timings ?? k.late).reusedTokens}/${(k.timings ?? k.late).promptTokens} in ${(k.timings ?? k.late).requests}, engine ${(k.timings ?? k.late).engineMs.toFixed(0)} ms, ${(k.timings ?? k.late).generatedTokens} tokens` : ''}${k.shown !== undefined ? JSON.stringify([k.shown, k.next]) : ''}`).join('\n  '));
    keys.push(...r.keys);
    (perLang.get(c.lang) ?? perLang.set(c.lang, []).get(c.lang)).push(...r.keys);
    process.stderr.write(`\r${label}: ${i + 1}/${cases.length} cases, ${keys.length} keystrokes`);
  }
  process.stderr.write('\n');
  const stats = await page.evaluate(() => window.benchStats());
  await ctx.close();
  // (the server stays up for the block-shaped requests; closed at the end)
  const wasmDist = join(dir, 'wasm', 'dist');
  const download = { wasm: gz(join(wasmDist, 'wisp.wasm')), worker: gz(join(wasmDist, 'wisp-worker.js')), model: gz(model) };
  download.total = download.wasm + download.worker + download.model;
  return { label, start, cold, keys, perLang, stats, modelFetches, download, total: summarize(keys), prefetchMs: mean(prefetches), profile, server, url };
}

const q = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
function summarize(ks) {
  const shownAll = ks.filter((k) => k.answered);
  // Keystrokes the engine answered (the old build answers every one so); the breakdown is theirs.
  const answered = shownAll.filter((k) => k.timings);
  const single = answered.filter((k) => k.timings.requests === 1);
  const reused = (kinds) => ks.filter((k) => kinds.includes(k.served) && k.suggested).length / Math.max(1, ks.length);
  const shown = shownAll.filter((k) => k.suggested).map((k) => k.latencyMs);
  const modes = {};
  for (const k of answered) modes[k.mode] = (modes[k.mode] ?? 0) + 1;
  return {
    keys: ks.length,
    answered: answered.length,
    typedShare: reused(['typed', 'same']),
    partialShare: ks.filter((k) => k.served === 'partial' && k.suggested).length / Math.max(1, ks.length),
    speculativeShare: reused(['speculative']),
    prefetchShare: reused(['prefetch']),
    reusedMiss: ks.filter((k) => k.served && k.served !== 'engine' && !k.agrees).length,
    agreeShare: ks.filter((k) => k.answered && k.agreesAll).length / Math.max(1, ks.length),
    p50: q(shown, 0.5),
    p95: q(shown, 0.95),
    nShown: shown.length,
    anyP50: q(shownAll.map((k) => k.latencyMs), 0.5),
    anyP95: q(shownAll.map((k) => k.latencyMs), 0.95),
    modes,
    continued: answered.filter((k) => k.timings.requests > 1).length,
    suggestedShare: ks.filter((k) => k.suggested).length / Math.max(1, ks.length),
    answeredShare: shownAll.length / Math.max(1, ks.length),
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
const gz = (p) => gzipSync(readFileSync(p), { level: 9 }).length;
const runs = [];
const prefetchToo = process.argv.includes('--prefetch-too');
if (oldDir) {
  rebuild(oldDir);
  runs.push({ ...(await measure(oldDir, 'old', options, true)), old: true });
}
runs.push(await measure(root, oldDir ? 'new' : 'this build'));
if (prefetchToo && oldDir) runs.push({ ...(await measure(oldDir, 'old, prefetched', { ...options, prefetch: true }, true)), old: true });
if (prefetchToo) runs.push(await measure(root, 'new, prefetched', { ...options, prefetch: true }));
// Block-shaped requests, once per build, the builds in turn (their first measure's server and profile).
const blockRuns = nBlocks > 0 && blockCases.length ? await measureBlocks(runs.filter((r) => !r.label.includes('prefetched'))) : [];
for (const r of runs) r.server.close();

const git = (...a) => { try { return execFileSync('git', a, { cwd: root, encoding: 'utf8' }).trim(); } catch { return '?'; } };
const commit = git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? ' (+ uncommitted changes)' : '');
const chromiumVersion = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim().split('\n').pop();
const machine = `${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores (load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} at the end of the run, shared with other work); ${chromiumVersion}; Node ${process.version}`;
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (b) => (b / 1e6).toFixed(2);
const ok = (v, budget) => (v <= budget ? 'ok' : `missed by ${f(v - budget)}`);

const cols = (fn) => runs.map(fn).join(' | ');
const verdict = (fn, budget) => runs.map((r) => ok(fn(r), budget)).join(' / ');
const lines = [];
lines.push(`## Browser latency${oldDir ? ', old and new builds side by side' : ''} (bench/browser/run.mjs)`);
lines.push('');
lines.push(`Date ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}${oldDir ? ` (new) against ${arg('--old-name', oldDir)} (old)` : ''}. Machine: ${machine}.`);
const info = runs.at(-1).start.info;
lines.push(`Model ${basename(modelPath)} (${mb(info.modelBytes)} MB, ${info.modelName || 'unnamed'}, sha256 ${info.modelSha256.slice(0, 12)}...)${oldModelPath ? `; the old build's: ${oldModelPath} (sha256 ${runs[0].start.info.modelSha256.slice(0, 12)}...)` : ''}.`);
lines.push(`Headless Chromium, one engine thread in a Web Worker, no SharedArrayBuffer. ${cases.length} dev cases (round-robin over languages), ${runs.at(-1).keys.length} keystrokes at ${options.minPaceMs}-${options.maxPaceMs} ms a key, an inline request per keystroke through the editors' steps (adaptive debounce <= ${options.debounceMs} ms, ${options.candidates} candidate(s), time budget ${options.timeBudgetMs} ms${options.adaptiveBudget ? ', adaptive in the new build' : ''}${options.speculate ? '' : ', no speculation'}). ${oldDir ? 'The old build runs first, then the new one, each in its own browser profile and server.' : ''} A suggestion served without the engine counts only when its next character is the key the trace types next.`);
lines.push('');
lines.push(`| measure | ${cols((r) => r.label)} | budget | verdict |`);
lines.push(`| --- | ${cols(() => '---')} | --- | --- |`);
lines.push(`| keystroke -> visible suggestion p50 | ${cols((r) => `${f(r.total.p50)} ms (${r.total.nShown} suggestions)`)} | <= 30 ms | ${verdict((r) => r.total.p50, 30)} |`);
lines.push(`| keystroke -> visible suggestion p95 | ${cols((r) => `${f(r.total.p95)} ms`)} | <= 100 ms | ${verdict((r) => r.total.p95, 100)} |`);
lines.push(`| keystrokes with a suggestion before the next key | ${cols((r) => `${f(100 * r.total.suggestedShare)} %`)} | >= 80 % | ${runs.map((r) => (r.total.suggestedShare >= 0.8 ? 'ok' : `missed by ${f(80 - 100 * r.total.suggestedShare)} points`)).join(' / ')} |`);
lines.push(`| of which served by typing through (or moving back to) a suggestion | ${cols((r) => `${f(100 * r.total.typedShare)} %`)} | | |`);
lines.push(`| of which served by a speculative suggestion | ${cols((r) => `${f(100 * r.total.speculativeShare)} %`)} | | |`);
lines.push(`| of which served by the prefetch | ${cols((r) => `${f(100 * r.total.prefetchShare)} %`)} | | |`);
lines.push(`| of which a block's streamed first line (visible before its whole answer) | ${cols((r) => `${f(100 * r.total.partialShare)} %`)} | | |`);
lines.push(`| reused suggestions whose next character was not the key typed next (not counted) | ${cols((r) => `${r.total.reusedMiss}`)} | | |`);
lines.push(`| keystrokes whose suggestion agrees with all that is typed next (engine or reused; stricter) | ${cols((r) => (!r.keys.some((k) => k.agreesAll !== undefined) ? 'not recorded' : `${f(100 * r.total.agreeShare)} %`))} | | |`);
lines.push(`| engine answers before the next key (empty ones included) | ${cols((r) => `${f(100 * r.total.answered / Math.max(1, r.total.keys))} %, p50 ${f(q(r.keys.filter((k) => k.timings).map((k) => k.latencyMs), 0.5))} ms; continued after a cut prefill: ${r.total.continued}`)} | | |`);
lines.push(`| cold start: worker + model from storage + the first suggestion of the prefetch at the cursor | ${cols((r) => `${f(r.cold.coldMs, 0)} ms (init ${f(r.start.initMs, 0)}: wasm ${f(r.start.info.startMs.wasm, 0)}${r.start.info.simd ? ` (${r.start.info.simd})` : ''}, model ${f(r.start.info.startMs.model, 0)}, engine ${f(r.start.info.startMs.engine, 0)}; model fetches ${r.modelFetches})`)} | <= 1500 ms | ${verdict((r) => r.cold.coldMs, 1500)} |`);
if (runs.some((r) => r.prefetchMs > 0)) lines.push(`| prefetch before each trace's first keystroke (idle time, not in the latencies), mean | ${cols((r) => (r.prefetchMs > 0 ? `${f(r.prefetchMs, 0)} ms` : '-'))} | | |`);
lines.push(`| first keystroke, 100 ms after that first suggestion | ${cols((r) => (r.cold.firstKeyMs === undefined ? 'not measured' : `${f(r.cold.firstKeyMs)} ms (${r.cold.firstKeyServed}${r.cold.timings ? `, prefill ${f(r.cold.timings.prefillMs, 0)} ms for ${r.cold.timings.promptTokens - r.cold.timings.reusedTokens} new tokens` : ''})`))} | warm p50 | |`);
lines.push(`| download, gzip -9: wasm + worker + model | ${cols((r) => `${mb(r.download.total)} MB (${mb(r.download.wasm)} + ${mb(r.download.worker)} + ${mb(r.download.model)})`)} | <= 60 MB | ${verdict((r) => r.download.total / 1e6, 60)} |`);
lines.push(`| WebAssembly heap after the run | ${cols((r) => `${mb(r.stats?.heapBytes ?? 0)} MB`)} | <= 200 MB | ${verdict((r) => (r.stats?.heapBytes ?? 0) / 1e6, 200)} |`);
lines.push('');
for (const r of runs) {
  const t = r.total;
  lines.push(`${r.label}: where the time goes (mean per engine-answered keystroke; messaging over single-request answers; ms): debounce ${f(t.debounce)}, waiting behind the previous request ${f(t.queue)}, applying the keystroke's edit ${f(t.edit)}, messaging ${f(t.messaging)} (median ${f(t.messagingP50)}), context ${f(t.context)}, prompt ${f(t.prompt)}, prefill ${f(t.prefill)}, decode ${f(t.decode)}, trim ${f(t.trim)} (engine ${f(t.engine)}); prompt ${f(t.promptTokens, 0)} tokens of which ${f(t.reusedTokens, 0)} reused from the KV cache; by mode: ${Object.entries(t.modes).map(([m, n]) => `${m} ${n}`).join(', ')}.`);
  lines.push('');
}
lines.push(`| language | ${cols((r) => `${r.label} p50 / p95 ms, with suggestion`)} |`);
lines.push(`| --- | ${cols(() => '---')} |`);
for (const lang of runs[0].perLang.keys()) {
  lines.push(`| ${lang} | ${cols((r) => { const s = summarize(r.perLang.get(lang) ?? []); return `${f(s.p50)} / ${f(s.p95)}, ${f(100 * s.suggestedShare)} %`; })} |`);
}
// Block-shaped requests: Enter in an empty body, once per build.
if (blockRuns.length) {
  const budgets = [...new Set(blockRuns[0].blocks.map((b) => b.budget))];
  const ms = (xs, p) => f(q(xs, p));
  lines.push('');
  lines.push(`Block-shaped requests: ${blockCases.length} dev cases with the cursor in an empty body (${blockCases.map((c) => c.id).join(', ')}); the line before completed first, then Enter typed and the block asked for through the inline steps (one request each), the builds in turn case by case, each in a browser of its own. Visible: when the inline steps returned a suggestion (a streamed first line where the build streams); whole: when the whole answer was there.`);
  lines.push('');
  lines.push(`| block request | ${blockRuns.map((r) => r.label).join(' | ')} |`);
  lines.push(`| --- | ${blockRuns.map(() => '---').join(' | ')} |`);
  for (const budget of budgets) {
    const sel = (r) => r.blocks.filter((b) => b.budget === budget);
    const shown = (r) => sel(r).filter((b) => b.shown);
    const name = budget ? `time budget ${budget} ms (adaptive)` : 'no time budget';
    lines.push(`| ${name}: keystroke -> visible suggestion p50 / p95 / mean | ${blockRuns.map((r) => `${ms(shown(r).map((b) => b.visibleMs), 0.5)} / ${ms(shown(r).map((b) => b.visibleMs), 0.95)} / ${f(mean(shown(r).map((b) => b.visibleMs)))} ms (${shown(r).length} of ${sel(r).length} with a suggestion)`).join(' | ')} |`);
    lines.push(`| ${name}: keystroke -> whole answer p50 / p95 / mean | ${blockRuns.map((r) => `${ms(sel(r).filter((b) => b.wholeMs !== null).map((b) => b.wholeMs), 0.5)} / ${ms(sel(r).filter((b) => b.wholeMs !== null).map((b) => b.wholeMs), 0.95)} / ${f(mean(sel(r).filter((b) => b.wholeMs !== null).map((b) => b.wholeMs)))} ms`).join(' | ')} |`);
    lines.push(`| ${name}: streamed first lines (whole answer began with it) | ${blockRuns.map((r) => `${sel(r).filter((b) => b.streamed).length} (${sel(r).filter((b) => b.firstIsStart).length})`).join(' | ')} |`);
    lines.push(`| ${name}: whole answers of more than one line; mean lines | ${blockRuns.map((r) => `${sel(r).filter((b) => b.lines > 1).length}; ${f(mean(sel(r).filter((b) => b.lines > 0).map((b) => b.lines)))}`).join(' | ')} |`);
  }
  lines.push('');
  if (process.env.WISP_BENCH_DEBUG) for (const r of blockRuns) console.error(r.label, JSON.stringify(r.blocks));
}
const section = lines.join('\n');
console.log(section);

if (write) {
  // A new dated entry at the end: the record keeps the older ones.
  const resultsPath = join(root, 'bench', 'RESULTS.md');
  const md = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '# Benchmark results\n';
  writeFileSync(resultsPath, `${md.trimEnd()}\n\n${section}\n`);
  console.error(`appended to ${resultsPath}`);
}
