// End-to-end, Monaco demo in headless Chromium with the real engine and model:
//   (a) typing in a Python, a TypeScript and a C file brings ghost text; Tab accepts it
//   (c) every request stays on localhost and none carries the typed text
//   (d) a second start (same profile) takes the model from browser storage, no download; the
//       first start runs the relaxed-SIMD build (Chromium has it), the second the plain one
//   (b) typing the suggested characters keeps the ghost text, each key served by the remembered
//       suggestion and none by the engine (registerWisp's onInline events, recorded by the page),
//       and Tab shows the next suggestion from the speculative one, with no engine request
//   (e) the remote endpoint of the shared code, OpenAI kind, prefer mode, against a real `wisp
//       serve` serving another model: its answer as ghost text and in the status line, under the
//       demo's Content-Security-Policy; with the server stopped, local answers
//   (f) streaming: in an empty block the first line of the answer is drawn as soon as the engine
//       has it, before the whole answer, which then replaces it (one engine request)
//   and the package's type declarations: a TypeScript consumer of @wisp/monaco type-checks
// Screenshots: tests/artifacts/monaco-<language>.png, monaco-typed-through.png, monaco-next-suggestion.png, monaco-endpoint.png,
// monaco-streamed-whole.png
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openDemo as openDemoAt, recordGhost, toEnd, waitGhost } from './demo.mjs';
import { artifacts, countRequests, freshProfile, launch, root, startServer, startWispServe } from './lib.mjs';
const { shapeAnswer } = await import(join(root, 'wasm', 'dist', 'node.mjs'));

const MODEL_PATH = '/models/wisp-default.gguf';
// Distinctive names, so that a leak of the typed text is recognisable in any request.
const CASES = [
  { language: 'python', text: 'def wisp_secret_mean(values):\n', next: 'return sum(' },
  { language: 'typescript', text: 'function wispSecretPerimeter(r: Rect): number {\n', next: 'return 2 * (' },
  { language: 'c', text: 'static int wisp_secret_max(int a, int b) {\n', next: 'return a > b ? ' },
];
const secrets = CASES.flatMap((c) => [c.text.trim(), c.next.trim()]).filter((s) => s.length > 8);

let server;
let origin;
const profile = freshProfile('monaco');

before(async () => {
  ({ server, url: origin } = await startServer());
});
after(() => server?.close());

const openDemo = (page, query = '') => openDemoAt(page, origin, query);

test('Monaco: ghost text in Python, TypeScript and C from the real engine; Tab accepts it', { timeout: 300_000 }, async () => {
  const { context, page, log, consoleLines } = await launch(profile, { origin, secrets });
  try {
    const ready = await openDemo(page);
    assert.equal(ready.ok, true, `engine failed to start: ${JSON.stringify(ready)}`);
    assert.equal(ready.value.modelFromCache, false, 'first start downloads the model');
    assert.equal(ready.value.simd, 'relaxed', 'Chromium runs relaxed SIMD: the worker took the relaxed build');
    for (const c of CASES) {
      await toEnd(page, c.language);
      await page.keyboard.type(c.text, { delay: 30 });
      await page.keyboard.type(c.next, { delay: 90 });
      const ghost = await waitGhost(page);
      await page.screenshot({ path: join(artifacts, `monaco-${c.language}.png`) });
      assert.ok(ghost, `no ghost text in ${c.language}; console: ${consoleLines.slice(-5).join(' | ')}`);
      const shown = await page.evaluate(() => window.demo.lastResult);
      assert.ok(shown && shown.items.length > 0, 'the suggestion came from a worker completion');
      // What is drawn at the cursor: the first part of the ghost text (more parts follow an
      // existing closing bracket, more lines below).
      const { before, offset, first } = await page.evaluate(() => {
        const ed = window.demo.editor;
        const m = ed.getModel();
        return { before: m.getValue(), offset: m.getOffsetAt(ed.getPosition()),
          first: document.querySelector('.view-lines .ghost-text-decoration')?.textContent ?? '' };
      });
      assert.ok(first.length > 0, 'the ghost text at the cursor is not empty');
      await page.keyboard.press('Tab');
      await page.waitForFunction((b) => window.demo.editor.getModel().getValue() !== b, before, { timeout: 10_000 });
      const afterText = await page.evaluate(() => window.demo.editor.getModel().getValue());
      assert.ok(afterText.startsWith(before.slice(0, offset) + first.replace(/\u00a0/g, ' ')),
        `Tab inserted the ghost text ${JSON.stringify(first)} at the cursor: ${JSON.stringify(afterText.slice(offset - c.next.length, offset + 60))}`);
    }
    const stats = await page.evaluate(() => window.wisp.client.stats());
    assert.equal(stats.ok, true);
    assert.ok(stats.value.edits > 20, `typing reached the worker as edits (${stats.value.edits})`);
    assert.equal(stats.value.resyncs, 0, 'no document had to be resent whole');
    assert.deepEqual(log.violations, [], 'no request leaves localhost or carries typed text');
    assert.equal(countRequests(log, MODEL_PATH), 1, 'the model is downloaded once');
  } finally {
    await context.close();
  }
});

