/*
 * The InlineCompletionItemProvider: the shared steps of wasm/src/inline.ts (the adaptive debounce,
 * the request, cancellation through the CancellationToken: a queued request is dropped by the
 * worker, and a newer one supersedes it anyway), turned into ghost text.
 */
import * as vscode from 'vscode';
import type { WispClient } from '../../wasm/src/client.js';
import { InlineCompleter } from '../../wasm/src/inline.js';
import type { Settings } from './settings.js';
import type { Status } from './status.js';

export class WispInlineProvider implements vscode.InlineCompletionItemProvider {
  enabled = true;
  private completer: InlineCompleter;

  constructor(client: WispClient, private ready: Promise<boolean>, private settings: () => Settings,
              private status: Status) {
    this.completer = new InlineCompleter(client, settings().debounceMs);
  }

  async provideInlineCompletionItems(document: vscode.TextDocument, position: vscode.Position,
                                     _context: vscode.InlineCompletionContext,
                                     token: vscode.CancellationToken): Promise<vscode.InlineCompletionItem[]> {
    const s = this.settings();
    if (!this.enabled || !s.languageEnabled(document.languageId)) return [];
    this.completer.debounce.maxMs = s.debounceMs;
    const items = await this.completer.complete(token, this.ready, () => ({
      uri: document.uri.toString(),
      version: document.version,
      position: { line: position.line, character: position.character },
      options: { maxLines: s.maxLines, nCandidates: s.candidates, timeBudgetMs: s.timeBudgetMs },
    }), {
      onError: (message) => this.status.error(message),
      onDone: (ms) => this.status.latency(ms),
    });
    return items.map((it) => new vscode.InlineCompletionItem(it.text,
      new vscode.Range(it.start.line, it.start.character, it.end.line, it.end.character)));
  }
}
