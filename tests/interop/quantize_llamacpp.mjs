// Does llama.cpp load what `wisp quantize` writes? Loads each GGUF given on the command line with
// node-llama-cpp (bench/peers, CPU, one thread), runs a short greedy continuation and prints the
// tokens. The first file is the reference: files whose name contains "q8_0" or "f16" must agree
// with its first greedy token (random tiny models: a wider comparison would test rounding luck).
// Run through scripts/check-quantize-llamacpp.sh. Exit 1 when a file fails to load or disagrees.
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
