#!/usr/bin/env node
// Writes the tokenizer equality vectors: fixtures/tokenizer/strings.txt.xz (the test strings) and
// fixtures/tokenizer/<vocab>.vectors.xz (the ids a reference tokenizer gives each string).
//
//   node scripts/tokenizer/make_vectors.mjs            (from the repository root; ~1 min)
//
// Reference: transformers.js (npm @lenml/tokenizers, pinned in deps/package.json) loading the real
// tokenizer.json of @lenml/tokenizer-{qwen2_5,llama3,llama2}, called with add_special_tokens:
// false (no BOS), which splits added/special tokens out of the text: tests/test_tokenizer.c
// compares against wisp_tokenize(..., parse_special = true).
//
// Strings are deterministic (seeded PRNG; files picked from sorted lists): source code lines and
// chunks from deps/node_modules (JS/TS/JSON/Markdown), /usr/include (C) and /usr/lib/python3.11,
// text in many scripts, whitespace runs, emoji with ZWJ sequences, digit runs, long lines,
// contractions, special-token texts, random mixes. Every string is NFC-normalized (Qwen2's
// tokenizer.json normalizes to NFC; wisp does not normalize) and free of U+0085 and U+FEFF
// (where JavaScript's \s and Unicode White_Space, which wisp and HF tokenizers use, disagree).
//
// Formats (both xz-compressed text):
//   strings.txt   "wisp-tokenizer-strings N\n" then per string "<byte length>\n<bytes>\n"
//   <v>.vectors   "wisp-tokenizer-vectors <vocab> N <reference>\n" then per string one line of
//                 space-separated ids
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = process.cwd();
const DEPS = path.join(ROOT, 'deps/node_modules');
const OUT = path.join(ROOT, 'fixtures/tokenizer');
const VOCABS = ['qwen2_5', 'llama3', 'llama2'];

// --- deterministic randomness -------------------------------------------------------------------
let seed = 0x9e3779b9;
function rand() { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rand() * n);
const pick = (a) => a[ri(a.length)];

// --- source files -------------------------------------------------------------------------------
function walk(dir, exts, out, limit) {
  let ents;
  try { ents = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of ents) {
    if (out.length >= limit) return;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, exts, out, limit);
    else if (e.isFile() && exts.some((x) => e.name.endsWith(x))) {
      const st = fs.statSync(p);
      if (st.size > 200 && st.size < 400000) out.push(p);
    }
  }
}
const groups = [
  [DEPS, ['.js', '.ts', '.mjs', '.json', '.md', '.scm', '.c']],
  ['/usr/include', ['.h']],
  ['/usr/lib/python3.11', ['.py']],
].map(([dir, exts]) => { const o = []; walk(dir, exts, o, 20000); return o; });
const fileCache = new Map();
function randomFileLines() {
  const g = pick(groups.filter((x) => x.length));
  const f = pick(g);
  if (!fileCache.has(f)) {
    let text = fs.readFileSync(f, 'utf8');
    fileCache.set(f, text.split('\n'));
  }
  return fileCache.get(f);
}