test('Monaco: a second start loads the model from browser storage, not the network', { timeout: 180_000 }, async () => {
  const { context, page, log } = await launch(profile, { origin, secrets });
  try {
    // The plain simd128 build this time (?simd128: the demo does not offer the relaxed one).
    const ready = await openDemo(page, '?simd128');
    assert.equal(ready.ok, true, JSON.stringify(ready));
    assert.equal(ready.value.simd, 'simd128', 'the plain build when the relaxed one is not offered');
    assert.equal(ready.value.modelFromCache, true, 'model came from Cache Storage');
    assert.equal(countRequests(log, MODEL_PATH), 0, 'no model fetch on the second start');
    assert.deepEqual(log.violations, []);
  } finally {
    await context.close();
  }
});

test('Monaco: an empty block shows its first line as soon as the engine has it, then the whole answer', { timeout: 300_000 }, async () => {
  const { context, page, log, consoleLines } = await launch(profile, { origin, secrets });
  try {
    // No time budget: the block's answer is the model's whole one, however slow the machine.
    await page.goto(origin + '/?timeBudgetMs=0');
    await page.waitForFunction(() => window.demo && window.demo.ready, null, { timeout: 60_000 });
    assert.equal((await page.evaluate(() => window.demo.ready)).ok, true);
    await recordGhost(page);
    const cursorAt = () => page.evaluate(() => { const p = window.demo.editor.getPosition(); return [p.lineNumber - 1, p.column - 1]; });
    const eventsAt = (from, [line, ch]) => page.evaluate(([n, l, c]) => window.inlineAt.slice(n).filter((e) => e[1] === l && e[2] === c), [from, line, ch]);
    let at = null;
    let events = [];
    // A body the model fills with more than one line whose first line differs from the whole
    // answer (a class first: a model writes its methods; then functions, in case of a one-line answer).
    for (const header of ['class WispSecretStack', 'def wisp_secret_names(items)', 'def wisp_secret_total_price(items)']) {
      await toEnd(page, 'python');
      const from = await page.evaluate(() => window.inlineAt.length);
      await page.keyboard.type(`\n\n${header}:\n`, { delay: 30 });
      at = await cursorAt();
      const t0 = Date.now();
      do {
        await new Promise((r) => setTimeout(r, 200));
        events = await eventsAt(from, at);
      } while (!events.some((e) => e[0] === 'full') && Date.now() - t0 < 60_000);
      if (events.some((e) => e[0] === 'full')) break;
    }
    const kinds = events.map((e) => e[0]);
    assert.deepEqual(kinds.filter((k) => k === 'engine' || k === 'partial' || k === 'full'), ['engine', 'partial', 'full'],
      `one engine request, its first line, then the whole answer at ${JSON.stringify(at)}: ${JSON.stringify(kinds)}; console: ${consoleLines.slice(-5).join(' | ')}`);
    const tFull = events.find((e) => e[0] === 'full')[3];
    const answer = await page.evaluate(() => window.demo.lastResult.items[0].text);
    const [firstLine, ...rest] = answer.split('\n');
    const nonblank = (lines) => lines.map((l) => l.trimEnd()).filter((l) => l !== '');
    assert.ok(nonblank(rest).length > 0, `a multi-line answer: ${JSON.stringify(answer)}`);
    // Drawn: the first line alone (nothing below it) before the whole answer came, ...
    const ghosts = () => page.evaluate(() => window.ghosts);
    const early = (await ghosts()).find((g) => g.extra.length === 0 && g.line.trim() === firstLine.trim());
    assert.ok(early, `the first line ${JSON.stringify(firstLine)} alone was drawn: ${JSON.stringify(await ghosts())}`);
    assert.ok(early.t < tFull, `before the whole answer (${early.t.toFixed(0)} < ${tFull.toFixed(0)} ms)`);
    // ... then the whole answer: the same first line, the other lines below it.
    await page.waitForFunction((t) => window.ghosts.some((g) => g.t > t && g.extra.length > 0), early.t, { timeout: 10_000 }).catch(() => null);
    await page.screenshot({ path: join(artifacts, 'monaco-streamed-whole.png') });
    const late = (await ghosts()).find((g) => g.t > early.t && g.extra.length > 0);
    assert.ok(late, `the whole answer was drawn after the first line: ${JSON.stringify(await ghosts())}`);
    assert.equal(late.line.trim(), firstLine.trim());
    assert.deepEqual(nonblank(late.extra), nonblank(rest), 'the other lines below it');
    assert.deepEqual(log.violations, []);
  } finally {
    await context.close();
  }
});

