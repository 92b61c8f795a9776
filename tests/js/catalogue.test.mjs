// The catalogue of bad inputs (tests/CATALOGUE.md) checked row by row: the table says, for each
// bad input, what it gets (an error code and words of its message); this file holds the inputs,
// one case per row id, and runs each on the real code path: the worker's Host over the real
// wisp.wasm (models, source text, positions, messages), the settings check (settings), the
// worker's loader against a local HTTP server that misbehaves (downloads), and `build/wisp serve`
// over HTTP (HTTP requests). A row without a case, a case without a row, or an outcome other
// than the row's fails; so the table cannot drift from what the code does.
//   CATALOGUE_PRINT=1 node --test tests/js/catalogue.test.mjs   prints each case's outcome
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const modelPath = join(root, 'fixtures', 'reference', 'qwen2.gguf');
const model = readFileSync(modelPath);
const sha = createHash('sha256').update(model).digest('hex');
const copy = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
const wispBin = join(root, 'build', 'wisp');

// ---- The table --------------------------------------------------------------------------------

// Rows of the catalogue's tables: | id | surface | bad input | what it gets |, the last holding
// `code` and, optionally, "words of the message".
function readTable() {
  const rows = [];
  for (const line of readFileSync(join(root, 'tests', 'CATALOGUE.md'), 'utf8').split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length !== 4 || !/^`[a-z0-9-]+`$/.test(cells[0])) continue;
    const code = /`([^`]+)`/.exec(cells[3]);
    const words = /"((?:[^"\\]|\\.)*)"/.exec(cells[3]);
    rows.push({ id: cells[0].slice(1, -1), surface: cells[1], input: cells[2], code: code?.[1], words: words ? words[1].replace(/\\(.)/g, '$1') : null });
  }
  return rows;
}

// An outcome as the table writes it: `ok`, `setting`, an error code (`engine/<status name>` for
// the engine's), or an HTTP status.
const outcome = (r) => (r.ok ? { code: 'ok', message: '' } : { code: r.error.code === 'engine' ? `engine/${r.error.engineStatus}` : r.error.code, message: r.error.message });

// ---- Fixtures: a worker, a misbehaving model server, wisp serve --------------------------------

function hostHarness() {
  const waiters = new Map();
  const stray = [];
  const host = new api.Host(createWisp, (msg) => {
    if (msg.type !== 'response') return;
    if (waiters.has(msg.id)) waiters.get(msg.id)(msg.result);
    else stray.push(msg);
  });
  let id = 0;
  const raw = (msg) => new Promise((r) => { waiters.set(msg.id, r); host.receive(msg); });
  const call = (type, params) => raw({ id: ++id, type, params });
  return { host, call, raw, stray, nextId: () => ++id };
}

let ready; // a worker with the engine up
let fresh; // a worker without one
let modelServer;
let base;
let serve;
let serveUrl;
let requests = 0;

function serveModel(req, res, body) {
  res.writeHead(200, { 'content-length': body.length });
  res.end(body);
}

before(async () => {
  ready = hostHarness();
  const r = await ready.call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
  assert.equal(r.ok, true, JSON.stringify(r));
  fresh = hostHarness();

  modelServer = createServer((req, res) => {
    requests++;
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/ok.gguf') return serveModel(req, res, model);
    if (path === '/busy.gguf') { res.writeHead(503); return res.end(); }
    if (path === '/cut.gguf') {
      res.writeHead(200, { 'content-length': model.length });
      res.write(model.subarray(0, 512));
      return setTimeout(() => res.socket?.destroy(), 10);
    }
    if (path === '/stall.gguf') {
      res.writeHead(200, { 'content-length': model.length });
      return res.write(model.subarray(0, 64));
    }
    if (path === '/silent.gguf') return undefined;
    if (path === '/corrupt-part.gguf') { // a byte of the second part flipped, every time
      const bad = Buffer.from(model);
      bad[model.length >> 1] ^= 0x5a;
      return serveModel(req, res, bad);
    }
    if (path === '/html.gguf') {
      const page = Buffer.from('<!doctype html><title>Sign in</title>');
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': page.length });
      return res.end(page);
    }
    res.writeHead(404);
    res.end();
  });
  modelServer.on('connection', (s) => modelServer.sockets?.add(s));
  modelServer.sockets = new Set();
  await new Promise((r) => modelServer.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${modelServer.address().port}`;

  assert.ok(existsSync(wispBin), `${wispBin} is missing: build the native targets first (scripts/build.sh native)`);
  serve = spawn(wispBin, ['serve', '--model', modelPath, '--port', '0', '--max-body', '65536'], { stdio: ['ignore', 'ignore', 'pipe'] });
  serveUrl = await new Promise((resolve, reject) => {
    let err = '';
    serve.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(err);
      if (m) resolve(m[1]);
    });
    serve.on('exit', (code) => reject(new Error(`wisp serve exited (${code}): ${err}`)));
  });
});

