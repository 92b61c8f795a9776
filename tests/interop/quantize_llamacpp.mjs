// Does llama.cpp load what `wisp quantize` writes, and agree with wisp on it? Loads each GGUF given
// on the command line with node-llama-cpp (bench/peers, CPU, one thread), runs a short greedy
// continuation, and runs the same prompt ids through `build/wisp generate --raw-ids --temp 0`:
// the greedy ids must be the same (up to where wisp stops at an end token). Across files, the
// first is the reference: files named *q8_0* or *f16* must agree with its first greedy token.
// Run through scripts/check-quantize-llamacpp.sh. Exit 1 on a load failure or a disagreement.
import { execFileSync } from "node:child_process";
import { pathToFileURL } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const { getLlama, LlamaLogLevel } = await import(
  pathToFileURL(path.join(root, "bench/peers/node_modules/node-llama-cpp/dist/index.js")).href);
const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, build: "never" });

let failed = 0;
let reference = null;
for (const file of process.argv.slice(2)) {
  try {
    const model = await llama.loadModel({ modelPath: file });
    const ctx = await model.createContext({ contextSize: 64, threads: 1 });
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
    console.log(`${file}: wisp greedy ids ${wispIds.join(" ")} (${same ? "same as llama.cpp" : "DIFFERENT from llama.cpp"})`);
    if (!same) failed++;
    if (reference === null) reference = out;
    const strict = /q8_0|f16/.test(path.basename(file));
    const agrees = out[0] === reference[0];
    console.log(`${file}: loaded, greedy ids ${out.join(" ")}${strict ? (agrees ? " (first agrees)" : " (DISAGREES)") : ""}`);
    if (strict && !agrees) failed++;
    await ctx.dispose();
    await model.dispose();
  } catch (e) {
    console.log(`${file}: FAILED to load: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