// The declarations that extension/build.mjs emits (tsc) for the package's public API, checked the
// way a user meets them: package.json "types" and exports, then a strict TypeScript file that
// imports @wisp/monaco (linked into a scratch node_modules) and must type-check. The
// @ts-expect-error lines fail the check if the types collapse to `any`.
test('Monaco package: dist/wisp-monaco.d.ts declares registerWisp; a TypeScript consumer type-checks', { timeout: 60_000 }, () => {
  const pkgDir = join(root, 'extension', 'monaco');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  assert.equal(pkg.types, './dist/wisp-monaco.d.ts');
  assert.equal(pkg.exports['.'].types, './dist/wisp-monaco.d.ts');
  const entry = join(pkgDir, 'dist', 'wisp-monaco.d.ts');
  assert.ok(existsSync(entry), `${entry} exists (node extension/build.mjs without --no-check)`);
  const api = readFileSync(join(pkgDir, 'dist', 'types', 'extension', 'monaco', 'src', 'index.d.ts'), 'utf8');
  assert.match(api, /export declare function registerWisp\(monaco: \w+, options: WispOptions\): WispHandle;/);

  const dir = mkdtempSync(join(tmpdir(), 'wisp-monaco-types-'));
  mkdirSync(join(dir, 'node_modules', '@wisp'), { recursive: true });
  symlinkSync(pkgDir, join(dir, 'node_modules', '@wisp', 'monaco'), 'dir');
  symlinkSync(join(root, 'deps', 'node_modules', 'monaco-editor'), join(dir, 'node_modules', 'monaco-editor'), 'dir');
  writeFileSync(join(dir, 'consumer.ts'), `
import * as monaco from 'monaco-editor';
import { registerWisp, type WispHandle, type WispOptions, type WispStatus } from '@wisp/monaco';
const options: WispOptions = {
  workerUrl: '/wasm/wisp-worker.js', wasmUrl: '/wasm/wisp.wasm', modelUrl: '/models/wisp-default.gguf',
  languages: ['python', 'c'], maxLines: 1,
  onStatus: (s: WispStatus) => { if (s.state === 'ready') console.log(s.info.modelBytes); },
};
const wisp: WispHandle = registerWisp(monaco, options);
wisp.enabled = false;
void wisp.ready.then((r) => (r.ok ? r.value.modelSha256 : r.error.code));
// @ts-expect-error workerUrl is required
registerWisp(monaco, { wasmUrl: '', modelUrl: '' });
// @ts-expect-error maxLines is a number
registerWisp(monaco, { ...options, maxLines: 'one' });
wisp.dispose();
`);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'ES2022', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'],
      strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['consumer.ts'],
  }));
  const tsc = join(root, 'deps', 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`the consumer does not type-check against @wisp/monaco:\n${e.stdout}${e.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true }); // the links, not what they point at
  }
});

// The word characters at the start of a ghost text (typing brackets or quotes would meet the
// editor's auto-closing), at most `n`.
const typeable = (ghost, n = 2) => (/^[A-Za-z0-9_]+/.exec(ghost)?.[0] ?? '').slice(0, n);

test('Monaco: typing the suggested characters keeps the ghost text with no new engine request; Tab shows the next one at once', { timeout: 600_000 }, async () => {
  const { context, page, log, consoleLines } = await launch(profile, { origin, secrets });
  try {
    // A token budget, not a time budget: four tokens, whatever the machine's speed, so that the
    // suggestion stops inside the expression and there is a next part to compute.
    await page.goto(origin + '/?timeBudgetMs=0&maxTokens=4');
    await page.waitForFunction(() => window.demo && window.demo.ready, null, { timeout: 60_000 });
    assert.equal((await page.evaluate(() => window.demo.ready)).ok, true);
    const ghostText = () => page.evaluate(() => [...document.querySelectorAll('.view-lines .ghost-text-decoration')].map((e) => e.textContent).join(''));
    const position = () => page.evaluate(() => { const p = window.demo.editor.getPosition(); return { line: p.lineNumber - 1, character: p.column - 1 }; });
    // How keystrokes were served, and idle-time work that came back (registerWisp's onInline),
    // since event `from`.
    const events = (from) => page.evaluate((n) => window.demo.inline.slice(n), from);
    const mark = () => page.evaluate(() => window.demo.inline.length);
    const isAt = (e, p) => e.position.line === p.line && e.position.character === p.character;
    // Waits (up to `ms`) for an event since `from` at position `p`, of `kind` when given.
    const eventAt = (from, p, kind, ms) => page.waitForFunction(([n, q, k]) => window.demo.inline.slice(n).some((e) => (!k || e.kind === k)
      && e.position.line === q.line && e.position.character === q.character), [from, p, kind], { timeout: ms }).catch(() => null);
    const where = (es) => JSON.stringify(es.map((e) => [e.kind, e.position.line, e.position.character]));
    let ghost = '';
    let prefix = '';
    let from = 0;
    // Find a suggestion that starts with two word characters and goes on (a few places).
    for (const [i, next] of ['return [v * ', 'return sum(v * ', 'total = '].entries()) {
      await toEnd(page, 'python');
      await page.keyboard.type(`def wisp_secret_scale${i}(values, factor):\n`, { delay: 30 });
      from = await mark();
      await page.keyboard.type(next, { delay: 90 });
      if (!(await waitGhost(page, 120_000))) continue;
      ghost = await ghostText();
      prefix = typeable(ghost);
      if (prefix.length === 2 && ghost.length > 2) break;
    }
    assert.ok(prefix.length === 2 && ghost.length > 2, `a ghost text that starts with two word characters and goes on; last ${JSON.stringify(ghost)}; console: ${consoleLines.slice(-5).join(' | ')}`);
    const p0 = await position();
    const typedFrom = await mark();
    for (const ch of prefix) await page.keyboard.type(ch, { delay: 120 });
    const rest = ghost.slice(prefix.length);
    await page.waitForFunction((r) => [...document.querySelectorAll('.view-lines .ghost-text-decoration')].map((e) => e.textContent).join('') === r, rest, { timeout: 10_000 }).catch(() => null);
    const kept = await ghostText();
    await page.screenshot({ path: join(artifacts, 'monaco-typed-through.png') });
    assert.equal(kept, rest, `the rest of ${JSON.stringify(ghost)} is still shown after typing ${JSON.stringify(prefix)}`);
    // Every keystroke typed through was served from the remembered suggestion, none by the engine.
    const typed = (await events(typedFrom)).filter((e) => e.position.line === p0.line && e.position.character > p0.character);
    const p1 = { line: p0.line, character: p0.character + prefix.length };
    assert.ok(typed.some((e) => isAt(e, p1) && e.kind === 'typed'), `the last typed key was served by typing through: ${where(typed)}`);
    assert.deepEqual(typed.filter((e) => e.kind === 'engine'), [], `no engine request while typing the suggested characters: ${where(typed)}`);

    // The suggestion after this one, computed in idle time for the state after accepting it; then
    // Tab shows it from there, with no engine request.
    const end = { line: p0.line, character: p0.character + ghost.length };
    const speculated = await eventAt(from, end, 'speculations', 120_000);
    assert.ok(speculated, `a speculative suggestion for ${JSON.stringify(end)} came back: ${where(await events(from))}`);
    const before = await page.evaluate(() => window.demo.editor.getModel().getValue());
    const tabFrom = await mark();
    await page.keyboard.press('Tab');
    await page.waitForFunction((b) => window.demo.editor.getModel().getValue() !== b, before, { timeout: 10_000 });
    // The editor asks for the next suggestion a moment after the edit (and the accepted ghost text
    // can linger in the page until the next frame): wait until the request at the new end was
    // served, then for the ghost text it shows.
    await eventAt(tabFrom, end, null, 30_000);
    const next = await page.waitForFunction(() => document.querySelector('.view-lines .ghost-text-decoration')?.textContent, null, { timeout: 30_000 }).catch(() => null);
    await page.screenshot({ path: join(artifacts, 'monaco-next-suggestion.png') });
    const after = (await events(tabFrom)).filter((e) => isAt(e, end));
    assert.deepEqual(await position(), end, 'Tab accepted the rest of the suggestion');
    assert.ok(next, `a next suggestion after Tab: ${where(after)}`);
    assert.ok(after.some((e) => e.kind === 'speculative'), `served by the speculative suggestion: ${where(after)}`);
    assert.deepEqual(after.filter((e) => e.kind === 'engine'), [], `no engine request for it: ${where(after)}`);
    assert.deepEqual(log.violations, []);
  } finally {
    await context.close();
  }
});

test('Monaco: the endpoint (OpenAI kind, prefer mode, wisp serve with another model) answers first; stopped, local answers continue', { timeout: 240_000 }, async () => {
  const serve = await startWispServe(join(root, 'fixtures', 'reference', 'trained.gguf'));
  const { context, page, log, consoleLines } = await launch(freshProfile('monaco-endpoint'), { origin, secrets, allow: [serve.origin] });
  try {
    const res = await page.goto(`${origin}/?endpoint=${encodeURIComponent(serve.url)}&endpointMode=prefer&endpointKind=openai&endpointTimeoutMs=60000`);
    assert.match(res.headers()['content-security-policy'] ?? '', /connect-src 'self' http:\/\/localhost:\* http:\/\/127\.0\.0\.1:\*/,
      'the demo page lets the page connect to itself and to endpoints on this machine only');
    await page.waitForFunction(() => window.demo && window.demo.ready, null, { timeout: 60_000 });
    assert.equal((await page.evaluate(() => window.demo.ready)).ok, true);
    const typeAt = async (text, next) => {
      await toEnd(page, 'python');
      await page.keyboard.type(text, { delay: 30 });
      await page.keyboard.type(next, { delay: 90 });
    };
    await typeAt('\ndef wisp_remote_scale(values, factor):\n', 'return [v * ');
    await page.waitForFunction(() => window.demo.lastSource === 'endpoint', null, { timeout: 120_000 });
    const status = await page.textContent('#status');
    assert.match(status, /from the endpoint/, 'the status line says where the suggestion came from');
    const sent = log.requests.filter((r) => r.url.startsWith(serve.url));
    assert.ok(sent.length >= 1 && sent.every((r) => r.url === `${serve.url}/v1/completions`), JSON.stringify(sent.map((r) => r.url)));
    const body = JSON.parse(sent.at(-1).body);
    // The last request was sent at one of the last keystrokes: the ones typed after it were served
    // by typing through its suggestion (no request), which depends on when its answer came back.
    const typed = 'return [v * ';
    const cut = [...Array(4).keys()].map((k) => typed.length - k).find((n) => String(body.prompt).endsWith(typed.slice(0, n)));
    assert.ok(cut !== undefined && typeof body.suffix === 'string',
      `prompt (before the cursor) and suffix; the last of ${sent.length} request(s) ends ${JSON.stringify(String(body.prompt).slice(-40))}`);
    const typedAfter = typed.slice(cut).length;
    // The ghost text is the server's answer to that very request, as the shared code shapes it
    // (one line here: the editor closed the bracket after the cursor).
    const answer = (await serve.post('/v1/completions', body)).choices[0].text;
    const at = await page.evaluate(() => {
      const ed = window.demo.editor;
      const text = ed.getModel().getValue();
      const offset = ed.getModel().getOffsetAt(ed.getPosition());
      return { uri: 'file:///demo/sample.py', text, offset, position: { line: 0, character: 0 }, options: {} };
    });
    // the document as that request saw it
    at.text = at.text.slice(0, at.offset - typedAfter) + at.text.slice(at.offset);
    at.offset -= typedAfter;
    const want = shapeAnswer(answer, at);
    assert.ok(want, `the server's answer is not blank here: ${JSON.stringify(answer)}`);
    const shown = await page.evaluate(() => window.demo.lastResult.items[0].text);
    assert.equal(shown, want, 'the suggestion is wisp serve\'s answer');
    await page.screenshot({ path: join(artifacts, 'monaco-endpoint.png') });
    assert.ok(await waitGhost(page), 'shown as ghost text');
    assert.ok((await page.evaluate(() => window.wisp.counts.endpoint)) >= 1);

    await serve.stop();
    await page.keyboard.press('Escape');
    await typeAt('\n\ndef wisp_remote_total(values):\n', 'return sum(');
    await page.waitForFunction(() => window.demo.lastSource === 'local', null, { timeout: 120_000 });
    assert.ok(await waitGhost(page), 'local ghost text with the endpoint down');
    // Asked for explicitly (typing may have been served from remembered answers): the reason is
    // logged, and the answer is local.
    await page.evaluate(() => window.wisp.askEndpoint(window.demo.editor));
    const why = /\[wisp\] endpoint: cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/completions/;
    for (const t0 = Date.now(); !consoleLines.some((l) => why.test(l)) && Date.now() - t0 < 60_000;) await new Promise((r) => setTimeout(r, 200));
    assert.ok(consoleLines.some((l) => why.test(l)), `a log line says why; console tail: ${consoleLines.slice(-6).join(' | ')}`);
    assert.ok(await waitGhost(page), 'still local ghost text');
    assert.equal(await page.evaluate(() => window.demo.lastSource), 'local');
    assert.deepEqual(log.violations, [], 'only the local server and the named endpoint were asked');
  } finally {
    await context.close();
    await serve.stop();
  }
});
