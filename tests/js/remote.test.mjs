// The remote endpoint (wasm/src/remote.ts) and its place in the shared inline steps
// (wasm/src/inline.ts): the requests of both kinds, the answers, timeouts, the modes' policy,
// failures, pauses and a refused key, against a real HTTP server on localhost (node:http) and,
// for the completer, the real engine (wisp.wasm and a fixture model). No timing assertions: a
// slow endpoint is one that never answers until the test lets it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const api = await import(join(root, 'wasm', 'dist', 'node.mjs'));
const { RemoteEndpoint, buildRequest, choose, confidence, endpointUrl, fillTemplate, parseAnswer, shapeAnswer, splitAtCursor, InlineCompleter } = api;

// A completion request at `|` of `marked`.
function ctx(marked, extra = {}) {
  const offset = marked.indexOf('|');
  const text = marked.replace('|', '');
  const lines = text.slice(0, offset).split('\n');
  return { uri: 'file:///src/app.py', languageId: 'python', text, offset, position: { line: lines.length - 1, character: lines.at(-1).length }, options: {}, ...extra };
}
const settings = (s) => ({ mode: 'fallback', url: 'http://127.0.0.1:1', kind: 'infill', apiKey: '', timeoutMs: 10_000, minConfidence: 0.5, template: '', model: '', maxTokens: 32, ...s });

