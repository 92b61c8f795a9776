// The progressive-loading exports of wasm/exports.c (wisp_js_engine_new_partial, _set_available,
// _layers_ready, _bytes_needed, _set_depth, _depth, _set_speculative) over the real wisp.wasm and
// the shipped model, which is laid out in arrival order: its parts (models/wisp-default.parts.json)
// are copied into the heap one by one, as the worker will write them when they arrive, and the
// engine answers from the first blocks, then in full, with the same documents. Also checks each
// part's SHA-256 against the manifest (what the worker will check). Run by scripts/test-js.sh.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const model = readFileSync(join(root, 'models', 'wisp-default.gguf'));
const manifest = JSON.parse(readFileSync(join(root, 'models', 'wisp-default.parts.json'), 'utf8'));

const WISP_OK = 0, WISP_ERR_INVALID_ARG = 1, WISP_ERR_RANGE = 6, WISP_ERR_LOADING = 10;
const RESULT_ITEMS = 80; // offsetof(js_result, items): wasm/exports.c asserts it, engine.ts reads it there
const SRC = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return ';

const m = await createWisp({ wasmBinary: wasm, print: () => {}, printErr: () => {} });
const enc = new TextEncoder(), dec = new TextDecoder();

function put(s) {
  const b = enc.encode(s);
  const p = m._malloc(b.length + 1);
  m.HEAPU8.set(b, p);
  m.HEAPU8[p + b.length] = 0;
  return [p, b.length];
}

function errorCode() {
  return new Int32Array(m.HEAPU8.buffer, m._wisp_js_error(), 1)[0];
}

function openDoc(engine) {
  const [u] = put('a.py'), [l] = put('python'), [t, n] = put(SRC);
  const doc = m._wisp_js_doc_open(engine, u, l, t, n);
  for (const p of [u, l, t]) m._free(p);
  assert.notEqual(doc, 0);
  return doc;
}

// Completes at the end of SRC (line 5); the first item's text, or null with the status.
function complete(engine, doc) {
  const st = m._wisp_js_complete(engine, doc, 5, 11, 1, 12, 0, 1);
  if (st !== WISP_OK) return { st, text: null };
  const r = m._wisp_js_result();
  const u32 = new Uint32Array(m.HEAPU8.buffer, r, 1);
  if (u32[0] === 0) return { st, text: '' };
  const it = new Uint32Array(m.HEAPU8.buffer, r + RESULT_ITEMS, 2);
  return { st, text: dec.decode(m.HEAPU8.subarray(it[0], it[0] + it[1])) };
}

test('the manifest covers the shipped model and its digests are the parts\'', () => {
  assert.equal(manifest.size, model.length);
  assert.equal(createHash('sha256').update(model).digest('hex'), manifest.sha256);
  let at = 0;
  for (const p of manifest.parts) {
    assert.equal(p.offset, at);
    assert.equal(createHash('sha256').update(model.subarray(p.offset, p.offset + p.size)).digest('hex'), p.sha256);
    at += p.size;
  }
  assert.equal(at, model.length);
  assert.equal(manifest.parts.length, manifest.block_count + 1);
});

test('an engine over a model arriving part by part answers from its first blocks, then in full', () => {
  const size = manifest.size, parts = manifest.parts;
  const ptr = m._malloc(size);
  assert.notEqual(ptr, 0);
  assert.equal(m._wisp_js_engine_new_partial(ptr, size, 0, 512), 0);
  assert.equal(errorCode(), WISP_ERR_LOADING);
  m.HEAPU8.set(model.subarray(0, 64), ptr);
  assert.equal(m._wisp_js_engine_new_partial(ptr, size, 64, 512), 0); // the header has not arrived
  assert.equal(errorCode(), WISP_ERR_LOADING);

  m.HEAPU8.set(model.subarray(0, parts[0].size), ptr);
  const engine = m._wisp_js_engine_new_partial(ptr, size, parts[0].size, 512);
  assert.notEqual(engine, 0);
  assert.equal(m._wisp_js_model_layers(engine), manifest.block_count);
  assert.equal(m._wisp_js_model_exit_layers(engine), manifest.exit_layers);
  assert.equal(m._wisp_js_bytes_needed(engine, 0), parts[0].size);
  assert.equal(m._wisp_js_layers_ready(engine), 0);
  const doc = openDoc(engine);
  assert.equal(complete(engine, doc).st, WISP_ERR_LOADING);

  let early = null;
  for (const p of parts.slice(1)) {
    m.HEAPU8.set(model.subarray(p.offset, p.offset + p.size), ptr + p.offset);
    assert.equal(m._wisp_js_set_available(engine, p.offset + p.size), WISP_OK);
    assert.equal(m._wisp_js_layers_ready(engine), p.layers_ready);
    // with a trained exit: nothing before its blocks are in (still loading), then the exit, all
    // once whole; without one: every ready block
    const exit = manifest.exit_layers;
    const want = p.layers_ready === manifest.block_count ? p.layers_ready
      : !exit ? p.layers_ready : exit <= p.layers_ready ? exit : 0;
    assert.equal(m._wisp_js_depth(engine), want);
    if (want === 0) assert.equal(complete(engine, doc).st, WISP_ERR_LOADING);
    if (exit && p.layers_ready === exit) {
      early = complete(engine, doc);
      assert.equal(early.st, WISP_OK);
    }
  }
  assert.notEqual(early, null);
  const full = complete(engine, doc);
  assert.equal(full.st, WISP_OK);
  assert.match(full.text, /^[^\0]*\S[^\0]*$/); // an answer, read where the result holds it
  assert.equal(m._wisp_js_depth(engine), manifest.block_count);

  // the same answer as an engine loaded whole; self-speculative decoding does not change it
  const whole = m._malloc(size);
  m.HEAPU8.set(model, whole);
  const fresh = m._wisp_js_engine_new(whole, size, 512);
  assert.notEqual(fresh, 0);
  const freshDoc = openDoc(fresh);
  assert.equal(complete(fresh, freshDoc).text, full.text);
  assert.equal(m._wisp_js_set_speculative(engine, 4, 4), WISP_OK);
  assert.equal(complete(engine, doc).text, full.text);
  assert.equal(m._wisp_js_set_speculative(engine, 4, 0), WISP_OK); // depth 0: the trained exit
  assert.equal(complete(engine, doc).text, full.text);
  assert.equal(m._wisp_js_set_speculative(engine, 4, manifest.block_count), WISP_ERR_RANGE); // no draft at full depth
  assert.equal(m._wisp_js_set_speculative(engine, 0, 0), WISP_OK);
  assert.equal(m._wisp_js_set_depth(engine, manifest.block_count + 1), WISP_ERR_RANGE);
  assert.equal(m._wisp_js_set_depth(engine, 3), WISP_OK);
  assert.equal(m._wisp_js_depth(engine), 3);
  assert.equal(complete(engine, doc).st, WISP_OK);

  m._wisp_js_doc_close(freshDoc);
  m._wisp_js_engine_free(fresh);
  m._wisp_js_doc_close(doc);
  m._wisp_js_engine_free(engine);
  m._free(whole);
  m._free(ptr);
});
