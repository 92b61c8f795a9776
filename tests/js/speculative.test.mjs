// Self-speculative decoding through the worker's own code (the Host over the real wisp.wasm, the
// simd128 build: Node 20 has no relaxed SIMD; bench/speculative/browser.mjs checks the relaxed
// build in Chromium on the 200 dev cases): asked for at init, it must give plain greedy
// decoding's answers (text, tokens, the model's mean log-probability) on every prompt, and the
// answer's timings must carry the engine's drafted and accepted token counts (0 when it is off).
// Two models: fixtures/reference/trained.gguf (F16, 4 blocks, a draft of 2 or 3 blocks that the
// full model often agrees with, so accepted drafts are exercised) and the shipped
// models/wisp-default.gguf (Q8_0: the quantized kernels' batch path against the single token's).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hostHarness } from './harness.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const copy = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);

// [uri, language id, text before the cursor, text after it]
const DOCS = [
  ['file:///a.py', 'python', 'import os\n\n\ndef read_lines(path):\n    with open(path) as f:\n        return ', '\n'],
  ['file:///b.py', 'python', 'class Point:\n    def __init__(self, x, y):\n        self.x = x\n        ', '\n'],
  ['file:///c.py', 'python', 'def parse(text):\n    """Split text into words."""\n    words = []\n    for line in text.splitlines():\n        ', '\n    return words\n'],
  ['file:///d.js', 'javascript', 'function sum(xs) {\n  let total = 0;\n  for (const x of xs) ', '\n  return total;\n}\n'],
  ['file:///e.c', 'c', '#include <stdio.h>\n\nint main(int argc, char **argv) {\n    for (int i = 1; i < argc; i++) ', '\n    return 0;\n}\n'],
];
// No time budget: the same tokens whatever the machine's load (a budget would cut the slower run).
const OPTS = { timeBudgetMs: 0, maxTokens: 32, nCandidates: 1 };

// Every DOCS answer of an engine started with `speculative` (absent: plain decoding).
async function answers(model, speculative) {
  const h = hostHarness(api, createWisp);
  const r = await h.call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) }, ...(speculative ? { speculative } : {}) });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.deepEqual(r.value.speculative, speculative, `runs as asked (${r.value.speculativeError ?? ''})`);
  const out = [];
  for (const [uri, languageId, before, after] of DOCS) {
    assert.equal((await h.call('open', { uri, languageId, text: before + after, version: 1 })).ok, true);
    const lines = before.split('\n');
    const c = await h.call('complete', { uri, version: 1, position: { line: lines.length - 1, character: lines.at(-1).length }, options: OPTS });
    assert.equal(c.ok, true, JSON.stringify(c));
    const t = c.value.timings;
    out.push({ uri, text: c.value.items[0]?.text ?? '', meanLogprob: c.value.items[0]?.meanLogprob, generated: t.generatedTokens,
      drafted: t.draftedTokens, accepted: t.acceptedTokens });
  }
  return out;
}

for (const [file, settings] of [
  ['fixtures/reference/trained.gguf', [{ nDraft: 4, draftDepth: 2 }, { nDraft: 1, draftDepth: 3 }]],
  ['models/wisp-default.gguf', [{ nDraft: 4, draftDepth: 4 }, { nDraft: 1, draftDepth: 6 }]],
]) {
  test(`${file}: self-speculative answers are plain greedy decoding's, with drafted and accepted counts in the timings`, { timeout: 120_000 }, async () => {
    const model = readFileSync(join(root, file));
    const plain = await answers(model);
    for (const p of plain) {
      assert.equal(p.drafted, 0, `${p.uri}: nothing drafted with speculative decoding off`);
      assert.equal(p.accepted, 0);
    }
    assert.ok(plain.some((p) => p.generated > 1), 'some answers are more than one token long');
    for (const sp of settings) {
      const spec = await answers(model, sp);
      const label = `K=${sp.draftDepth} D=${sp.nDraft}`;
      for (const [i, s] of spec.entries()) {
        const p = plain[i];
        assert.deepEqual({ text: s.text, generated: s.generated, meanLogprob: s.meanLogprob },
          { text: p.text, generated: p.generated, meanLogprob: p.meanLogprob }, `${label} ${s.uri}: plain greedy decoding's answer`);
        assert.ok(s.accepted <= s.drafted, `${label} ${s.uri}: accepted ${s.accepted} of ${s.drafted} drafted`);
        assert.ok(s.drafted <= sp.nDraft * (s.generated + 1), `${label} ${s.uri}: at most ${sp.nDraft} drafted a round, a round yields a token (or the stop)`);
      }
      assert.ok(spec.reduce((n, s) => n + s.drafted, 0) > 0, `${label}: tokens were drafted`);
      if (file.includes('trained')) assert.ok(spec.reduce((n, s) => n + s.accepted, 0) > 0, `${label}: drafts were accepted`);
    }
  });
}
