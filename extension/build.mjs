// Builds the VS Code web extension (extension/dist/) and the Monaco package (monaco/dist/) from
// TypeScript with esbuild, after wasm/build.mjs has built wasm/dist/. The type check (tsc) also
// writes the Monaco package's declarations (monaco/dist/wisp-monaco.d.ts + types/).
//   node extension/build.mjs [--no-check]      (--no-check: no tsc, so no declarations either)
// The model bundled with the extension is models/wisp-default.gguf, or $WISP_MODEL when set
// (e.g. a fixture before the trained model exists); its SHA-256 is compiled into the extension so
// the worker can verify it and find it in browser storage without the network. The shipped model's
// parts manifest (models/wisp-default.parts.json: progressive loading) is compiled into the
// extension when it is the bundled model's, and into the Monaco package (its DEFAULT_MODEL).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const deps = join(root, 'deps', 'node_modules');
const esbuild = createRequire(join(deps, 'x.js'))('esbuild');
const wasmDist = join(root, 'wasm', 'dist');
const dist = join(here, 'dist');

const WASM_FILES = ['wisp.wasm', 'wisp-relaxed.wasm', 'wisp-kernels-relaxed.wasm'];
for (const f of ['wisp-worker.js', ...WASM_FILES]) {
  if (!existsSync(join(wasmDist, f))) {
    console.error(`extension/build.mjs: ${join(wasmDist, f)} missing; run node wasm/build.mjs first`);
    process.exit(1);
  }
}
const model = process.env.WISP_MODEL || join(root, 'models', 'wisp-default.gguf');
if (!existsSync(model)) {
  console.error(`extension/build.mjs: no model at ${model} (set WISP_MODEL to a GGUF file)`);
  process.exit(1);
}
const sha256 = createHash('sha256').update(readFileSync(model)).digest('hex');
const shipped = JSON.parse(readFileSync(join(root, 'models', 'wisp-default.parts.json'), 'utf8'));
const manifest = shipped.sha256 === sha256 ? shipped : null; // another model ($WISP_MODEL) comes whole

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, 'src', 'extension.ts')],
  outfile: join(dist, 'extension.js'),
  bundle: true, format: 'cjs', platform: 'browser', target: 'es2022', external: ['vscode'],
  sourcemap: false, minify: false, logLevel: 'warning',
  define: { WISP_MODEL_SHA256: JSON.stringify(sha256), WISP_MODEL_FILE: JSON.stringify('wisp-default.gguf'),
    WISP_MODEL_MANIFEST: JSON.stringify(manifest) },
});
copyFileSync(join(wasmDist, 'wisp-worker.js'), join(dist, 'wisp-worker.js'));
for (const f of WASM_FILES) copyFileSync(join(wasmDist, f), join(dist, f));
copyFileSync(model, join(dist, 'wisp-default.gguf'));

const monacoDist = join(here, 'monaco', 'dist');
rmSync(monacoDist, { recursive: true, force: true }); // no stale declarations after --no-check
mkdirSync(monacoDist, { recursive: true });
const m = { entryPoints: [join(here, 'monaco', 'src', 'index.ts')], bundle: true, target: 'es2022', platform: 'browser', logLevel: 'warning', sourcemap: true,
  define: { WISP_DEFAULT_MANIFEST: JSON.stringify(shipped) } };
await esbuild.build({ ...m, outfile: join(monacoDist, 'wisp-monaco.js'), format: 'iife', globalName: 'WispMonaco' });
await esbuild.build({ ...m, outfile: join(monacoDist, 'wisp-monaco.mjs'), format: 'esm' });

if (!process.argv.includes('--no-check')) {
  const tsc = join(deps, 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', join(here, 'monaco', 'tsconfig.json')], { stdio: 'inherit' });
  // tsc keeps the source tree under types/ (the API names the worker protocol's types from
  // wasm/src/); one entry file gives the package a single "types" path.
  writeFileSync(join(monacoDist, 'wisp-monaco.d.ts'),
    '// registerWisp(monaco, options) and its types; see ../README.md.\nexport * from \'./types/extension/monaco/src/index.js\';\n');
}
console.log(`extension/dist: extension.js wisp-worker.js ${WASM_FILES.join(' ')} wisp-default.gguf (${model}, sha256 ${sha256.slice(0, 12)}..., ${manifest ? `${manifest.parts.length} parts` : 'no parts manifest: loaded whole'})`);
console.log(`extension/monaco/dist: wisp-monaco.js (global WispMonaco) wisp-monaco.mjs${process.argv.includes('--no-check') ? '' : ' wisp-monaco.d.ts'}`);
