// Driving VS Code for the Web the way a user does, for tests/e2e/vscode.test.mjs: the command
// palette, new untitled files in a chosen language, user settings written into settings.json, and
// reading back what the editor shows (document text, ghost text, cursor) from the DOM, since the
// workbench exposes no editor API to the page.
import { sleep } from './lib.mjs';

// The text editor of the active editor group (not the output panel's, not a quick input's).
const EDITOR = '.part.editor .editor-group-container.active .editor-instance .monaco-editor';

/** Runs a command from the palette (F1) by its title, as shown there. */
export async function runCommand(page, title) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-box input', { timeout: 10_000 });
  await page.keyboard.type(title, { delay: 10 });
  await pickRow(page, (label) => label === title || label.startsWith(`${title},`), title);
}

// Picks the quick pick row whose aria-label (title, then ", keybinding") `matches`, with the
// arrow keys: fuzzy matching may rank another first ("View: Close All Editor Groups").
async function pickRow(page, matches, what) {
  const t0 = Date.now();
  let labels = [];
  while (Date.now() - t0 < 10_000) {
    labels = await page.$$eval('.quick-input-list .monaco-list-row', (rows) =>
      rows.map((r) => [Number(r.getAttribute('data-index')), r.getAttribute('aria-label') ?? '']));
    const row = labels.find(([, label]) => matches(label));
    if (row) {
      for (let i = 0; i < row[0]; i++) await page.keyboard.press('ArrowDown');
      return page.keyboard.press('Enter');
    }
    await sleep(100);
  }
  throw new Error(`palette: no row ${what} among ${JSON.stringify(labels.map(([, l]) => l))}`);
}

/** Opens a new untitled file (Ctrl+Alt+N; Python by default) and sets its language: ['C', 'c']. */
export async function newUntitled(page, language) {
  await page.keyboard.press('Control+Alt+N');
  await waitEditorFocus(page);
  if (!language) return;
  const [label, id] = language;
  await runCommand(page, 'Change Language Mode');
  await page.keyboard.type(label, { delay: 10 });
  await pickRow(page, (l) => l === `${label}, (${id})`, `${label} (${id})`);
  await page.locator('.statusbar-item').filter({ hasText: new RegExp(`^${label}$`) }).first().waitFor({ timeout: 10_000 });
  await waitEditorFocus(page);
}

async function waitEditorFocus(page) {
  await page.waitForFunction((sel) => document.activeElement?.closest(sel) != null, EDITOR, { timeout: 10_000 });
}

/**
 * Replaces the user settings.json with `settings` (pasted, so that the JSON editor's auto-closing
 * does not get in the way), saves it and goes back to the editor that was active before.
 * VS Code applies it at once; the extension reads its settings on every request.
 */
export async function writeUserSettings(page, settings) {
  const text = JSON.stringify(settings);
  await runCommand(page, 'Preferences: Open User Settings (JSON)');
  await page.locator('.tab.active', { hasText: 'settings.json' }).waitFor({ timeout: 10_000 });
  await waitEditorFocus(page);
  await page.keyboard.press('Control+A');
  await paste(page, text);
  const shown = await page.waitForFunction(([sel, t]) => {
    const lines = [...(document.querySelector(sel)?.querySelectorAll('.view-lines .view-line') ?? [])];
    return lines.map((l) => l.textContent.replace(/\u00a0/g, ' ')).join('') === t;
  }, [EDITOR, text], { timeout: 10_000 }).catch(() => null);
  if (!shown) throw new Error(`settings.json does not read ${text}: ${JSON.stringify(await documentText(page))}`);
  await page.keyboard.press('Control+S');
  await page.locator('.tab.active.dirty', { hasText: 'settings.json' }).waitFor({ state: 'detached', timeout: 10_000 });
  await runCommand(page, 'View: Close Editor');
  await page.locator('.tab.active', { hasText: 'settings.json' }).waitFor({ state: 'detached', timeout: 10_000 });
  await waitEditorFocus(page);
}

/** Pastes `text` at the cursor through the system clipboard (Ctrl+V). */
export async function paste(page, text) {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(page.url()).origin });
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
  await page.keyboard.press('Control+V');
}

/** The document of the active editor as it is drawn (ghost text left out), lines joined by \n. */
export function documentText(page) {
  return page.evaluate((sel) => {
    const lines = [...(document.querySelector(sel)?.querySelectorAll('.view-lines .view-line') ?? [])];
    return lines.map((l) => {
      const c = l.cloneNode(true);
      c.querySelectorAll('.ghost-text-decoration, .ghost-text-decoration-preview').forEach((g) => g.remove());
      return [parseFloat(l.style.top), c.textContent.replace(/\u00a0/g, ' ')];
    }).sort((a, b) => a[0] - b[0]).map(([, t]) => t).join('\n');
  }, EDITOR);
}

/** Waits up to 10 s for the document to differ from `before`; returns it (still `before` if not). */
export async function documentChange(page, before) {
  const t0 = Date.now();
  let text = before;
  while (text === before && Date.now() - t0 < 10_000) {
    await sleep(100);
    text = await documentText(page);
  }
  return text;
}