after(() => {
  serve?.kill('SIGTERM');
  for (const s of modelServer?.sockets ?? []) s.destroy();
  modelServer?.close();
});

// Sends one HTTP request to wisp serve; the outcome is its status and the error message.
function http(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(path, serveUrl);
    const req = request(u, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let message = data;
        try { message = JSON.parse(data).error?.message ?? ''; } catch { /* not JSON */ }
        resolve({ code: String(res.statusCode), message });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const PY = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return ';
let n = 0;
// Opens `text` in the ready worker under a new uri; returns it.
async function open(text, languageId = 'python', ext = 'py') {
  const uri = `file:///cat/${++n}.${ext}`;
  const r = await ready.call('open', { uri, languageId, text, version: 1 });
  assert.equal(r.ok, true, JSON.stringify(r));
  return uri;
}
const end = (text) => {
  const lines = text.split('\n');
  return { line: lines.length - 1, character: lines.at(-1).length };
};
async function completeIn(text, languageId, ext, position) {
  const uri = await open(text, languageId, ext);
  const r = await ready.call('complete', { uri, version: 1, position: position ?? end(text), options: { maxTokens: 2 } });
  await ready.call('close', { uri });
  return outcome(r);
}
const initWith = async (m) => outcome(await fresh.call('init', { wasmBytes: copy(wasm), model: m }));
const modelBytes = (bytes, more = {}) => initWith({ kind: 'bytes', bytes: copy(Buffer.from(bytes)), ...more });
const download = (path, more = {}) => initWith({ kind: 'url', url: base + path, stallMs: 200, retries: 1, ...more });
// The fixture model as two parts (progressive loading): its first KB, then the rest.
const hex = (b) => createHash('sha256').update(b).digest('hex');
const twoParts = () => ({
  size: model.length, sha256: sha, block_count: 1, exit_layers: 0, parts: [
    { offset: 0, size: 1024, blocks: [], layers_ready: 0, sha256: hex(model.subarray(0, 1024)) },
    { offset: 1024, size: model.length - 1024, blocks: [0], layers_ready: 1, sha256: hex(model.subarray(1024)) },
  ],
});
const setting = (raw) => {
  const { problems } = api.checkSettings(raw);
  return problems.length ? { code: 'setting', message: problems.join('; ') } : { code: 'ok', message: '' };
};
const endpointSetting = (raw) => {
  const { problems } = api.checkEndpoint(raw);
  return problems.length ? { code: 'setting', message: problems.join('; ') } : { code: 'ok', message: '' };
};
const infill = (body) => http('POST', '/infill', typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));

// A GGUF header with the given version, then nothing.
const ggufHeader = (version) => Buffer.concat([Buffer.from('GGUF'), Buffer.from(new Uint32Array([version]).buffer), Buffer.alloc(16)]);

// ---- The cases: one per row of the table ------------------------------------------------------

const cases = {
  // models
  'model-empty': () => modelBytes([]),
  'model-junk': () => modelBytes(new Uint8Array(4096).fill(7)),
  'model-truncated': () => modelBytes(model.subarray(0, model.length >> 1)),
  'model-version': () => modelBytes(ggufHeader(99)),
  'model-no-tensors': () => modelBytes(readFileSync(join(root, 'fixtures', 'gguf', 'tiny-bpe.gguf'))),
  'model-no-vocab': () => modelBytes(readFileSync(join(root, 'fixtures', 'gguf', 'tiny-f32.gguf'))),
  'model-wrong-digest': () => modelBytes(model, { sha256: '00'.repeat(32) }),
  'model-digest-not-hex': () => modelBytes(model, { sha256: 'not-a-digest' }),
  // source text
  'text-comment-openers': () => completeIn('/* '.repeat(2000), 'c', 'c'),
  'text-over-4mib': () => completeIn('x = 1\n'.repeat(800_000), 'python', 'py'),
  'text-nul-bytes': () => completeIn('x = "\u0000\u0000"\ny = ', 'python', 'py'),
  'text-lone-surrogate': async () => {
    const uri = await open('s = "\ud800"\nt = ', 'python', 'py');
    const t = await ready.call('text', { uri });
    await ready.call('close', { uri });
    return t.value.text === 's = "\ufffd"\nt = ' ? { code: 'ok', message: 'read back as U+FFFD' } : { code: 'wrong', message: t.value.text };
  },
  'text-long-line': () => completeIn('data = [' + '12345, '.repeat(4000), 'python', 'py'),
  'text-deep-nesting': () => completeIn('x = ' + '['.repeat(3000), 'javascript', 'js'),
  'text-unknown-language': async () => outcome(await ready.call('open', { uri: 'file:///cat/x.cob', languageId: 'cobol', text: 'MOVE A TO B.', version: 1 })),
  'text-invalid-utf16-in-edit': async () => {
    const uri = await open('a = 1\n');
    const r = await ready.call('edit', { uri, version: 2, changes: [{ rangeOffset: 6, rangeLength: 0, text: '\udc00\ud800' }] });
    const t = await ready.call('text', { uri });
    await ready.call('close', { uri });
    return r.ok && t.value.text === 'a = 1\n\ufffd\ufffd' ? { code: 'ok', message: 'read back as U+FFFD' } : { code: 'wrong', message: JSON.stringify([r, t]) };
  },
  // positions
  'pos-line-past-end': () => completeIn(PY, 'python', 'py', { line: 99, character: 0 }),
  'pos-column-past-line': () => completeIn(PY, 'python', 'py', { line: 0, character: 999 }),
  'pos-negative': () => completeIn(PY, 'python', 'py', { line: -1, character: 0 }),
  'pos-fraction': () => completeIn(PY, 'python', 'py', { line: 0, character: 1.5 }),
  'pos-inside-surrogate-pair': () => completeIn('e = "😀"\n', 'python', 'py', { line: 0, character: 6 }),
  'edit-past-end': async () => {
    const uri = await open('x = 1\n');
    return outcome(await ready.call('edit', { uri, version: 2, changes: [{ rangeOffset: 7, rangeLength: 0, text: 'y' }] }));
  },
  'edit-splits-pair': async () => {
    const uri = await open('e = "😀"\n');
    return outcome(await ready.call('edit', { uri, version: 2, changes: [{ rangeOffset: 6, rangeLength: 0, text: 'y' }] }));
  },
  'edit-splits-crlf': async () => {
    const uri = await open('x = 1\r\ny = 2\r\n');
    return outcome(await ready.call('edit', { uri, version: 2, changes: [{ rangeOffset: 6, rangeLength: 0, text: 'y' }] }));
  },
  'edit-offset-wraps': async () => {
    const uri = await open('x = 1\n');
    return outcome(await ready.call('edit', { uri, version: 2, changes: [{ rangeOffset: 2 ** 32 + 1, rangeLength: 0, text: 'y' }] }));
  },
  // messages
  'msg-no-id': async () => {
    const before = ready.stray.length;
    ready.host.receive({ type: 'stats', params: {} });
    const r = ready.stray.slice(before).find((m) => m.id === -1);
    return r ? outcome(r.result) : { code: 'none', message: '' };
  },
  'msg-not-an-object': async () => {
    const before = ready.stray.length;
    ready.host.receive('complete');
    const r = ready.stray.slice(before).find((m) => m.id === -1);
    return r ? outcome(r.result) : { code: 'none', message: '' };
  },
  'msg-unknown-type': async () => outcome(await ready.raw({ id: ready.nextId(), type: 'format', params: {} })),
  'msg-no-params': async () => outcome(await ready.raw({ id: ready.nextId(), type: 'complete' })),
  'msg-changes-not-array': async () => outcome(await ready.call('edit', { uri: await open('x\n'), version: 2, changes: 'x' })),
  'msg-text-not-string': async () => outcome(await ready.call('open', { uri: 'file:///cat/t.py', languageId: 'python', text: 42, version: 1 })),
  'msg-partial-not-boolean': async () => outcome(await ready.call('complete', { uri: await open('x\n'), version: 1, position: { line: 0, character: 1 }, options: { partial: 'yes' } })),
  'msg-version-skips': async () => outcome(await ready.call('edit', { uri: await open('x\n'), version: 3, changes: [] })),
  'msg-version-goes-back': async () => outcome(await ready.call('edit', { uri: await open('x\n'), version: 0, changes: [] })),
  'msg-closed-document': async () => {
    const uri = await open(PY);
    await ready.call('close', { uri });
    return outcome(await ready.call('complete', { uri, version: 1, position: end(PY), options: {} }));
  },
  'msg-before-init': async () => outcome(await fresh.call('complete', { uri: 'file:///a.py', version: 1, position: { line: 0, character: 0 }, options: {} })),
  'msg-second-init': async () => outcome(await ready.call('init', { wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } })),
  'msg-superseded': async () => {
    const uri = await open(PY);
    const p = { uri, version: 1, position: end(PY), options: { maxTokens: 2 } };
    const [, second] = await Promise.all([ready.call('complete', p), ready.call('complete', p), ready.call('complete', p)]);
    return outcome(second);
  },
  'msg-cancelled': async () => {
    const uri = await open(PY);
    const p = { uri, version: 1, position: end(PY), options: { maxTokens: 2 } };
    const first = ready.call('complete', p);
    const id = ready.nextId();
    const queued = ready.raw({ id, type: 'stats', params: {} });
    ready.host.receive({ id, type: 'cancel' });
    await first;
    return outcome(await queued);
  },
  'msg-warm-unknown-language': async () => outcome(await ready.call('warm', { languageIds: ['cobol'] })),
  'model-manifest-gap': () => {
    const m = twoParts();
    m.parts[1].offset += 1;
    return download('/ok.gguf', { manifest: m });
  },
  'model-manifest-other-digest': () => download('/ok.gguf', { manifest: twoParts(), sha256: 'ab'.repeat(32) }),
  // settings
  'set-budget-not-a-number': () => setting({ timeBudgetMs: 'fast' }),
  'set-candidates-too-many': () => setting({ candidates: 100 }),
  'set-max-lines-fraction': () => setting({ maxLines: 2.5 }),
  'set-debounce-negative': () => setting({ debounceMs: -5 }),
  'set-model-url-not-http': () => setting({ modelUrl: 'ftp://example.com/m.gguf' }),
  'set-model-url-garbage': () => setting({ modelUrl: ':: not a url' }),
  'set-sha-not-hex': () => setting({ modelSha256: 'abc' }),
  'set-endpoint-mode-unknown': () => endpointSetting({ mode: 'always' }),
  'set-endpoint-timeout-string': () => endpointSetting({ timeoutMs: '2s' }),
  'set-endpoint-extra-files-too-many': () => endpointSetting({ extraFiles: 10 }),
  'set-endpoint-url-not-string': () => endpointSetting({ url: 8012 }),
  // downloads
  'dl-404': () => download('/missing.gguf'),
  'dl-5xx': () => download('/busy.gguf'),
  'dl-cut-off': () => download('/cut.gguf'),
  'dl-stalled': () => download('/stall.gguf'),
  'dl-no-answer': () => download('/silent.gguf', { retries: 0 }),
  'dl-wrong-digest': () => download('/ok.gguf', { sha256: 'ff'.repeat(32) }),
  'dl-html-page': () => download('/html.gguf'),
  'dl-unreachable': async () => { // a port nobody listens on
    const probe = createServer();
    await new Promise((r) => probe.listen(0, '127.0.0.1', r));
    const port = probe.address().port;
    await new Promise((r) => probe.close(r));
    return initWith({ kind: 'url', url: `http://127.0.0.1:${port}/m.gguf`, stallMs: 200, retries: 0 });
  },
  'dl-part-corrupt': () => download('/corrupt-part.gguf', { manifest: twoParts() }),
  'dl-part-other-size': () => {
    const m = twoParts();
    m.size += 1;
    m.parts[1].size += 1;
    return download('/ok.gguf', { manifest: m });
  },
  // HTTP requests to wisp serve
  'http-malformed-json': () => infill('{"input_prefix": '),
  'http-not-an-object': () => infill('[1, 2]'),
  'http-missing-prefix': () => infill({ input_suffix: 'x' }),
  'http-wrong-type': () => infill({ input_prefix: 'x', n_predict: 'ten' }),
  'http-duplicate-key': () => infill('{"input_prefix": "a", "input_prefix": "b"}'),
  'http-nul-in-string': () => infill('{"input_prefix": "a\\u0000b"}'),
  'http-invalid-utf8': () => infill(Buffer.from([0x7b, 0x22, 0x69, 0x6e, 0x70, 0x75, 0x74, 0x5f, 0x70, 0x72, 0x65, 0x66, 0x69, 0x78, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])),
  'http-unknown-language': () => infill({ input_prefix: 'x', language: 'cobol' }),
  'http-negative-top-k': () => infill({ input_prefix: 'x', top_k: -1 }),
  'http-stream': () => http('POST', '/v1/completions', JSON.stringify({ prompt: 'x', stream: true })),
  'http-n-two': () => http('POST', '/v1/completions', JSON.stringify({ prompt: 'x', n: 2 })),
  'http-too-big': () => infill(JSON.stringify({ input_prefix: 'x'.repeat(70000) })),
  'http-wrong-method': () => http('GET', '/infill'),
  'http-unknown-path': () => http('POST', '/complete', '{}'),
  'http-parser-gave-up': () => infill({ input_prefix: '/* '.repeat(2000), language: 'c' }),
  'http-extra-not-array': () => infill({ input_prefix: 'x', input_extra: { filename: 'a.py' } }),
};

const rows = readTable();

test('the catalogue has at least 40 rows, each with a case, and every case has a row', () => {
  assert.ok(rows.length >= 40, `${rows.length} rows`);
  const ids = rows.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  for (const r of rows) {
    assert.ok(cases[r.id], `row ${r.id} has no case in tests/js/catalogue.test.mjs`);
    assert.ok(r.code, `row ${r.id} names no outcome`);
  }
  for (const id of Object.keys(cases)) assert.ok(ids.includes(id), `case ${id} has no row in tests/CATALOGUE.md`);
});

for (const row of rows) {
  test(`${row.id} (${row.surface}): ${row.input}`, { timeout: 60_000 }, async () => {
    const got = await cases[row.id]();
    if (process.env.CATALOGUE_PRINT) console.log(`| \`${row.id}\` | ${row.surface} | ${row.input} | \`${got.code}\` "${got.message}" |`);
    assert.equal(got.code, row.code, `${row.id}: ${JSON.stringify(got)}`);
    if (row.words) assert.ok(got.message.includes(row.words), `${row.id}: "${got.message}" does not say "${row.words}"`);
  });
}