// --- text generators ----------------------------------------------------------------------------
const SCRIPTS = [
  'The quick brown fox jumps over the lazy dog.', 'Ça déborde: naïve façade, crème brûlée, Øresund, Ångström',
  'Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich', 'Ελληνικά: Ξεσκεπάζω την ψυχοφθόρα βδελυγμία',
  'Съешь же ещё этих мягких французских булок, да выпей чаю', 'Український: Чуєш їх, доцю, га? Кумедна ж ти',
  'العربية: نص حكيم له سر قاطع وذو شأن عظيم', 'עברית: דג סקרן שט בים מאוכזב ולפתע מצא חברה',
  'हिन्दी: ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश', 'বাংলা: আমি তোমাকে ভালোবাসি',
  'தமிழ்: யாமறிந்த மொழிகளிலே தமிழ்மொழி போல்', 'ไทย: เป็นมนุษย์สุดประเสริฐเลิศคุณค่า',
  '中文：我能吞下玻璃而不伤身体。', '日本語：いろはにほへと ちりぬるを カタカナ 漢字', '한국어: 다람쥐 헌 쳇바퀴에 타고파',
  'ქართული: ვეპხის ტყაოსანი', 'Հայերեն: Բարեւ աշխարհ', 'አማርኛ: ሰላም ልዑል', 'Tiếng Việt: Tôi có thể ăn thủy tinh',
  'Türkçe: Pijamalı hasta yağız şoföre çabucak güvendi', 'Polski: Pchnąć w tę łódź jeża lub ośm skrzyń fig',
  'ᚠᛇᚻ᛫ᛒᛦᚦ᛫ᚠᚱᚩᚠᚢᚱ', 'Ⲡⲓⲣⲱⲙⲓ', 'ꦧꦱꦗꦮ', 'ܠܫܢܐ ܣܘܪܝܝܐ', 'ދިވެހި', 'ລາວ: ສະບາຍດີ', 'မြန်မာ', 'ខ្មែរ',
  'Ελλάς 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝓼𝓬𝓻𝓲𝓹𝓽 ℌ𝔢𝔩𝔩𝔬', 'ﬁﬂ ﬀ Ⅻ ⅷ ½ ¾ ² ³ µ ª º', 'Ǆ ǅ ǆ ǈ ǋ ß ẞ ſt', 'e\u0301 a\u0308 n\u0303 (combining)',
];
const RANGES = [ // old, densely assigned blocks (utf8proc 2.8 = Unicode 15 must agree with V8)
  [0x20, 0x7e], [0xa1, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x530, 0x58f], [0x5d0, 0x5ea],
  [0x620, 0x64a], [0x660, 0x669], [0x900, 0x97f], [0x980, 0x9ff], [0xe00, 0xe5b], [0x10a0, 0x10ff],
  [0x1100, 0x11ff], [0x1e00, 0x1eff], [0x2000, 0x206f], [0x2070, 0x209c], [0x20a0, 0x20bf],
  [0x2100, 0x218b], [0x2190, 0x23ff], [0x2500, 0x27bf], [0x3000, 0x303f], [0x3041, 0x3096],
  [0x30a0, 0x30ff], [0x4e00, 0x9fa5], [0xac00, 0xd7a3], [0xff01, 0xff5e], [0x1d400, 0x1d6a5],
  [0x1f300, 0x1f5ff], [0x1f600, 0x1f64f],
];
function randomChar() {
  for (;;) {
    const [a, b] = pick(RANGES);
    const c = String.fromCodePoint(a + ri(b - a + 1));
    if (/[\p{L}\p{N}\p{P}\p{S}\p{M}\p{Zs}]/u.test(c)) return c;
  }
}
const EMOJI = ['😀', '🎉', '👍🏽', '❤️', '🇺🇸', '🇯🇵', '👨‍👩‍👧‍👦', '👩🏾‍💻', '🏳️‍🌈', '🧑‍🤝‍🧑', '1️⃣', '#️⃣', '🤷‍♂️',
  '✅', '🚀', '🔥', '🐍', '☕', '👁️‍🗨️', '🫠', '🧪', '⚠️', '✨', '🙏🏻', '👋', '🐛', '💡', '📦', '🦀', '©️'];
const WS = [' ', '  ', '    ', '\t', '\t\t', '\n', '\n\n', '\r\n', ' \n', '\n    ', '\u00a0', '\u3000',
  '\u2003', '\u2009', '\u202f', '\u200b', '\f', '\v', ' \t \n'];
const WORDS = ['foo', 'bar', 'return', 'self', 'def', 'const', 'x', 'i', 'if', 'else', 'hello', 'World',
  'Ünïcödé', '变量', 'значение', 'π', 'λ', 'nil', '_', '__init__', 'None', 'true'];
const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|fim_prefix|>', '<|fim_suffix|>',
  '<|fim_middle|>', '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>', '<|begin_of_text|>',
  '<|end_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<s>', '</s>', '<unk>', '<|endoftext', '<|'];