// A real HTTP server on 127.0.0.1. `handler(req, body, res)` answers; every request is recorded
// with its parsed JSON body. `hold()` makes a handler that never answers (until close).
async function endpoint(handler) {
  const requests = [];
  const open = new Set();
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      const r = { method: req.method, url: req.url, headers: req.headers, body: data ? JSON.parse(data) : null, closed: false };
      requests.push(r);
      res.on('close', () => { r.closed = !res.writableEnded; });
      handler(req, r.body, res);
    });
  });
  server.on('connection', (s) => { open.add(s); s.on('close', () => open.delete(s)); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url, requests,
    close: () => new Promise((r) => { for (const s of open) s.destroy(); server.close(r); }),
  };
}
const json = (res, status, obj) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); };
const infillAnswer = (content) => (req, body, res) => json(res, 200, { content, tokens_predicted: 3 });
const hold = () => () => {};
// Waits for `pred` (an event the test caused), failing after a minute rather than hanging.
async function until(pred) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > 60_000) throw new Error(`still waiting for ${pred}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('endpointUrl: the kind\'s path is added to a server URL, kept when given; bad URLs are named', () => {
  assert.deepEqual(endpointUrl('http://127.0.0.1:8012', 'infill'), { ok: true, url: 'http://127.0.0.1:8012/infill' });
  assert.deepEqual(endpointUrl('http://127.0.0.1:8012/', 'openai'), { ok: true, url: 'http://127.0.0.1:8012/v1/completions' });
  assert.deepEqual(endpointUrl('https://h.example/v1', 'openai'), { ok: true, url: 'https://h.example/v1/completions' });
  assert.deepEqual(endpointUrl('https://h.example/api/infill', 'infill'), { ok: true, url: 'https://h.example/api/infill' });
  assert.deepEqual(endpointUrl('http://h/v1/completions', 'infill'), { ok: true, url: 'http://h/v1/completions' }, 'an explicit path wins');
  for (const [bad, why] of [['127.0.0.1:8012', /is not a URL/], ['localhost:8012', /not http/], ['not a url', /is not a URL/], ['ftp://h/x', /not http/], ['http://u:p@h/', /API key setting/]]) {
    const r = endpointUrl(bad, 'infill');
    assert.equal(r.ok, false, bad);
    assert.match(r.message, why, bad);
  }
});

test('buildRequest, infill: llama.cpp\'s fields, the cursor line as prompt, other files as input_extra, the key as a bearer token', () => {
  const c = ctx('import os\n\ndef main():\n    pa|th = 1\n    return path\n', { languageId: 'typescriptreact', uri: 'file:///w/src/My%20App.tsx' });
  const r = buildRequest(settings({ apiKey: 'k3y', maxTokens: 48, timeoutMs: 1500 }), c, [{ filename: 'a.tsx', text: 'x'.repeat(9000) }, { filename: 'b.tsx', text: 'b' }]);
  assert.equal(r.ok, true);
  assert.equal(r.url, 'http://127.0.0.1:1/infill');
  assert.equal(r.init.method, 'POST');
  assert.equal(r.init.headers['Authorization'], 'Bearer k3y');
  assert.equal(r.init.headers['Content-Type'], 'application/json');
  const b = JSON.parse(r.init.body);
  assert.equal(b.input_prefix, 'import os\n\ndef main():\n');
  assert.equal(b.prompt, '    pa');
  assert.equal(b.input_suffix, 'th = 1\n    return path\n');
  assert.equal(b.input_prefix + b.prompt + b.input_suffix, c.text, 'nothing lost or doubled around the cursor');
  assert.equal(b.n_predict, 48);
  assert.equal(b.t_max_predict_ms, 1500);
  assert.equal(b.cache_prompt, true);
  assert.equal(b.stream, false);
  assert.equal(b.filename, 'My App.tsx');
  assert.equal(b.language, 'tsx', 'wisp serve\'s name for typescriptreact');
  assert.deepEqual(b.input_extra.map((x) => [x.filename, x.text.length]), [['a.tsx', 4000], ['b.tsx', 1]]);
  const none = buildRequest(settings(), ctx('x|', { languageId: 'rust' }));
  assert.equal('language' in JSON.parse(none.init.body), false, 'no language field for a language wisp serve does not know');
  assert.equal(none.init.headers['Authorization'], undefined, 'no key, no header');
});

test('buildRequest, openai: prompt + suffix, or the template filled in once; model and stop', () => {
  const c = ctx('def f(x):\n    return |\n\nprint(f(2))\n');
  let b = JSON.parse(buildRequest(settings({ kind: 'openai', model: 'qwen', maxTokens: 20 }), c).init.body);
  assert.deepEqual(b, { prompt: 'def f(x):\n    return ', suffix: '\n\nprint(f(2))\n', max_tokens: 20, temperature: 0, stream: false, model: 'qwen' });
  const template = '<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>';
  b = JSON.parse(buildRequest(settings({ kind: 'openai', template }), { ...c, options: { maxLines: 1 } }).init.body);
  assert.equal(b.prompt, '<|fim_prefix|>def f(x):\n    return <|fim_suffix|>\n\nprint(f(2))\n<|fim_middle|>');
  assert.equal('suffix' in b, false);
  assert.equal('model' in b, false);
  assert.deepEqual(b.stop, ['\n'], 'one line asked: stop at the newline');
  // A placeholder typed in the code is code, not a placeholder.
  assert.equal(fillTemplate('[{prefix}|{suffix}|{filename}|{language}|{other}]', { prefix: 'a{suffix}', suffix: 'b', filename: 'f.py', language: 'python' }),
    '[a{suffix}|b|f.py|python|{other}]');
});

test('splitAtCursor: 256 lines before and 64 after the cursor are sent, within a character cap', () => {
  const lines = Array.from({ length: 400 }, (_, i) => `line${i}`);
  const text = lines.join('\n');
  const offset = text.indexOf('line300') + 4;
  const s = splitAtCursor(text, offset);
  assert.equal(s.line, 'line');
  assert.equal(s.before.split('\n').length - 1, 256);
  assert.ok(s.before.startsWith('line44\n') && s.before.endsWith('line299\n'), s.before.slice(0, 20));
  assert.equal(s.after.split('\n').length, 65);
  assert.ok(s.after.startsWith('300\n'));
  const many = 'y'.repeat(50) + '\n' + ('x'.repeat(99) + '\n').repeat(200) + 'z';
  const long = splitAtCursor(many, many.length);
  assert.ok(long.before.length <= 16_000 && long.before.length > 15_000, `a cap on the characters (${long.before.length})`);
  assert.ok(long.before.startsWith('x') && many.endsWith(long.before + 'z'), 'cut at the start of a line');
});

test('parseAnswer: llama.cpp\'s content, OpenAI\'s choices[0].text; other shapes are named errors', () => {
  assert.deepEqual(parseAnswer('infill', { content: 'x + 1', tokens_predicted: 3 }), { ok: true, text: 'x + 1' });
  assert.deepEqual(parseAnswer('openai', { choices: [{ text: 'y', index: 0 }] }), { ok: true, text: 'y' });
  for (const [kind, bad, why] of [['infill', { choices: [{ text: 'y' }] }, /content/], ['infill', [], /not a JSON object/], ['infill', null, /not a JSON object/],
    ['openai', { content: 'x' }, /choices\[0\]\.text/], ['openai', { choices: [] }, /choices/], ['openai', { choices: [{ text: 3 }] }, /choices/]]) {
    const r = parseAnswer(kind, bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    assert.match(r.message, why);
  }
});

test('shapeAnswer: editor line endings, one line mid-line without the rest of the line, maxLines, no trailing blanks', () => {
  assert.equal(shapeAnswer('a\r\nb\r\n\n', ctx('|')), 'a\nb');
  assert.equal(shapeAnswer('x, y)\nmore', ctx('f(|)')), 'x, y', 'mid-line: one line, without the ")" already there');
  assert.equal(shapeAnswer('one\ntwo\nthree', ctx('|', { options: { maxLines: 2 } })), 'one\ntwo');
  assert.equal(shapeAnswer('  \n\n', ctx('|')), '');
});

test('RemoteEndpoint: an infill request over HTTP, its answer as one item at the cursor', async () => {
  const srv = await endpoint(infillAnswer(' 2 * x\n'));
  try {
    const ep = new RemoteEndpoint({ related: () => [{ filename: 'util.py', text: 'def g(): pass' }] });
    ep.configure(settings({ url: srv.url, apiKey: 'sekret' }));
    const c = ctx('def f(x):\n    return|\n');
    const r = await ep.complete(c);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.items, [{ text: ' 2 * x', startOffset: c.offset, endOffset: c.offset, start: c.position, end: c.position, source: 'endpoint' }]);
    assert.equal(srv.requests.length, 1);
    const q = srv.requests[0];
    assert.equal(q.url, '/infill');
    assert.equal(q.headers.authorization, 'Bearer sekret');
    assert.equal(q.body.input_prefix + q.body.prompt, 'def f(x):\n    return');
    assert.deepEqual(q.body.input_extra, [{ filename: 'util.py', text: 'def g(): pass' }]);
  } finally {
    await srv.close();
  }
});

test('RemoteEndpoint: an OpenAI-style request over HTTP', async () => {
  const srv = await endpoint((req, body, res) => json(res, 200, { choices: [{ text: 'total', index: 0, finish_reason: 'stop' }] }));
  try {
    const ep = new RemoteEndpoint();
    ep.configure(settings({ url: srv.url + '/v1', kind: 'openai' }));
    const r = await ep.complete(ctx('return |'));
    assert.deepEqual(r.ok && r.items.map((i) => i.text), ['total']);
    assert.equal(srv.requests[0].url, '/v1/completions');
    assert.equal(srv.requests[0].body.prompt, 'return ');
  } finally {
    await srv.close();
  }
});

test('RemoteEndpoint: a slow endpoint times out, a cancelled request is aborted, neither waits for the server', async () => {
  const srv = await endpoint(hold());
  try {
    const lines = [];
    const ep = new RemoteEndpoint({ log: (l) => lines.push(l) });
    ep.configure(settings({ url: srv.url, timeoutMs: 50 }));
    const r = await ep.complete(ctx('x = |'));
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'timeout');
    assert.match(lines[0], /no answer within 50 ms/);
    // (on a loaded machine the 50 ms can pass before the server sees the request at all)
    if (srv.requests.length) await until(() => srv.requests[0].closed);
    // Cancelled by a newer keystroke: aborted (the server sees the connection go), not a failure.
    ep.configure({ timeoutMs: 60_000 });
    const ac = new AbortController();
    const n = srv.requests.length;
    const p = ep.complete(ctx('x = 1|'), ac.signal);
    await until(() => srv.requests.length === n + 1);
    ac.abort();
    const c = await p;
    assert.equal(c.reason, 'cancelled');
    await until(() => srv.requests[n].closed);
    assert.equal(lines.length, 1, 'a cancellation is not logged');
  } finally {
    await srv.close();
  }
});

test('RemoteEndpoint: failures are log lines; three in a row pause the endpoint, doubling; a success resets', async () => {
  let status = 500;
  const srv = await endpoint((req, body, res) => (status === 200 ? json(res, 200, { content: 'ok' }) : json(res, status, { error: { code: status, message: 'model not loaded' } })));
  try {
    let now = 1_000_000;
    const lines = [];
    const ep = new RemoteEndpoint({ log: (l) => lines.push(l), now: () => now });
    ep.configure(settings({ url: srv.url }));
    for (let i = 0; i < 3; i++) assert.equal((await ep.complete(ctx('a|'))).reason, 'http');
    assert.match(lines[0], /HTTP 500: model not loaded/);
    assert.match(lines[2], /3 failures in a row, local answers only for 5 s/);
    assert.equal((await ep.complete(ctx('a|'))).reason, 'paused');
    assert.equal(srv.requests.length, 3, 'no request while paused');
    now += 5_001;
    assert.equal((await ep.complete(ctx('a|'))).reason, 'http', 'asked again after the pause');
    assert.match(lines.at(-1), /4 failures in a row, local answers only for 10 s/);
    now += 10_001;
    status = 200;
    assert.equal((await ep.complete(ctx('a|'))).ok, true);
    status = 500;
    assert.equal((await ep.complete(ctx('a|'))).reason, 'http');
    assert.equal((await ep.complete(ctx('a|'))).reason, 'http', 'the count started again after the success');
    assert.equal(srv.requests.length, 7);
    // A 404 says what is likely wrong.
    status = 404;
    await ep.complete(ctx('a|'));
    assert.match(lines.at(-1), /no such endpoint \(is the kind right\?/);
  } finally {
    await srv.close();
  }
});

test('RemoteEndpoint: a refused key (401) is said once and stops the requests until the key changes', async () => {
  const srv = await endpoint((req, body, res) => (req.headers.authorization === 'Bearer good' ? json(res, 200, { content: 'yes' }) : json(res, 401, { error: { message: 'missing or wrong API key' } })));
  try {
    const said = [];
    const ep = new RemoteEndpoint({ onAuthError: (m) => said.push(m) });
    ep.configure(settings({ url: srv.url, apiKey: 'bad' }));
    for (let i = 0; i < 5; i++) await ep.complete(ctx(`k${i}|`));
    assert.equal(said.length, 1, 'once, not every keystroke');
    assert.match(said[0], /refused the API key \(HTTP 401\): missing or wrong API key/);
    assert.equal(srv.requests.length, 1, 'no request after the refusal');
    ep.configure(settings({ url: srv.url, apiKey: 'bad' })); // the same settings again: still refused
    assert.equal((await ep.complete(ctx('k|'))).reason, 'paused');
    ep.configure({ apiKey: 'good' });
    const r = await ep.complete(ctx('k|'));
    assert.deepEqual(r.ok && r.items.map((i) => i.text), ['yes']);
  } finally {
    await srv.close();
  }
});

test('RemoteEndpoint: a bad URL is logged once and never fetched; a server that is down is a network failure', async () => {
  const lines = [];
  const ep = new RemoteEndpoint({ log: (l) => lines.push(l), fetch: () => assert.fail('no fetch for a bad URL') });
  ep.configure(settings({ url: 'localhost:8012' }));
  for (let i = 0; i < 3; i++) assert.equal((await ep.complete(ctx('a|'))).reason, 'config');
  assert.equal(lines.length, 1);
  assert.match(lines[0], /endpoint URL "localhost:8012" is not http: or https:/);
  // A port nobody listens on (a server started and stopped).
  const srv = await endpoint(hold());
  const url = srv.url;
  await srv.close();
  const down = new RemoteEndpoint({ log: (l) => lines.push(l) });
  down.configure(settings({ url }));
  const r = await down.complete(ctx('a|'));
  assert.equal(r.reason, 'network');
  assert.match(lines.at(-1), /cannot reach http:\/\/127\.0\.0\.1:\d+\/infill .*is the server running.*CORS/);
});

test('RemoteEndpoint: mode off or no URL: nothing is sent', async () => {
  const srv = await endpoint(infillAnswer('x'));
  try {
    const ep = new RemoteEndpoint();
    ep.configure(settings({ url: srv.url, mode: 'off' }));
    assert.equal(ep.enabled, false);
    assert.equal((await ep.complete(ctx('a|'))).ok, false);
    let asked = 0;
    const r = await choose(ep, ctx('a|'), async () => { asked++; return { items: [], mode: 'end_of_line' }; }, new AbortController().signal, true);
    assert.equal(r.source, 'local');
    ep.configure({ mode: 'prefer', url: '' });
    assert.equal(ep.enabled, false);
    await choose(ep, ctx('a|'), async () => ({ items: [], mode: 'end_of_line' }), new AbortController().signal);
    assert.equal(srv.requests.length, 0);
    assert.equal(asked, 1);
  } finally {
    await srv.close();
  }
});

// The local half of choose(): an answer with a confidence, as the engine gives it.
const local = (text, p, mode = 'end_of_line') => async () => ({ items: text ? [{ text, startOffset: 0, endOffset: 0, start: { line: 0, character: 0 }, end: { line: 0, character: 0 }, meanLogprob: Math.log(p) }] : [], mode });

test('choose, fallback: the endpoint only for a missing or unsure local answer, or when asked for', async () => {
  const srv = await endpoint(infillAnswer('remote'));
  try {
    const ep = new RemoteEndpoint();
    ep.configure(settings({ url: srv.url, minConfidence: 0.5 }));
    const sig = new AbortController().signal;
    const ask = async (l, explicit) => (await choose(ep, ctx('x = |'), l, sig, explicit));
    let r = await ask(local('sure', 0.9));
    assert.deepEqual([r.source, r.items[0].text, srv.requests.length], ['local', 'sure', 0], 'a confident local answer is shown, nothing sent');
    r = await ask(local('unsure', 0.2));
    assert.deepEqual([r.source, r.items[0].text, srv.requests.length], ['endpoint', 'remote', 1]);
    r = await ask(local('', 1));
    assert.deepEqual([r.source, srv.requests.length], ['endpoint', 2], 'no local answer where code is wanted');
    r = await ask(local('', 1, 'none'));
    assert.deepEqual([r.source, srv.requests.length], ['local', 2], 'nothing wanted here (a comment): nothing sent');
    r = await ask(local('sure', 0.9), true);
    assert.deepEqual([r.source, srv.requests.length], ['endpoint', 3], 'the user asked for the endpoint');
    ep.configure({ minConfidence: 0 });
    r = await ask(local('unsure', 0.01));
    assert.deepEqual([r.source, srv.requests.length], ['local', 3], 'threshold 0: only when there is no local answer');
    assert.equal(confidence([]), 0);
  } finally {
    await srv.close();
  }
});

test('choose: the endpoint failing or answering nothing shows the local answer', async () => {
  for (const handler of [(req, body, res) => json(res, 503, { error: { message: 'busy' } }), infillAnswer('   \n'), hold()]) {
    const srv = await endpoint(handler);
    try {
      const ep = new RemoteEndpoint();
      for (const mode of ['fallback', 'prefer']) {
        ep.configure(settings({ url: srv.url, mode, timeoutMs: 100 }));
        const r = await choose(ep, ctx('x = |'), local('mine', 0.1), new AbortController().signal);
        assert.deepEqual([r.source, r.items[0].text], ['local', 'mine'], mode);
      }
    } finally {
      await srv.close();
    }
  }
});

test('choose, prefer: the endpoint first; the local answer is computed meanwhile and shown when it is slow', async () => {
  // Requests are held until released; a request the client gave up on may never arrive or be
  // answered (on a loaded machine the 50 ms timeout can fire before the server sees it).
  const held = [];
  const release = () => { for (const res of held.splice(0)) if (!res.headersSent && !res.destroyed) json(res, 200, { content: 'remote' }); };
  const srv = await endpoint((req, body, res) => { held.push(res); });
  try {
    const ep = new RemoteEndpoint();
    ep.configure(settings({ url: srv.url, mode: 'prefer', timeoutMs: 60_000 }));
    let localStarted = false;
    const p = choose(ep, ctx('x = |'), async () => { localStarted = true; return (await local('mine', 0.99)()); }, new AbortController().signal);
    await until(() => srv.requests.length === 1);
    assert.equal(localStarted, true, 'the engine works while the endpoint is asked');
    release();
    const r = await p;
    assert.deepEqual([r.source, r.items[0].text], ['endpoint', 'remote'], 'even over a confident local answer');
    // The same, slow past the timeout: the local answer.
    ep.configure({ timeoutMs: 50 });
    const slow = await choose(ep, ctx('x = 1|'), local('mine', 0.99), new AbortController().signal);
    assert.deepEqual([slow.source, slow.items[0].text], ['local', 'mine']);
    release();
    // A keystroke typed past (its request aborted): no answer at all, not the local one.
    ep.configure({ timeoutMs: 60_000 });
    const ac = new AbortController();
    const before = srv.requests.length;
    const gone = choose(ep, ctx('x = 12|'), local('mine', 0.99), ac.signal);
    await until(() => srv.requests.length === before + 1);
    ac.abort();
    assert.equal(await gone, null, 'a superseded keystroke shows and remembers nothing');
  } finally {
    await srv.close();
  }
});

// The completer over the real engine (wisp.wasm, the qwen2 fixture), with the endpoint set.
const createWisp = createRequire(import.meta.url)(join(root, 'build-wasm', 'wisp.js'));
const wasm = readFileSync(join(root, 'build-wasm', 'wisp.wasm'));
const model = readFileSync(process.env.WISP_TEST_MODEL || join(root, 'fixtures', 'reference', 'qwen2.gguf'));
const copy = (buf) => buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
async function realCompleter(docs) {
  const listeners = [];
  const host = new api.Host(createWisp, (msg) => { for (const fn of listeners) fn({ data: msg }); });
  const client = new api.WispClient({ postMessage: (m) => host.receive(m), addEventListener: (t, fn) => { if (t === 'message') listeners.push(fn); } },
    (uri) => docs.get(uri));
  const r = await client.init({ wasmBytes: copy(wasm), model: { kind: 'bytes', bytes: copy(model) } });
  assert.equal(r.ok, true, JSON.stringify(r));
  return { client, completer: new InlineCompleter(client, { maxDebounceMs: 0, speculativeIdleMs: 0 }) };
}
function cancelToken() {
  const listeners = [];
  const t = { isCancellationRequested: false, onCancellationRequested: (fn) => { listeners.push(fn); return { dispose() {} }; } };
  t.cancel = () => { t.isCancellationRequested = true; for (const fn of listeners) fn(); };
  return t;
}
const URI = 'file:///w/app.py';
function request(docs, text, version) {
  docs.set(URI, { text, version, languageId: 'python' });
  const lines = text.split('\n');
  return () => ({ uri: URI, version, languageId: 'python', position: { line: lines.length - 1, character: lines.at(-1).length }, options: { timeBudgetMs: 2000, maxTokens: 8 }, text, offset: text.length });
}
const ready = Promise.resolve(true);

test('InlineCompleter + endpoint: prefer shows the endpoint\'s answer, typing through it asks nobody, no speculation', async () => {
  const srv = await endpoint(infillAnswer('total_value(items)'));
  try {
    const docs = new Map();
    const { client, completer } = await realCompleter(docs);
    completer.remote = new RemoteEndpoint();
    completer.remote.configure(settings({ url: srv.url, mode: 'prefer' }));
    const done = [];
    const items = await completer.complete(cancelToken(), ready, request(docs, 'def f(items):\n    return ', 1), { onDone: (ms, r, source) => done.push(source) });
    assert.deepEqual(items.map((i) => i.text), ['total_value(items)']);
    assert.deepEqual(done, ['endpoint']);
    assert.equal(completer.counts.endpoint, 1);
    assert.equal(srv.requests[0].body.language, 'python');
    assert.ok(client.sent.complete >= 1, 'the engine was asked too (the fallback, ready if needed)');
    const typed = await completer.complete(cancelToken(), ready, request(docs, 'def f(items):\n    return tot', 2));
    assert.deepEqual(typed.map((i) => i.text), ['al_value(items)'], 'the rest of the endpoint\'s answer');
    assert.equal(srv.requests.length, 1, 'no request for the typed-through characters');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(client.sent.speculate ?? 0, 0, 'prefer: no local speculation to show instead of the endpoint');
  } finally {
    await srv.close();
  }
});

test('InlineCompleter + endpoint: a newer keystroke aborts the request; the server down means local answers, as without one', async () => {
  const srv = await endpoint(hold());
  const docs = new Map();
  const { completer } = await realCompleter(docs);
  const plainDocs = new Map();
  const plain = await realCompleter(plainDocs);
  try {
    completer.remote = new RemoteEndpoint();
    completer.remote.configure(settings({ url: srv.url, mode: 'prefer', timeoutMs: 60_000 }));
    const token = cancelToken();
    const p = completer.complete(token, ready, request(docs, 'def f(x):\n    return ', 1));
    await until(() => srv.requests.length === 1);
    token.cancel(); // the editor's cancellation: the next keystroke
    assert.deepEqual(await p, []);
    await until(() => srv.requests[0].closed);
  } finally {
    await srv.close();
  }
  // Down: the same items as a completer with no endpoint at all.
  const text = 'def add(a, b):\n    return ';
  const got = await completer.complete(cancelToken(), ready, request(docs, text, 2));
  const want = await plain.completer.complete(cancelToken(), ready, request(plainDocs, text, 1));
  assert.deepEqual(got.map((i) => i.text), want.map((i) => i.text));
  assert.equal(completer.counts.endpoint, 0);
});
