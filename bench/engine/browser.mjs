// Runs bench/engine/page.js in headless Chromium (one page, no SharedArrayBuffer, so both engines
// run one thread) on localhost: for each GGUF file, wisp's WASM engine then wllama, and prints one
// JSON line per (engine, file): {"engine", "file", "n_prompt", "pp_ms", "pp_tok_s", "n_gen", "tg_ms", "tg_tok_s"}.
//   node bench/engine/browser.mjs --prompt PREFIX [--n 64] [--reps 3] [--wisp-only] MODEL.gguf...
// --wisp-only: skip wllama (minutes per 100M model), for a quick look at wisp's WASM alone.
// PREFIX.ids: the prompt's ids (wisp), PREFIX.txt: its text (wllama); see make_prompt.py.
import { createServer } from 'node:http';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(path.join(root, 'deps', 'node_modules', 'x.js'))('playwright-core');
let promptFile = null, nGen = 64, reps = 3, wispOnly = false;
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--prompt') promptFile = argv[++i];
  else if (argv[i] === '--n') nGen = Number(argv[++i]);
  else if (argv[i] === '--reps') reps = Number(argv[++i]);
  else if (argv[i] === '--wisp-only') wispOnly = true;
  else files.push(path.resolve(argv[i]));
}
if (!promptFile || files.length === 0) {
  console.error('usage: node bench/engine/browser.mjs --prompt PREFIX [--n 64] [--reps 3] [--wisp-only] MODEL.gguf...');
  process.exit(2);
}
const prompt = readFileSync(promptFile + '.ids', 'utf8').trim().split(/[\s,]+/).map(Number);
const promptText = readFileSync(promptFile + '.txt', 'utf8');

// Static files of the repository, read-only, localhost only.
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
const server = createServer((req, res) => {
  const p = path.normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
  const file = path.join(root, p);
  let st;
  try { st = statSync(file); } catch { st = null; }
  if (!file.startsWith(root + path.sep) || !st || !st.isFile()) { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Length': st.size });
  createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
const page = await browser.newPage();
page.on('console', (m) => { if (m.type() === 'error') console.error('page:', m.text()); });
page.on('pageerror', (e) => console.error('page error:', e.message));
await page.goto(`${base}/bench/engine/page.html`);
await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });
let failed = 0;
for (const file of files) {
  const url = `${base}/${path.relative(root, file)}`;
  const engines = [['wisp-wasm', 'benchWisp'], ['wllama', 'benchWllama']];
  for (const [engine, fn] of wispOnly ? engines.slice(0, 1) : engines) {
    try {
      const r = await page.evaluate(([f, u, p, n, k]) => window[f](u, p, n, k), [fn, url, fn === 'benchWisp' ? prompt : promptText, nGen, reps]);
      console.log(JSON.stringify({ engine, file: path.basename(file), ...r, pp_tok_s: +(r.n_prompt * 1e3 / r.pp_ms).toFixed(1),
        tg_tok_s: +(r.n_gen * 1e3 / r.tg_ms).toFixed(1) }));
    } catch (e) {
      console.error(`${engine} ${path.basename(file)}: ${e.message}`);
      failed++;
    }
  }
}
await browser.close();
server.close();
process.exit(failed ? 1 : 0);
