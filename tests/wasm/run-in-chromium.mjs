// Runs a program built with emcc (-sMODULARIZE=1 -sEXPORT_NAME=createTest -sENVIRONMENT=web) in
// headless Chromium and prints its output: the relaxed-SIMD kernels run there, not under Node 20
// (its V8 predates the final numbering of the relaxed-SIMD opcodes). With KERNELS.wasm, the
// program is a relaxed build (--js-library=wasm/relaxed-kernels.js): its Module.wispKernel is the
// kernel module's export, that module instantiated on the program's memory, as in
// wasm/src/engine.ts. Exits 1 when the program printed a "[  FAILED  ]" line (mini_cmocka),
// aborted or threw, or did not return from main within 10 minutes; else 0.
//   node tests/wasm/run-in-chromium.mjs PROGRAM.js [KERNELS.wasm] [-- ARGS...]
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(join(root, 'deps', 'node_modules', 'x.js'))('playwright-core');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const [program, kernels] = (dash < 0 ? argv : argv.slice(0, dash)).map((p) => resolve(p));
const args = dash < 0 ? [] : argv.slice(dash + 1);
const files = {
  '/test.js': [readFileSync(program), 'text/javascript'],
  '/test.wasm': [readFileSync(program.replace(/\.js$/, '.wasm')), 'application/wasm'],
  '/': ['<!doctype html><script src="/test.js"></script>', 'text/html'],
};
if (kernels) files['/kernels.wasm'] = [readFileSync(kernels), 'application/wasm'];
if (!existsSync(program)) throw new Error(`${program} is missing`);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
let status = 1;
try {
  const page = await browser.newPage();
  await page.route('http://wisp.test/**', (route) => {
    const f = files[new URL(route.request().url()).pathname];
    return f ? route.fulfill({ body: f[0], contentType: f[1] }) : route.fulfill({ status: 404 });
  });
  let failed = false;
  const ended = new Promise((done) => {
    page.on('console', (m) => {
      const line = m.text();
      if (line === '[wisp-chromium] done') return done(failed ? 1 : 0);
      console.log(line);
      if (/^\[  FAILED  \]|Aborted\(/.test(line)) failed = true;
    });
    page.on('pageerror', (e) => { console.log(`pageerror: ${e.message}`); done(1); });
    setTimeout(() => done(1), 600_000);
  });
  await page.goto('http://wisp.test/');
  void page.evaluate(async ([relaxed, args]) => {
    const tmod = await WebAssembly.compileStreaming(fetch('/test.wasm'));
    const kmod = relaxed ? await WebAssembly.compileStreaming(fetch('/kernels.wasm')) : null;
    let k = null;
    createTest({
      arguments: args,
      wispKernel: (...a) => k.exports.wisp_matmul_q_relaxed(...a),
      postRun: () => console.log('[wisp-chromium] done'),
      instantiateWasm(imports, receive) {
        const inst = new WebAssembly.Instance(tmod, imports);
        const memory = Object.values(inst.exports).find((e) => e instanceof WebAssembly.Memory);
        if (kmod) k = new WebAssembly.Instance(kmod, { env: { memory } });
        receive(inst, tmod);
        return inst.exports;
      },
    });
  }, [Boolean(kernels), args]).catch(() => {});
  status = await ended;
} finally {
  await browser.close();
}
process.exit(status);
