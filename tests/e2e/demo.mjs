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

/**
 * Records the editor's ghost text from now on, as it is drawn: `window.ghosts` gets
 * { t, line, extra } at every change (t: performance.now(); line: the text of the view line that
 * holds the inline ghost text, document text included; extra: the lines of the preview zone
 * below it, as Monaco draws the other lines of a multi-line suggestion), and `window.inlineAt`
 * the time of each registerWisp onInline event ([kind, line, character, t]).
 */
export function recordGhost(page) {
  return page.evaluate(() => {
    window.ghosts = [];
    window.inlineAt = [];
    const push = window.demo.inline.push.bind(window.demo.inline);
    window.demo.inline.push = (e) => {
      window.inlineAt.push([e.kind, e.position.line, e.position.character, performance.now()]);
      return push(e);
    };
    const norm = (t) => t.replace(/\u00a0/g, ' ');
    const read = () => {
      const deco = document.querySelector('.view-lines .ghost-text-decoration');
      return {
        line: deco ? norm(deco.closest('.view-line')?.textContent ?? '') : '',
        extra: [...document.querySelectorAll('.suggest-preview-text .view-line')]
          .map((l) => [parseFloat(l.parentElement.parentElement.style.top) + parseFloat(l.style.top || '0'), norm(l.textContent)])
          .sort((a, b) => a[0] - b[0]).map(([, t]) => t),
      };
    };
    new MutationObserver(() => {
      const g = read();
      const last = window.ghosts.at(-1);
      if (!last || last.line !== g.line || JSON.stringify(last.extra) !== JSON.stringify(g.extra)) window.ghosts.push({ t: performance.now(), ...g });
    }).observe(document.querySelector('.monaco-editor'), { subtree: true, childList: true, characterData: true });
  });
}
