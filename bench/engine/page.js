// The browser side of the engine benchmark (bench/engine/browser.mjs drives it in headless
// Chromium): the same GGUF files, prompt ids and generation length through wisp's WebAssembly
// engine (build-bench-engine/bench_engine.mjs: build-wasm's libwisp_core.a, -msimd128, one thread)
// and through @wllama/wllama 3.8.1 (llama.cpp in WASM, single-thread build, n_threads 1).
// window.benchWisp / window.benchWllama each return {pp_ms, tg_ms, n_prompt, n_gen}, best of reps.
import createBench from '/build-bench-engine/bench_engine.mjs';
import { Wllama } from '/bench/peers/node_modules/@wllama/wllama/esm/index.js';

const WLLAMA_WASM = '/bench/peers/node_modules/@wllama/wllama/esm/wasm/wllama.wasm';
let bench = null;

// wisp: the model's bytes copied into the module's heap, timed inside C (bench_wasm_run).
window.benchWisp = async (url, promptIds, nGen, reps) => {
  bench ??= await createBench();
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const data = bench._malloc(bytes.length);
  const tokens = bench._malloc(4 * (promptIds.length + nGen));
  const out = bench._malloc(16);
  try {
    bench.HEAPU8.set(bytes, data);
    bench.HEAP32.set(promptIds, tokens >> 2);
    const rc = bench._bench_wasm_run(data, bytes.length, tokens, promptIds.length, nGen, reps, out);
    if (rc !== 0) throw new Error(`bench_wasm_run failed on ${url}`);
    return { pp_ms: bench.HEAPF64[out >> 3], tg_ms: bench.HEAPF64[(out >> 3) + 1], n_prompt: promptIds.length, n_gen: nGen };
  } finally {
    bench._free(out);
    bench._free(tokens);
    bench._free(data);
  }
};

// wllama: llama.cpp's own timings (llama-server's prompt_ms / predicted_ms) of a raw completion of
// the prompt's text (wllama 3.8.1 fails on a prompt given as ids; its tokenizer gives the same ids,
// BOS included, which bench/engine/run.sh checks through node-llama-cpp), greedy, end-of-generation ignored, nothing reused from the previous run.
window.benchWllama = async (url, promptText, nGen, reps) => {
  const wllama = new Wllama({ default: WLLAMA_WASM, 'single-thread/wllama.wasm': WLLAMA_WASM }, { allowOffline: true, suppressNativeLog: true });
  wllama.setCompat(null);
  await wllama.loadModelFromUrl(url, { n_ctx: 1024, n_batch: 512, n_ubatch: 512, n_threads: 1, n_gpu_layers: 0, useCache: false, warmup: false });
  const threads = wllama.getNumThreads();
  let best = { pp_ms: Infinity, tg_ms: Infinity, n_prompt: 0, n_gen: 0, threads };
  for (let r = 0; r < reps; r++) {
    const res = await wllama.createCompletion({ prompt: promptText, max_tokens: nGen, temperature: 0, ignore_eos: true, cache_prompt: false });
    const t = res.timings;
    best = { pp_ms: Math.min(best.pp_ms, t.prompt_ms), tg_ms: Math.min(best.tg_ms, t.predicted_ms),
      n_prompt: t.prompt_n, n_gen: t.predicted_n, threads };
  }
  await wllama.exit();
  return best;
};
window.benchReady = true;
