// The page side of the browser benchmark (bench/browser/run.mjs drives it). It uses the same
// client, worker and inline steps (wasm/src/inline.ts: typing-through reuse, speculation, adaptive
// debounce) as the editors, and replays typing traces: one keystroke every 80-120 ms, an edit and
// an inline request per keystroke, a newer keystroke cancelling the older one's token, as the
// editor's CancellationToken does.
import { InlineCompleter, WispClient } from '/wasm/index.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A small seeded generator, so that every run types at the same pace.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

let client = null;
const docs = new Map();

// Starts the worker and the engine; with the model in browser storage this is the cold start.
window.benchStart = async function (modelUrl) {
  const t0 = performance.now();
  const worker = new Worker('/wasm/wisp-worker.js');
  client = new WispClient(worker, (uri) => docs.get(uri));
  // The relaxed-SIMD build where this Chromium runs it, as the editors ask (wasm/README.md).
  const r = await client.init({ wasmUrl: '/wasm/wisp.wasm', model: { kind: 'url', url: modelUrl },
    relaxed: { wasmUrl: '/wasm/wisp-relaxed.wasm', kernelsUrl: '/wasm/wisp-kernels-relaxed.wasm' } });
  return { ok: r.ok, error: r.ok ? null : r.error, info: r.ok ? r.value : null, initMs: performance.now() - t0, t0 };
};

// The first answer of a fresh engine: the document is opened and prefetched at its cursor, as
// the editors do when a file is opened or focused (the first suggestion the prefetch leaves in
// the cache is the end of the cold start); then the first keystroke, typed after it.
window.benchFirst = async function (c, t0) {
  const uri = 'file:///first/' + c.path;
  let text = c.prefix + c.suffix;
  docs.set(uri, { text, version: 1, languageId: c.lang });
  const ic = new InlineCompleter(client, { maxDebounceMs: 75 });
  const pos = positionAt(c.prefix);
  const q = { uri, version: 1, position: pos, text, offset: c.prefix.length, options: { nCandidates: 1, timeBudgetMs: 150 } };
  // Every piece the worker answers until the first suggestion, for the debug log.
  const pieces = [];
  const request = client.request;
  client.request = (type, params, ...rest) => {
    const t = performance.now();
    const r = request.call(client, type, params, ...rest);
    if (type === 'speculate') {
      void r.then((x) => pieces.push({ promptTokens: params.options.promptTokens ?? 0, ms: Math.round(performance.now() - t),
        ...(x.ok ? Object.fromEntries(Object.entries(x.value.timings).map(([k, v]) => [k, Math.round(v)])) : { error: x.error.code }) }));
    }
    return r;
  };
  const tOpen = performance.now();
  const first = new Promise((resolve) => { ic.onEvent = (ev) => { if (ev.kind === 'prefetches') resolve(); }; });
  await Promise.race([first, ic.prefetch(ready, () => q)]);
  const tFirst = performance.now();
  client.request = request;
  const coldMs = tFirst - t0;
  const prefetchMs = tFirst - tOpen;
  const prefetched = ic.counts.prefetches > 0;
  // The first keystroke: the first character of the expected text.
  await sleep(100);
  const ch = c.expected[0] ?? ' ';
  text = c.prefix + ch + c.suffix;
  docs.set(uri, { text, version: 2, languageId: c.lang });
  void client.edit(uri, 2, [{ rangeOffset: c.prefix.length, rangeLength: 0, text: ch }]);
  const tKey = performance.now();
  let timings = null;
  let served = 'engine';
  const items = await ic.complete(makeToken(), ready, () => ({ ...q, version: 2, text, offset: c.prefix.length + 1, position: positionAt(c.prefix + ch) }),
    { onDone: (ms, r) => { timings = r.timings; }, onReuse: (h) => { served = h.kind; } });
  const firstKeyMs = performance.now() - tKey;
  ic.cancelSpeculation();
  await client.close(uri);
  return { ok: prefetched, items: items.length, coldMs, prefetchMs, firstKeyMs, firstKeyServed: served, timings, pieces };
};