function cut(s, max) { // a window of at most max UTF-16 units (minified files have huge lines)
  if (s.length <= max) return s;
  const a = ri(s.length - max);
  return s.slice(a, a + max);
}
function codeLine() {
  const lines = randomFileLines();
  return cut(lines[ri(lines.length)], 240);
}
function codeChunk(maxLines) {
  const lines = randomFileLines();
  const a = ri(lines.length), n = 2 + ri(maxLines);
  return cut(lines.slice(a, a + n).map((l) => cut(l, 160)).join('\n'), 1200);
}
function scriptText() {
  let s = '';
  const n = 1 + ri(4);
  for (let i = 0; i < n; i++) {
    const t = pick(SCRIPTS);
    const a = ri(t.length);
    s += t.slice(a, a + 4 + ri(40)) + pick([' ', '', ', ', '\n', '. ']);
  }
  return s;
}
function randomMix() {
  let s = '';
  const n = 1 + ri(30);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.4) s += randomChar();
    else if (r < 0.55) s += pick(WS);
    else if (r < 0.75) s += pick(WORDS);
    else if (r < 0.85) s += String(ri(100000));
    else if (r < 0.92) s += pick(EMOJI);
    else s += pick("'\"`~!@#$%^&*()-_=+[]{};:,.<>/?\\|");
  }
  return s;
}
function whitespaceText() {
  let s = '';
  const n = 1 + ri(12);
  for (let i = 0; i < n; i++) s += rand() < 0.6 ? pick(WS).repeat(1 + ri(4)) : pick(WORDS);
  return s;
}
function emojiText() {
  let s = '';
  const n = 1 + ri(8);
  for (let i = 0; i < n; i++) s += rand() < 0.6 ? pick(EMOJI) : pick([' ', 'ok', '!', '\n', 'fix ', '🏽', '\u200d', '\ufe0f']);
  return s;
}
function digitText() {
  const digits = ['0123456789', '٠١٢٣٤٥٦٧٨٩', '०१२३४५६७८९', '０１２３４５６７８９', '½²³¼'];
  let s = '';
  const n = 1 + ri(5);
  for (let i = 0; i < n; i++) {
    const d = rand() < 0.75 ? digits[0] : pick(digits);
    const len = 1 + ri(rand() < 0.2 ? 40 : 8);
    for (let k = 0; k < len; k++) s += [...d][ri([...d].length)];
    s += pick(['', ' ', '.', ',', 'e', 'x', '-', 'px', '_', ' + ', '\n']);
  }
  return s;
}
function contractionText() {
  const c = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'x", "''", "'"];
  return pick(['it', 'I', 'YOU', 'we', "don", 'x', ' ', '']) + pick(c) + pick([' here', '', 's', ' 1', '\n', "'s"]);
}
function specialText() {
  let s = '';
  const n = 1 + ri(4);
  for (let i = 0; i < n; i++) s += pick([pick(SPECIALS), codeLine().slice(0, 40), ' ', '\n', pick(WORDS)]);
  return s;
}
function longLine() {
  const r = rand();
  let s = '';
  const target = 2000 + ri(4000);
  if (r < 0.5) while (s.length < target) s += codeLine().trim() + ' ';
  else if (r < 0.7) while (s.length < target) s += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'[ri(64)];
  else if (r < 0.8) s = ' '.repeat(target);
  else if (r < 0.9) while (s.length < target) s += scriptText();
  else while (s.length < target) s += randomMix();
  return s;
}
function clean(s) {
  return s.normalize('NFC').replace(/[\u0085\ufeff]/g, ' ');
}
function wellFormed(s) { // no lone surrogates (the reference works on JS strings, wisp on UTF-8)
  return Buffer.from(s, 'utf8').toString('utf8') === s;
}

const strings = ['', ' ', '\n', '\t', 'a', '  ', '   ', '\n\n\n', ' \n ', 'Hello world', ' Hello world',
  'hello  world', '\u00e9', '🙂', '<|endoftext|>', '<s>', 'x</s> y<s>z'];
for (let c = 0x20; c < 0x7f; c++) strings.push(String.fromCharCode(c));
const PLAN = [[codeLine, 3000], [() => codeChunk(12), 2300], [scriptText, 1100], [whitespaceText, 800],
  [emojiText, 600], [digitText, 700], [contractionText, 250], [specialText, 450], [randomMix, 1000],
  [longLine, 60]];
for (const [gen, n] of PLAN) {
  for (let i = 0; i < n; i++) {
    const s = clean(gen());
    if (wellFormed(s)) strings.push(s);
  }
}

// --- reference ids --------------------------------------------------------------------------------
fs.mkdirSync(OUT, { recursive: true });
function xz(file, text) {
  fs.writeFileSync(file, execFileSync('xz', ['-9e', '-c'], { input: text, maxBuffer: 1 << 30 }));
}
const parts = [`wisp-tokenizer-strings ${strings.length}\n`];
for (const s of strings) parts.push(`${Buffer.byteLength(s, 'utf8')}\n`, s, '\n');
xz(path.join(OUT, 'strings.txt.xz'), Buffer.from(parts.join(''), 'utf8'));
const refVersion = JSON.parse(fs.readFileSync(path.join(DEPS, '@lenml/tokenizers/package.json'), 'utf8')).version;
for (const v of VOCABS) {
  const mod = await import(path.join(DEPS, `@lenml/tokenizer-${v}/dist/main.mjs`));
  const tok = mod.fromPreTrained();
  const t0 = Date.now();
  const lines = [`wisp-tokenizer-vectors ${v} ${strings.length} @lenml/tokenizers@${refVersion}\n`];
  let nIds = 0;
  for (const s of strings) {
    const ids = tok.encode(s, { add_special_tokens: false });
    nIds += ids.length;
    lines.push(ids.join(' ') + '\n');
  }
  xz(path.join(OUT, `${v}.vectors.xz`), lines.join(''));
  console.log(`${v}: ${strings.length} strings, ${nIds} ids, ${Date.now() - t0} ms`);
}
