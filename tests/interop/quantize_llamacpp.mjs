// Does llama.cpp load what `wisp quantize` writes, and agree with wisp on it? Loads each GGUF given
// on the command line with node-llama-cpp (bench/peers, CPU, one thread, F32 KV cache like wisp's
// default), runs a short greedy continuation, and runs the same prompt ids through
// `build/wisp generate --raw-ids --temp 0`. Fails (exit 1) when a file does not load, or when wisp
// and llama.cpp give different greedy ids for an F32, F16 or Q8_0 file. Q4_0 comparisons are
// printed but not enforced: llama.cpp's Q4_0 matmul rounds the activations to Q8_0 as well, and
// these random tiny models have near-tied logits, so greedy ids may part after a few tokens.
// Run through scripts/check-quantize-llamacpp.sh.
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const { getLlama, LlamaLogLevel } = await import(
  pathToFileURL(path.join(root, "bench/peers/node_modules/node-llama-cpp/dist/index.js")).href);
const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: "never" });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const model = await llama.loadModel({ modelPath: file });
    // F32 KV cache: llama.cpp's default F16 cache rounds keys/values, and on these random tiny
    // models that alone flips greedy ids (wisp with --kv-f16 then matches llama.cpp's defaults)
    const ctx = await model.createContext({ contextSize: 64, threads: 1,
      experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
    const seq = ctx.getSequence();
    const prompt = model.tokenize("def add(a, b):\n    return");
    const out = [];
    for await (const t of seq.evaluate(prompt, { temperature: 0 })) {
      out.push(t);
      if (out.length >= 8) break;
    }
    const wispOut = execFileSync(path.join(root, "build/wisp"),
      ["generate", file, prompt.join(" "), "--raw-ids", "--temp", "0", "--n", String(out.length)],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const wispIds = wispOut.trim().split(/[\s,]+/).filter(Boolean).map(Number);
    const n = Math.min(wispIds.length, out.length);
    const same = n > 0 && wispIds.slice(0, n).every((t, i) => t === out[i]);
    const enforced = !/q4_0/.test(path.basename(file));
    console.log(`${file}: llama.cpp ${out.join(" ")} | wisp ${wispIds.join(" ")}: ` +
      (same ? "same" : enforced ? "DIFFERENT" : "different (q4_0: not enforced)"));
    if (!same && enforced) failed++;
    await ctx.dispose();
    await model.dispose();
  } catch (e) {
    console.log(`${file}: FAILED to load: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
