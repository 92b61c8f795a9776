// Driving the Monaco demo page (extension/monaco/demo/) for the end-to-end tests: the page keeps
// what the tests read in `window.demo` (demo.js) and its status line in #status.

/** Opens the demo (`query`: its URL parameters, e.g. '?whole') and waits until wisp's engine
 * answers (or failed to start); returns `ready`'s Result. */
export async function openDemo(page, origin, query = '') {
  await page.goto(origin + '/' + query);
  await page.waitForFunction(() => window.demo && window.demo.ready, null, { timeout: 60_000 });
  return page.evaluate(() => window.demo.ready);
}

// Waits for ghost text; if the debounced request came and went without one (the model had
// nothing at that exact keystroke), asks again explicitly, as Alt+\ would.
export async function waitGhost(page, timeoutMs = 120_000) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const el = await page.waitForSelector('.ghost-text-decoration, .ghost-text', { timeout: 4_000 }).catch(() => null);
    if (el) return el;
    await page.evaluate(() => window.demo.editor.trigger('e2e', 'editor.action.inlineSuggest.trigger', {}));
  }
  return null;
}

/** Shows the `language` sample with the cursor at its end, the editor focused. */
export function toEnd(page, language) {
  return page.evaluate((lang) => {
    window.demo.select(lang);
    const ed = window.demo.editor;
    const m = ed.getModel();
    const last = m.getLineCount();
    ed.setPosition({ lineNumber: last, column: m.getLineMaxColumn(last) });
    ed.focus();
  }, language);
}