/**
 * The ghost text of the editor `sel` as lines, or null when none is shown: VS Code 1.91 draws the
 * first line inside the cursor line (.ghost-text-decoration) and the others in a view zone below
 * it (.suggest-preview-text). Several inline parts (text around an existing closing bracket) are
 * joined. Runs in the page (self-contained: recordGhost sends its source there).
 */
function readGhost(sel) {
  const ed = document.querySelector(sel);
  if (!ed) return null;
  const first = [...ed.querySelectorAll('.view-lines .ghost-text-decoration')].map((e) => e.textContent).join('');
  const rest = [...ed.querySelectorAll('.view-zones .suggest-preview-text .view-line')]
    .map((l) => [parseFloat(l.parentElement.parentElement.style.top) + parseFloat(l.style.top || '0'), l.textContent])
    .sort((a, b) => a[0] - b[0]).map(([, t]) => t);
  if (!first && rest.length === 0) return null;
  return [first, ...rest].map((t) => t.replace(/\u00a0/g, ' '));
}

/** The active editor's ghost text as lines (readGhost), or null when none is shown. */
export function ghostLines(page) {
  return page.evaluate(readGhost, EDITOR);
}

/**
 * Records the active editor's ghost text from now on, as it is drawn (readGhost at every change
 * of the editor's DOM): `window.ghosts` gets { t: performance.now(), lines } (lines null when
 * none is shown). ghostRecord(page) reads it.
 */
export function recordGhost(page) {
  return page.evaluate(([sel, src]) => {
    window.ghosts = [];
    const read = new Function(`return (${src})`)(); // eslint-disable-line no-new-func
    new MutationObserver(() => {
      const lines = read(sel);
      const last = window.ghosts.at(-1);
      if (!last || JSON.stringify(last.lines) !== JSON.stringify(lines)) window.ghosts.push({ t: performance.now(), lines });
    }).observe(document.querySelector('.part.editor'), { subtree: true, childList: true, characterData: true });
  }, [EDITOR, readGhost.toString()]);
}

export const ghostRecord = (page) => page.evaluate(() => window.ghosts ?? []);

/**
 * Asks for inline suggestions now, as a user would from the palette
 * (editor.action.inlineSuggest.trigger has no default key in VS Code 1.91).
 */
export function triggerInline(page) {
  return runCommand(page, 'Trigger Inline Suggestion');
}

/**
 * Waits up to `timeoutMs` for ghost text that satisfies `accept` (default: any). If the debounced
 * request came and went without one, asks again (triggerInline) every `retriggerMs`. Returns the
 * lines, or null.
 */
export async function waitGhost(page, { timeoutMs = 120_000, accept = () => true, retriggerMs = 4_000 } = {}) {
  const t0 = Date.now();
  let asked = t0;
  while (Date.now() - t0 < timeoutMs) {
    const g = await ghostLines(page);
    if (g && accept(g)) return g;
    if (Date.now() - asked > retriggerMs) {
      await triggerInline(page);
      asked = Date.now();
    }
    await sleep(150);
  }
  return null;
}

/** The cursor from the status bar ("Ln 4, Col 5"): 1-based line and column. */
export async function cursor(page) {
  const t = await page.locator('.statusbar-item').filter({ hasText: /Ln \d+, Col \d+/ }).first().textContent();
  const m = /Ln (\d+), Col (\d+)/.exec(t ?? '');
  return { line: Number(m?.[1]), col: Number(m?.[2]) };
}

/** `text` inserted into `doc` at a 1-based line and column. */
export function insertAt(doc, { line, col }, text) {
  const lines = doc.split('\n');
  const l = lines[line - 1];
  lines[line - 1] = l.slice(0, col - 1) + text + l.slice(col - 1);
  return lines.join('\n');
}

/** Opens VS Code for the Web from the test server at `origin` and clicks into the untitled
 * Python file it starts with (server.mjs configuration defaults). */
export async function openWorkbench(page, origin) {
  await page.goto(origin + '/vscode/');
  await page.waitForSelector('.monaco-editor textarea', { timeout: 120_000 });
  await page.click('.monaco-editor .view-lines');
}

/**
 * Waits for the extension's "[wisp] ready ..." line (logged in the extension host, it reaches the
 * page console) and returns what it says: whether the model came from storage, its SHA-256, the
 * milliseconds since activation, and `early` ("6/12": the engine answers from the first blocks of
 * a model still arriving; null: the whole model runs).
 */
export async function waitReady(consoleLines, timeoutMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const line = consoleLines.find((l) => l.includes('[wisp] ready'));
    if (line) {
      const m = /fromCache=(true|false) sha256=([0-9a-f]+) startMs=(\d+)(?: early=(\d+\/\d+))?/.exec(line);
      if (!m) throw new Error(`unexpected ready line: ${line}`);
      return { fromCache: m[1] === 'true', sha256: m[2], startMs: Number(m[3]), early: m[4] ?? null };
    }
    const failed = consoleLines.find((l) => l.includes('[wisp] engine failed'));
    if (failed) throw new Error(failed);
    await sleep(250);
  }
  throw new Error(`no "[wisp] ready" within ${timeoutMs} ms; console tail: ${consoleLines.slice(-8).join(' | ')}`);
}
