// The page side of the browser benchmark (bench/browser/run.mjs drives it). It uses the same
// client, worker and adaptive debounce as the editors, and replays typing traces: one keystroke
// every 80-120 ms, an edit and a completion request per keystroke, a newer keystroke aborting the
// request of the older one, as the editor's CancellationToken does.
import { AdaptiveDebounce, WispClient } from '/wasm/index.js';

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
  const r = await client.init({ wasmUrl: '/wasm/wisp.wasm', model: { kind: 'url', url: modelUrl } });
  return { ok: r.ok, error: r.ok ? null : r.error, info: r.ok ? r.value : null, initMs: performance.now() - t0, t0 };
};

// One request at the first case's cursor: the end of the cold start.
window.benchFirst = async function (c, t0) {
  const uri = 'file:///first/' + c.path;
  docs.set(uri, { text: c.prefix + c.suffix, version: 1, languageId: c.lang });
  const pos = positionAt(c.prefix);
  const r = await client.complete(uri, 1, pos, { nCandidates: 1, timeBudgetMs: 150 });
  const coldMs = performance.now() - t0;
  await client.close(uri);
  return { ok: r.ok, error: r.ok ? null : r.error, items: r.ok ? r.value.items.length : 0, coldMs, timings: r.ok ? r.value.timings : null };
};

function positionAt(text) {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

// Replays one case: types the first line of `expected` after `prefix`.
window.benchTrace = async function (c, options) {
  const uri = 'file:///bench/' + c.id + '/' + c.path;
  let text = c.prefix + c.suffix;
  let cursor = c.prefix.length;
  let version = 1;
  docs.set(uri, { text, version, languageId: c.lang });
  const opened = await client.open(uri);
  if (!opened.ok) return { error: opened.error, keys: [] };
  const debounce = new AdaptiveDebounce(0, options.debounceMs, 30);
  const typed = c.expected.split('\n')[0];
  const rand = rng(options.seed ^ c.id.length ^ typed.length);
  const keys = [];
  let inflight = null;
  let ac = null;
  for (const ch of typed) {
    const tKey = performance.now();
    text = text.slice(0, cursor) + ch + text.slice(cursor);
    const at = cursor;
    cursor += ch.length;
    version++;
    docs.set(uri, { text, version, languageId: c.lang });
    void client.edit(uri, version, [{ rangeOffset: at, rangeLength: 0, text: ch }]);
    ac?.abort();
    ac = new AbortController();
    const key = { answered: false, suggested: false, latencyMs: 0, debounceMs: 0, timings: null, cancelled: false };
    keys.push(key);
    const signal = ac.signal;
    const v = version;
    const pos = positionAt(text.slice(0, cursor));
    inflight = (async () => {
      const tWait = performance.now();
      if (!(await debounce.wait(signal))) { key.cancelled = true; return; }
      key.debounceMs = performance.now() - tWait;
      const tReq = performance.now();
      const r = await client.complete(uri, v, pos, { maxLines: options.maxLines, nCandidates: options.candidates, timeBudgetMs: options.timeBudgetMs }, signal);
      const now = performance.now();
      if (!r.ok) { key.cancelled = r.error.code === 'cancelled'; key.error = r.ok ? null : r.error.code; return; }
      debounce.record(now - tReq);
      if (signal.aborted) { key.cancelled = true; return; }
      key.answered = true;
      key.latencyMs = now - tKey;
      key.requestMs = now - tReq;
      key.suggested = r.value.items.length > 0;
      key.timings = r.value.timings;
      key.mode = r.value.mode;
    })();
    const pace = options.minPaceMs + (options.maxPaceMs - options.minPaceMs) * rand();
    await sleep(Math.max(0, tKey + pace - performance.now()));
  }
  await inflight;
  await client.close(uri);
  docs.delete(uri);
  return { keys, typed };
};

window.benchStats = async function () {
  const r = await client.stats();
  return r.ok ? r.value : null;
};
