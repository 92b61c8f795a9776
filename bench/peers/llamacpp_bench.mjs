// Times llama.cpp (node-llama-cpp 3.22.1, CPU, threads 1) on a GGUF file: prompt processing of the
// given prompt ids and greedy generation of N tokens after it. Prints one JSON line per file:
//   {"file", "n_prompt", "pp_ms", "pp_tok_s", "n_gen", "tg_ms", "tg_tok_s", "pp_cpu_ms", "tg_cpu_ms"}
// *_cpu_ms is the process's CPU time (process.cpuUsage, user + system, all threads: llama.cpp's
// one compute thread plus node's mostly idle ones), which a loaded machine inflates far less.
// pp = the prompt evaluated in one batch (evaluateWithoutGeneratingNewTokens), tg = N tokens
// generated one at a time after it, with end-of-generation ignored (the same work as `wisp
// generate --n N`). Best of --reps runs, each in a fresh sequence (no cache reuse).
//
//   node bench/peers/llamacpp_bench.mjs --prompt-file IDS.txt --n 64 --reps 3 MODEL.gguf...
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const { getLlama, LlamaLogLevel } = await import(
  pathToFileURL(path.join(here, "node_modules/node-llama-cpp/dist/index.js")).href);

let promptFile = null, nGen = 64, reps = 3;
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--prompt-file") promptFile = argv[++i];
  else if (argv[i] === "--n") nGen = Number(argv[++i]);
  else if (argv[i] === "--reps") reps = Number(argv[++i]);
  else files.push(argv[i]);
}
if (!promptFile || files.length === 0) {
  console.error("usage: node bench/peers/llamacpp_bench.mjs --prompt-file IDS.txt [--n N] [--reps R] MODEL.gguf...");
  process.exit(2);
}
const prompt = readFileSync(promptFile, "utf8").trim().split(/[\s,]+/).map(Number);

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
for (const file of files) {
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 1024, threads: 1, batchSize: 512, sequences: 1 });
  let best = { pp_ms: Infinity, tg_ms: Infinity, pp_cpu_ms: Infinity, tg_cpu_ms: Infinity };
  const cpuMs = (c) => (c.user + c.system) / 1e3;
  for (let r = 0; r < reps; r++) {
    const seq = ctx.getSequence();
    let c0 = process.cpuUsage();
    let t0 = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    const pp = performance.now() - t0;
    const ppCpu = cpuMs(process.cpuUsage(c0));
    // Generation: feed the last prompt token's greedy continuation one token at a time.
    let n = 0;
    c0 = process.cpuUsage();
    t0 = performance.now();
    for await (const t of seq.evaluate([prompt[prompt.length - 1]], { temperature: 0 })) {
      void t;
      if (++n >= nGen) break;
    }
    const tg = performance.now() - t0;
    const tgCpu = cpuMs(process.cpuUsage(c0));
    seq.dispose();
    best = { pp_ms: Math.min(best.pp_ms, pp), tg_ms: Math.min(best.tg_ms, tg),
      pp_cpu_ms: Math.min(best.pp_cpu_ms, ppCpu), tg_cpu_ms: Math.min(best.tg_cpu_ms, tgCpu) };
  }
  console.log(JSON.stringify({ file: path.basename(file), n_prompt: prompt.length, pp_ms: +best.pp_ms.toFixed(2),
    pp_tok_s: +(prompt.length * 1e3 / best.pp_ms).toFixed(1), n_gen: nGen, tg_ms: +best.tg_ms.toFixed(2),
    tg_tok_s: +(nGen * 1e3 / best.tg_ms).toFixed(1), pp_cpu_ms: +best.pp_cpu_ms.toFixed(2),
    tg_cpu_ms: +best.tg_cpu_ms.toFixed(2) }));
  await ctx.dispose();
  await model.dispose();
}
await llama.dispose();
