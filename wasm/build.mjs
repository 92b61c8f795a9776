// Builds the JS side of @wisp/wasm into wasm/dist/ (run after `scripts/build.sh wasm`):
//   index.js        ESM client API for pages and extensions (+ types/ from tsc)
//   wisp-worker.js  the worker, a classic script with the Emscripten glue inside
//   wisp.wasm       copied from build-wasm/, with the relaxed-SIMD build (wisp-relaxed.wasm,
//                   wisp-kernels-relaxed.wasm)
//   node.mjs        the worker host for Node (tests, tools)
// Usage: node wasm/build.mjs [--no-check]
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const deps = join(root, 'deps', 'node_modules');
const require = createRequire(join(deps, 'x.js'));
const esbuild = require('esbuild');
const glue = join(root, 'build-wasm', 'wisp.js');
const out = join(here, 'dist');

if (!existsSync(glue)) {
  console.error(`wasm/build.mjs: ${glue} is missing; run scripts/build.sh wasm first`);
  process.exit(1);
}
mkdirSync(out, { recursive: true });
const nodeBuiltins = ['fs', 'path', 'crypto', 'url', 'ws', 'worker_threads', 'module'];
const common = { bundle: true, sourcemap: true, target: 'es2022', logLevel: 'warning',
  alias: { 'wisp-glue': glue, 'wisp-glue-relaxed': join(root, 'build-wasm', 'wisp-relaxed.js') } };
await esbuild.build({ ...common, entryPoints: [join(here, 'src/index.ts')], outfile: join(out, 'index.js'), format: 'esm', platform: 'browser' });
await esbuild.build({ ...common, entryPoints: [join(here, 'src/worker.ts')], outfile: join(out, 'wisp-worker.js'), format: 'iife', platform: 'browser', external: nodeBuiltins });
await esbuild.build({ ...common, entryPoints: [join(here, 'src/node.ts')], outfile: join(out, 'node.mjs'), format: 'esm', platform: 'node' });
for (const f of ['wisp.wasm', 'wisp-relaxed.wasm', 'wisp-kernels-relaxed.wasm']) copyFileSync(join(root, 'build-wasm', f), join(out, f));
if (!process.argv.includes('--no-check')) {
  execFileSync(process.execPath, [join(deps, 'typescript', 'bin', 'tsc'), '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
}
console.log('wasm/dist: index.js wisp-worker.js node.mjs wisp.wasm wisp-relaxed.wasm wisp-kernels-relaxed.wasm types/');
