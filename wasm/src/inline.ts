/*
 * The steps of one inline (ghost-text) completion, shared by the VS Code extension's provider and
 * the Monaco package's: tie the editor's cancellation to an AbortController, wait until the engine
 * is up, wait the adaptive debounce, ask the worker, feed the latency back to the debounce, and
 * drop the answer if the editor cancelled meanwhile. The editors only convert positions and items.
 */
import { AdaptiveDebounce } from './debounce.js';
import type { WispClient } from './client.js';
import type { CompleteOptions, CompletionItem, CompletionResult, Position } from './protocol.js';

/** What both editors' cancellation tokens offer (vscode.CancellationToken, Monaco's). */
export interface CancelToken {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

/** Where to complete, asked for after the debounce (the editor's state at that moment). */
export interface InlineRequest {
  uri: string;
  version: number;
  position: Position;
  options: CompleteOptions;
}

export interface InlineHooks {
  /** A failed request (cancelled and stale ones are not failures). */
  onError?(message: string): void;
  /** A completed request: its latency from sending to answer, and the result. */
  onDone?(latencyMs: number, result: CompletionResult): void;
}

export class InlineCompleter {
  readonly debounce: AdaptiveDebounce;

  constructor(private client: WispClient, maxDebounceMs: number) {
    this.debounce = new AdaptiveDebounce(0, maxDebounceMs);
  }

  /** The items to show, or [] (nothing, cancelled, not ready, failed). `ready` resolves false when
   * the engine did not come up. */
  async complete(token: CancelToken, ready: Promise<boolean>, request: () => InlineRequest,
                 hooks: InlineHooks = {}): Promise<CompletionItem[]> {
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      if (!(await ready) || token.isCancellationRequested) return [];
      if (!(await this.debounce.wait(ac.signal))) return [];
      const q = request();
      const t0 = performance.now();
      const r = await this.client.complete(q.uri, q.version, q.position, q.options, ac.signal);
      if (!r.ok) {
        if (r.error.code !== 'cancelled' && r.error.code !== 'stale') hooks.onError?.(r.error.message);
        return [];
      }
      const ms = performance.now() - t0;
      this.debounce.record(ms);
      hooks.onDone?.(ms, r.value);
      if (token.isCancellationRequested) return [];
      return r.value.items;
    } finally {
      sub.dispose();
    }
  }
}