function positionAt(text) {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

// A suggestion against what the trace types next: `next` when its next character is the one the
// user types next (so the suggestion is still there after that keystroke), `all` when it agrees
// with everything typed next, as far as both go.
function agrees(suggestion, next) {
  const n = Math.min(suggestion.length, next.length);
  return { next: n > 0 && suggestion[0] === next[0], all: n > 0 && suggestion.slice(0, n) === next.slice(0, n) };
}

// A cancellation token as the editors give one, cancelled by the next keystroke.
function makeToken() {
  const listeners = [];
  return {
    isCancellationRequested: false,
    onCancellationRequested(fn) { listeners.push(fn); return { dispose() {} }; },
    cancel() { this.isCancellationRequested = true; for (const fn of listeners) fn(); },
  };
}

const ready = Promise.resolve(true);

// Replays one case: types the first line of `expected` after `prefix`, through the editors' own
// InlineCompleter (typing-through reuse, speculation, adaptive debounce and budget).
window.benchTrace = async function (c, options) {
  const uri = 'file:///bench/' + c.id + '/' + c.path;
  let text = c.prefix + c.suffix;
  let cursor = c.prefix.length;
  let version = 1;
  docs.set(uri, { text, version, languageId: c.lang });
  const opened = await client.open(uri);
  if (!opened.ok) return { error: opened.error, keys: [] };
  const ic = new InlineCompleter(client, { maxDebounceMs: options.debounceMs, speculate: options.speculate, adaptiveBudget: options.adaptiveBudget });
  // The file was just opened or focused at this cursor: the editors prefetch there, in the idle
  // time before the first keystroke (not counted in any keystroke's latency).
  let prefetchMs = 0;
  if (options.prefetch) {
    const t = performance.now();
    await ic.prefetch(ready, () => ({ uri, version, position: positionAt(c.prefix), text, offset: cursor,
      options: { maxLines: options.maxLines, nCandidates: options.candidates, timeBudgetMs: options.timeBudgetMs } }));
    prefetchMs = performance.now() - t;
  }
  const typed = c.expected.split('\n')[0];
  const rand = rng(options.seed ^ c.id.length ^ typed.length);
  const keys = [];
  let inflight = null;
  let token = null;
  let done = 0; // UTF-16 units of c.expected typed so far
  for (const ch of typed) {
    const tKey = performance.now();
    text = text.slice(0, cursor) + ch + text.slice(cursor);
    const at = cursor;
    cursor += ch.length;
    done += ch.length;
    version++;
    docs.set(uri, { text, version, languageId: c.lang });
    void client.edit(uri, version, [{ rangeOffset: at, rangeLength: 0, text: ch }]);
    token?.cancel();
    const tok = (token = makeToken());
    const key = { answered: false, suggested: false, served: null, agrees: false, latencyMs: 0, debounceMs: ic.debounce.delayMs, timings: null, cancelled: false, wholeMs: null };
    keys.push(key);
    const q = { uri, version, position: positionAt(text.slice(0, cursor)), text, offset: cursor,
      options: { maxLines: options.maxLines, nCandidates: options.candidates, timeBudgetMs: options.timeBudgetMs } };
    const next = c.expected.slice(done);
    inflight = (async () => {
      let result = null;
      let served = 'engine';
      let requestMs = 0;
      const items = await ic.complete(tok, ready, () => q, {
        onDone: (ms, r) => {
          result = r;
          requestMs = ms;
          // the whole answer after a streamed first line that was already counted as shown
          if (key.served === 'partial') { key.wholeMs = performance.now() - tKey; key.timings = r.timings; key.mode = r.mode; key.requestMs = ms; }
        },
        onReuse: (h) => { served = h.kind; },
        onError: (m) => { key.error = m; },
        // Streaming, as the editors get it (the new build; an old one ignores these): the first
        // line of a block is what the editor shows at once; the editor would then ask again for
        // the whole answer (not needed here: the trace types on).
        onPartial: () => { served = 'partial'; },
        onRefresh: () => {},
      });
      const now = performance.now();
      if (tok.isCancellationRequested) {
        key.cancelled = true;
        if (options.debug && result) key.late = result.timings; // for the per-key log only
        return;
      }
      if (served === 'engine' && !result) return; // failed (a streamed first line has no result yet)
      key.answered = true;
      key.served = served;
      key.latencyMs = now - tKey;
      key.requestMs = requestMs;
      const a = items.length > 0 ? agrees(items[0].text, next) : { next: false, all: false };
      key.agrees = a.next;
      key.agreesAll = a.all;
      if (options.debug) { key.shown = items[0]?.text.slice(0, 24); key.next = next.slice(0, 24); }
      // An engine answer counts as before (any suggestion), and so does a streamed first line (the
      // editor draws it at this moment); a reused one only when the key typed next is its next
      // character.
      key.suggested = items.length > 0 && (served === 'engine' || served === 'partial' || key.agrees);
      if (result) { key.timings = result.timings; key.mode = result.mode; }
    })();
    const pace = options.minPaceMs + (options.maxPaceMs - options.minPaceMs) * rand();
    await sleep(Math.max(0, tKey + pace - performance.now()));
  }
  await inflight;
  ic.cancelSpeculation();
  await client.close(uri);
  docs.delete(uri);
  return { keys, typed, counts: ic.counts, prefetchMs };
};

window.benchStats = async function () {
  const r = await client.stats();
  return r.ok ? r.value : null;
};
