// The page side of bench/speculative/browser.mjs (injected into the server's page as a module
// script): one Web Worker per decoding setting, each with its own engine started by the editors'
// client (WispClient) and `init` (InitParams.speculative, as the settings wisp.speculative.draft /
// .depth reach it), and the relaxed-SIMD build where this Chromium runs it, as the editors ask.
import { WispClient } from '/wasm/index.js';

const docs = new Map();
let engines = []; // [{ name, client }]

// Starts one worker per run ({ name, speculative? }), one after the other.
window.specStart = async function (modelUrl, runs, relaxed) {
  const infos = [];
  for (const run of runs) {
    const worker = new Worker('/wasm/wisp-worker.js');
    const client = new WispClient(worker, (uri) => docs.get(uri));
    const t0 = performance.now();
    const r = await client.init({ wasmUrl: '/wasm/wisp.wasm', model: { kind: 'url', url: modelUrl },
      ...(relaxed ? { relaxed: { wasmUrl: '/wasm/wisp-relaxed.wasm', kernelsUrl: '/wasm/wisp-kernels-relaxed.wasm' } } : {}),
      ...(run.speculative ? { speculative: run.speculative } : {}) });
    if (!r.ok) return { ok: false, error: `${run.name}: ${JSON.stringify(r.error)}` };
    engines.push({ name: run.name, client });
    infos.push({ name: run.name, initMs: performance.now() - t0, ...r.value });
  }
  return { ok: true, infos };
};

// One case: the file (prefix + suffix, at the case's path) completed at the cursor by every
// engine in turn, back to back. `languageId` is what an editor would give for the path.
window.specCase = async function (c, languageId, options) {
  const uri = `file:///spec/${c.id}/${c.path}`;
  const text = c.prefix + c.suffix;
  docs.set(uri, { text, version: 1, languageId });
  const lines = c.prefix.split('\n');
  const position = { line: lines.length - 1, character: lines[lines.length - 1].length };
  const out = [];
  for (const { name, client } of engines) {
    const o = await client.open(uri);
    if (!o.ok) return { error: `${name}: open: ${JSON.stringify(o.error)}` };
    const r = await client.complete(uri, 1, position, options);
    await client.close(uri);
    if (!r.ok) return { error: `${name}: complete: ${JSON.stringify(r.error)}` };
    const t = r.value.timings;
    const item = r.value.items[0];
    out.push({ name, text: item?.text ?? '', meanLogprob: item?.meanLogprob ?? null, mode: r.value.mode,
      decodeMs: t.decodeMs, prefillMs: t.prefillMs, engineMs: t.engineMs, promptTokens: t.promptTokens,
      reusedTokens: t.reusedTokens, generated: t.generatedTokens, drafted: t.draftedTokens, accepted: t.acceptedTokens,
      requests: t.requests });
  }
  docs.delete(uri);
  return { out };
};

window.specReady = true;
