/*
 * The InlineCompletionItemProvider: waits an adaptive debounce, asks the worker for candidates at
 * the cursor and turns them into ghost text. The CancellationToken aborts the wait and the request
 * (a queued request is dropped by the worker; a newer request supersedes it anyway).
 */
import * as vscode from 'vscode';
import { AdaptiveDebounce } from '../../wasm/src/debounce.js';
import type { WispClient } from '../../wasm/src/client.js';
import type { Settings } from './settings.js';
import type { Status } from './status.js';

export class WispInlineProvider implements vscode.InlineCompletionItemProvider {
  enabled = true;
  private debounce: AdaptiveDebounce;

  constructor(private client: WispClient, private ready: Promise<boolean>, private settings: () => Settings,
              private status: Status) {
    this.debounce = new AdaptiveDebounce(0, settings().debounceMs);
  }

  async provideInlineCompletionItems(document: vscode.TextDocument, position: vscode.Position,
                                     _context: vscode.InlineCompletionContext,
                                     token: vscode.CancellationToken): Promise<vscode.InlineCompletionItem[]> {
    const s = this.settings();
    if (!this.enabled || !s.languageEnabled(document.languageId)) return [];
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      if (!(await this.ready) || token.isCancellationRequested) return [];
      this.debounce.maxMs = s.debounceMs;
      if (!(await this.debounce.wait(ac.signal))) return [];
      const t0 = performance.now();
      const r = await this.client.complete(document.uri.toString(), document.version,
        { line: position.line, character: position.character },
        { maxLines: s.maxLines, nCandidates: s.candidates, timeBudgetMs: s.timeBudgetMs }, ac.signal);
      if (!r.ok) {
        if (r.error.code !== 'cancelled' && r.error.code !== 'stale') this.status.error(r.error.message);
        return [];
      }
      const ms = performance.now() - t0;
      this.debounce.record(ms);
      this.status.latency(ms);
      if (token.isCancellationRequested) return [];
      return r.value.items.map((it) => new vscode.InlineCompletionItem(it.text,
        new vscode.Range(it.start.line, it.start.character, it.end.line, it.end.character)));
    } finally {
      sub.dispose();
    }
  }
}
