// llama.cpp's server, as far as the benchmark needs it: POST /infill on node-llama-cpp 3.22.1
// (bench/peers/, CPU, --threads N), answering {content, tokens_predicted, timings}. Like
// `llama-server -np 1`: one context sequence, requests served one at a time in arrival order,
// the KV cache reused between requests (node-llama-cpp keeps the common prefix). Greedy decoding,
// no repeat penalty, the model's own FIM tokens (generateInfillCompletion).
//
//   node bench/serve/llamacpp_server.mjs --model M.gguf [--port 0] [--threads 1] [--ctx 1024]
// Prints "listening on http://127.0.0.1:PORT" to stderr when ready.
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";

const here = path.dirname(new URL(import.meta.url).pathname);
const { getLlama, LlamaLogLevel, LlamaCompletion } = await import(
  pathToFileURL(path.join(here, "../peers/node_modules/node-llama-cpp/dist/index.js")).href);

let modelPath = null, port = 0, threads = 1, ctxSize = 1024;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--model") modelPath = argv[++i];
  else if (argv[i] === "--port") port = Number(argv[++i]);
  else if (argv[i] === "--threads") threads = Number(argv[++i]);
  else if (argv[i] === "--ctx") ctxSize = Number(argv[++i]);
}
if (!modelPath) {
  console.error("usage: node bench/serve/llamacpp_server.mjs --model M.gguf [--port N] [--threads N] [--ctx N]");
  process.exit(2);
}
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const ctx = await model.createContext({ contextSize: ctxSize, threads, batchSize: 512, sequences: 1 });
const completion = new LlamaCompletion({ contextSequence: ctx.getSequence() });
if (!completion.infillSupported) {
  console.error("the model has no FIM tokens llama.cpp recognises");
  process.exit(1);
}

let queue = Promise.resolve();
const send = (res, status, obj) => {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(obj));
};
const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/health") return send(res, 200, { status: "ok" });
  if (req.method !== "POST" || req.url !== "/infill") return send(res, 404, { error: { code: 404 } });
  let body = "";
  req.on("data", (c) => { body += c; });
  req.on("end", () => {
    let q;
    try { q = JSON.parse(body); } catch { return send(res, 400, { error: { code: 400 } }); }
    queue = queue.then(async () => {
      const t0 = performance.now();
      let n = 0;
      const text = await completion.generateInfillCompletion(
        (q.input_prefix ?? "") + (q.prompt ?? ""), q.input_suffix ?? "", {
          maxTokens: q.n_predict > 0 ? q.n_predict : 128, temperature: 0, repeatPenalty: false,
          trimWhitespaceSuffix: false, onToken: (t) => { n += t.length; } });
      send(res, 200, { content: text, tokens_predicted: n, timings: { total_ms: performance.now() - t0 } });
    }).catch((e) => send(res, 500, { error: { code: 500, message: String(e) } }));
  });
});
server.listen(port, "127.0.0.1", () => {
  console.error(`listening on http://127.0.0.1:${server.address().port}`);
});
const stop = async () => { server.close(); await ctx.dispose(); await model.dispose(); await llama.dispose(); process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
