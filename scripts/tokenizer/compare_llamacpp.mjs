#!/usr/bin/env node
// Interop check of train/tokenizer_to_gguf.py: loads the vocabulary GGUFs it wrote into llama.cpp
// (npm node-llama-cpp, vocab-only, from bench/peers/node_modules: bench/peers/setup.sh) and counts
// how many fixture strings llama.cpp tokenizes to the reference ids (the ids wisp matches in
// tests/test_tokenizer.c). Not part of the test suite: llama.cpp is a peer, not the reference, and
// differs on purpose in a few places (see fixtures/tokenizer/README.md).
//
//   node scripts/tokenizer/compare_llamacpp.mjs [GGUF_DIR]     (default build/tokenizer, which
//                                                               the tokenizer test fills)
// ALL=1 prints every difference, not just the first per vocabulary. llama.cpp logs a failed
// hyper-parameter read before each vocab-only load; the load itself succeeds.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = process.cwd();
const dir = process.argv[2] || path.join(ROOT, 'build/tokenizer');
const { getLlama } = await import(path.join(ROOT, 'bench/peers/node_modules/node-llama-cpp/dist/index.js'));

function xzText(file) {
  return execFileSync('xz', ['-dc', file], { maxBuffer: 1 << 30 });
}
const raw = xzText(path.join(ROOT, 'fixtures/tokenizer/strings.txt.xz'));
const strings = [];
let p = raw.indexOf(10) + 1;
const n = Number(raw.subarray(0, p - 1).toString().split(' ')[1]);
for (let i = 0; i < n; i++) {
  const nl = raw.indexOf(10, p);
  const len = Number(raw.subarray(p, nl).toString());
  strings.push(raw.subarray(nl + 1, nl + 1 + len).toString('utf8'));
  p = nl + 1 + len + 1;
}

const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
for (const v of ['qwen2_5', 'llama3', 'llama2']) {
  const lines = xzText(path.join(ROOT, `fixtures/tokenizer/${v}.vectors.xz`)).toString().split('\n');
  const model = await llama.loadModel({ modelPath: path.join(dir, `${v}.gguf`), vocabOnly: true });
  let same = 0, first = 0;
  for (let i = 0; i < n; i++) {
    const want = lines[i + 1];
    const got = Array.from(model.tokenize(strings[i], true)).join(' ');
    if (got === want) same++;
    else if (first++ < (process.env.ALL ? 1e9 : 1)) {
      console.log(`${v}: difference, string ${i}: ${JSON.stringify(strings[i].slice(0, 200))}`);
      console.log(`  llama.cpp: ${got.slice(0, 400)}\n  reference: ${want.slice(0, 400)}`);
    }
  }
  console.log(`${v}: llama.cpp gives the reference ids for ${same}/${n} strings`);
  await model.dispose();
}
