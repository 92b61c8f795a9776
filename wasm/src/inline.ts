/*
 * The steps of one inline (ghost-text) completion, shared by the VS Code extension's provider and
 * the Monaco package's. The editors only convert positions and items.
 *
 * 1. Typing-through reuse (reuse.ts): a suggestion remembered for this document and this text
 *    around the cursor (typed into, moved back to, accepted in part, or computed ahead) is shown
 *    at once, with no engine call.
 * 2. Otherwise: speculative work is cancelled first, an earlier request whose state this one
 *    continues is waited for (the engine would finish it before starting ours anyway, and typing
 *    through its answer may serve this keystroke), the adaptive debounce is waited, the cache is
 *    asked again, then the worker, with a time budget that adapts to the typing pace. The
 *    editor's cancellation ends the wait; an answer that arrives after it is still remembered.
 * 3. Idle time: once a suggestion is shown, what comes after it if accepted is computed
 *    speculatively (`speculate` in the worker, dropped by any later request and run in short
 *    pieces), and `prefetch` computes the answer at the cursor of a document just opened or
 *    focused, which also prefills the KV cache with its prompt.
 * 4. Streaming, when the editor can be asked again (InlineHooks.onRefresh): the engine sends the
 *    first line of a block as soon as it is decoded (CompleteOptions.partial), and that line is
 *    shown at once (and remembered for typing through) while the engine decodes the rest. The
 *    whole answer replaces it in the cache; when the editor's text is still what it was, the
 *    editor is asked to request again (its trigger command) and gets the whole answer at once,
 *    also when it differs from the line shown or is nothing at all.
 * 5. An opt-in remote endpoint (remote.ts), when the editor sets `remote`: its mode decides, per
 *    engine request, whether the endpoint is asked first (`prefer`, or the user's explicit ask) or
 *    after a local answer that is missing or unsure (`fallback`); its request shares the
 *    keystroke's debounce and cancellation. In `prefer` mode no speculative work is done (its
 *    local answers would be shown instead of the endpoint's).
 */
import { AdaptiveDebounce } from './debounce.js';
import type { WispClient } from './client.js';
import type { CompleteOptions, CompletionItem, CompletionResult, Position } from './protocol.js';
import { choose, type Chosen, type RemoteEndpoint } from './remote.js';
import { acceptedState, cursorState, type CursorState, type Origin, type Reused, sameState, SuggestionCache } from './reuse.js';

/** What both editors' cancellation tokens offer (vscode.CancellationToken, Monaco's). */
export interface CancelToken {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

/** Where to complete (the editor's state at the moment it is asked for). */
export interface InlineRequest {
  uri: string;
  version: number;
  position: Position;
  options: CompleteOptions;
  /** The document's whole text and the cursor's UTF-16 offset in it. */
  text: string;
  offset: number;
  /** Asked for by the user (Alt+\, the trigger command): the engine answers, with the whole time
   * budget, whatever the cache holds. */
  explicit?: boolean;
  /** The editor's language id (sent to a remote endpoint). */
  languageId?: string;
  /** The user asked for the remote endpoint's answer (its trigger command): it goes first,
   * whatever the mode but `off`. */
  toEndpoint?: boolean;
}

/** Where a shown answer came from. */
export type Source = 'local' | 'endpoint';

export interface InlineHooks {
  /** A failed request (cancelled and stale ones are not failures). */
  onError?(message: string): void;
  /** A completed request: its latency from sending to answer, the result, and who answered (an
   * endpoint's answer comes with the local result it replaced, when there was one). */
  onDone?(latencyMs: number, result: CompletionResult, source: Source): void;
  /** A suggestion shown from the cache, without asking the engine. */
  onReuse?(reused: Reused): void;
  /** Streaming: the first line of a block, returned (shown) before the whole answer. */
  onPartial?(items: CompletionItem[]): void;
  /** Streaming: the whole answer came after its first line was shown and differs from it (or
   * takes it back), and the document's text is as it was: the editor should ask for inline items
   * at this cursor again (VS Code and Monaco: editor.action.inlineSuggest.trigger, if the cursor
   * is still there); the next request at this state returns the whole answer at once. Without
   * this hook nothing is streamed (the editor could not show what follows the first line). */
  onRefresh?(): void;
}

export interface InlineSettings {
  /** Upper bound of the adaptive debounce. */
  maxDebounceMs: number;
  /** Compute the suggestion after the one shown, in idle time (default on). */
  speculate?: boolean;
  /** Time budget of one piece of speculative work: a keystroke may wait for one (default 50; a
   * prefetch's pieces take the request's budget). */
  speculativePieceMs?: number;
  /** Speculation starts at once when at most this many characters of the suggestion are left
   * to type (default 4), else after this long with no keystroke (default 150 ms). */
  speculativeNearEnd?: number;
  speculativeIdleMs?: number;
  /** Cut the time budget to the typing pace (default on; AdaptiveDebounce.budgetMs). */
  adaptiveBudget?: boolean;
  /** A prefetch in a document that the engine's last request was not for (the KV cache holds
   * none of its prompt) first answers from a prompt of this many tokens, then from the full one
   * (default 256; 0 = at once the full one): the first suggestion comes about twice as soon. */
  quickPromptTokens?: number;
  /** Show a block's first line as soon as the engine has decoded it, then the whole answer
   * (default on; needs InlineHooks.onRefresh). */
  stream?: boolean;
}

/** How the completer's answers were served, for status lines, tests and the benchmark. */
export interface InlineCounts {
  /** Engine requests made for keystrokes, and answers from the cache by kind. */
  engine: number;
  typed: number;
  same: number;
  speculative: number;
  prefetch: number;
  /** Speculative and prefetch requests that came back with a suggestion. */
  speculations: number;
  prefetches: number;
  /** Answers shown from the remote endpoint (remote.ts). */
  endpoint: number;
  /** Streaming: keystrokes whose block's first line was shown before the whole answer, and whole
   * answers shown after it (the editor asked again). */
  partial: number;
  full: number;
}

/** One thing the completer did, as counted in `InlineCounts`: a keystroke's request sent to the
 * engine (`engine`), a keystroke served from the cache (`typed`, `same`, `speculative`,
 * `prefetch`), idle-time work that came back with a suggestion (`speculations`, `prefetches`), a
 * block's first line shown before its answer (`partial`) and that answer shown after it (`full`). */
export interface InlineEvent {
  kind: keyof InlineCounts;
  uri: string;
  /** The keystroke's cursor, or the cursor that the idle-time suggestion is for. */
  position: Position;
}

const extendsState = (a: CursorState, b: CursorState) =>
  a.uri === b.uri && a.after === b.after && b.before.length >= a.before.length && b.before.startsWith(a.before);

const stateOf = (q: InlineRequest) =>
  cursorState(q.uri, q.text, q.offset, q.position, `${q.options.maxLines ?? 0}/${q.options.maxTokens ?? 0}/${q.options.nCandidates ?? 1}`);

/** The engine's answer to a keystroke, as `choose` weighs it. */
interface EngineAnswer {
  items: CompletionItem[];
  mode: string;
  result: CompletionResult;
  ms: number;
}

const NO_TIMINGS: CompletionResult['timings'] = {
  workerMs: 0, queueMs: 0, editMs: 0, requests: 0, engineMs: 0, contextMs: 0, promptMs: 0, prefillMs: 0, decodeMs: 0,
  trimMs: 0, promptTokens: 0, reusedTokens: 0, generatedTokens: 0, draftedTokens: 0, acceptedTokens: 0,
};

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

export class InlineCompleter {
  readonly debounce: AdaptiveDebounce;
  readonly cache = new SuggestionCache();
  readonly counts: InlineCounts = { engine: 0, typed: 0, same: 0, speculative: 0, prefetch: 0, speculations: 0, prefetches: 0, endpoint: 0, partial: 0, full: 0 };
  speculation: boolean;
  adaptiveBudget: boolean;
  stream: boolean;
  /** Called after each event, once `counts` includes it (an `engine` event once its request is
   * on its way to the worker). The editors' end-to-end tests read them. */
  onEvent: ((event: InlineEvent, counts: InlineCounts) => void) | null = null;
  /** The opt-in remote endpoint (remote.ts); null or mode `off`: local answers only. */
  remote: RemoteEndpoint | null = null;
  private pieceMs: number;
  private idleMs: number;
  private nearEndChars: number;
  private quickTokens: number;
  private lastUri: string | null = null; // the document of the last full-prompt engine request
  // The keystroke request still running in the worker, and the speculative one.
  private inflight: { at: CursorState; ac: AbortController; done: Promise<void> } | null = null;
  private spec: { ac: AbortController; key: CursorState; version: number } | null = null;
  private epoch = 0; // cancelSpeculation calls so far
  // Streaming: the whole answer for a state whose first line was shown, until the editor asks again.
  private refreshed: { at: CursorState; items: CompletionItem[]; until: number } | null = null;

  constructor(private client: WispClient, settings: number | InlineSettings) {
    const s = typeof settings === 'number' ? { maxDebounceMs: settings } : settings;
    this.debounce = new AdaptiveDebounce(0, s.maxDebounceMs);
    this.speculation = s.speculate ?? true;
    this.adaptiveBudget = s.adaptiveBudget ?? true;
    this.stream = s.stream ?? true;
    this.pieceMs = s.speculativePieceMs ?? 50;
    this.idleMs = s.speculativeIdleMs ?? 150;
    this.nearEndChars = s.speculativeNearEnd ?? 4;
    this.quickTokens = s.quickPromptTokens ?? 256;
  }

  /** The items to show, or [] (nothing, cancelled, not ready, failed). `ready` resolves false when
   * the engine did not come up. */
  async complete(token: CancelToken, ready: Promise<boolean>, request: () => InlineRequest,
                 hooks: InlineHooks = {}): Promise<CompletionItem[]> {
    if (token.isCancellationRequested) return [];
    const tKey = performance.now();
    const q0 = request();
    const at0 = stateOf(q0);
    const whole = this.takeRefreshed(at0, q0);
    if (whole) return whole;
    const hit = q0.explicit ? null : this.reuse(at0, q0, hooks);
    if (hit) return hit;
    this.cancelSpeculation();
    if (this.inflight && !extendsState(this.inflight.at, at0)) this.inflight.ac.abort();
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      if (!(await ready) || token.isCancellationRequested) return [];
      if (!(await this.debounce.wait(ac.signal))) return [];
      // The worker runs one request at a time: ours would wait for the earlier one anyway, whose
      // answer may serve this keystroke too. Not for longer than one budget (a continued prefill).
      const prev = this.inflight;
      if (prev) await Promise.race([prev.done, sleep(q0.options.timeBudgetMs || 150, ac.signal)]);
      if (ac.signal.aborted) return [];
      const q = request();
      const at = stateOf(q);
      const late = q.explicit ? null : this.reuse(at, q, hooks);
      if (late) return late;
      if (prev && this.inflight === prev) prev.ac.abort();
      return await this.ask(q, at, token, hooks, ac.signal, performance.now() - tKey, request);
    } finally {
      sub.dispose();
    }
  }

  // The answer to a keystroke: the engine's, or the remote endpoint's when its mode says so.
  // `signal` is the keystroke's cancellation (it aborts the endpoint's request, not the engine's);
  // `spentMs`, the time since the keystroke. Streaming (not with an endpoint, whose policy weighs
  // the engine's whole answer): a block's first line is returned as soon as the engine has it,
  // and the whole answer follows through `afterFirst`.
  private async ask(q: InlineRequest, at: CursorState, token: CancelToken, hooks: InlineHooks,
                    signal: AbortSignal, spentMs: number, request: () => InlineRequest): Promise<CompletionItem[]> {
    let onFirst: ((item: CompletionItem) => void) | undefined;
    const first = this.stream && hooks.onRefresh && !this.remote?.enabled
      ? new Promise<CompletionItem>((resolve) => { onFirst = resolve; }) : null;
    const answer = choose(this.remote, q, () => this.engine(q, at, hooks, spentMs, onFirst), signal, q.toEndpoint);
    // The first line is posted before the answer, so it wins the race whenever there is one.
    const got = await Promise.race([answer.then((chosen) => ({ chosen })), ...(first ? [first.then((item) => ({ item }))] : [])]);
    if ('item' in got) {
      const shown = [got.item];
      this.cache.remember(at, shown); // typing through it works until the answer replaces it
      void answer.then((chosen) => this.afterFirst(q, at, shown, chosen, hooks, request));
      if (token.isCancellationRequested) return [];
      this.count('partial', q.uri, q.position);
      hooks.onPartial?.(shown);
      return shown;
    }
    const chosen = got.chosen;
    if (!chosen) return [];
    this.cache.remember(at, chosen.items);
    if (chosen.source === 'endpoint') {
      this.count('endpoint', q.uri, q.position);
      hooks.onDone?.(chosen.ms, { items: chosen.items, mode: '', timings: NO_TIMINGS }, 'endpoint');
    } else {
      hooks.onDone?.(chosen.local.ms, chosen.local.result, 'local');
    }
    if (token.isCancellationRequested) return [];
    this.speculateAfter(at, chosen.items[0], q);
    return chosen.items;
  }

  // The whole answer after its first line was shown (`shown`, remembered at `at`): it replaces the
  // line in the cache, or takes it back when there is none. While the document's text is still at
  // `at`, the editor is asked to show it (onRefresh), and gets it from `refreshed` at once; when
  // the user typed on meanwhile, the cache serves the next keystroke from it.
  private afterFirst(q: InlineRequest, at: CursorState, shown: CompletionItem[], chosen: Chosen<EngineAnswer> | null,
                     hooks: InlineHooks, request: () => InlineRequest): void {
    if (!chosen) return; // failed or cancelled by a keystroke elsewhere: the first line stays remembered
    const items = chosen.items;
    if (items.length > 0) this.cache.remember(at, items);
    else this.cache.forget(at);
    if (chosen.source === 'local') hooks.onDone?.(chosen.local.ms, chosen.local.result, 'local');
    if (!sameState(stateOf(request()), at)) return;
    if (items.length === shown.length && items.every((it, i) => it.text === shown[i]!.text)) {
      this.speculateAfter(at, items[0], q); // what is shown is the answer
      return;
    }
    this.refreshed = { at, items, until: performance.now() + 2000 };
    hooks.onRefresh?.();
  }

  // The whole answer kept for this state by afterFirst, once, shortly after.
  private takeRefreshed(at: CursorState, q: InlineRequest): CompletionItem[] | null {
    const r = this.refreshed;
    if (!r || !sameState(r.at, at)) return null;
    this.refreshed = null;
    if (performance.now() > r.until) return null;
    this.count('full', q.uri, q.position);
    this.speculateAfter(at, r.items[0], q);
    return r.items;
  }

  // The engine request of a keystroke, `spentMs` after it; null when it failed or was cancelled. The editor's
  // cancellation does not abort it once sent (a newer request supersedes it in the worker's queue,
  // and its answer is remembered for typing through); a later keystroke elsewhere does. `onFirst`:
  // streaming, the first line of a block while the engine decodes the rest.
  private async engine(q: InlineRequest, at: CursorState, hooks: InlineHooks, spentMs: number,
                       onFirst?: (item: CompletionItem) => void): Promise<EngineAnswer | null> {
    const ac = new AbortController();
    const options = { ...q.options };
    if (this.adaptiveBudget && !q.explicit && options.timeBudgetMs) options.timeBudgetMs = this.debounce.budgetMs(options.timeBudgetMs, spentMs);
    const t0 = performance.now();
    this.lastUri = q.uri;
    const pending = this.client.complete(q.uri, q.version, q.position, options, ac.signal, onFirst ? { onPartial: onFirst } : undefined);
    this.count('engine', q.uri, q.position);
    const entry = { at, ac, done: pending.then(() => {}) };
    this.inflight = entry;
    const r = await pending;
    if (this.inflight === entry) this.inflight = null;
    if (!r.ok) {
      if (r.error.code !== 'cancelled' && r.error.code !== 'stale') hooks.onError?.(r.error.message);
      return null;
    }
    const ms = performance.now() - t0;
    this.debounce.record(ms);
    return { items: r.value.items, mode: r.value.mode, result: r.value, ms };
  }

  private reuse(at: CursorState, q: InlineRequest, hooks: InlineHooks): CompletionItem[] | null {
    const hit = this.cache.lookup(at);
    if (!hit) return null;
    this.debounce.note();
    this.count(hit.kind, q.uri, q.position);
    hooks.onReuse?.(hit);
    // The speculation for this suggestion's end is the same as for the one it continues.
    this.speculateAfter(at, hit.items[0], q);
    return hit.items;
  }

  /** Computes, in idle time, the answer at the cursor of a document just opened or focused, or
   * where the user put the cursor (after `delayMs` with no keystroke), and with it the KV cache's
   * prompt, so that the first keystroke there is as fast as any. In a document that the engine
   * did not work on last, a quick answer from a small prompt comes first (`quickPromptTokens`);
   * the full one replaces it. */
  async prefetch(ready: Promise<boolean>, request: () => InlineRequest, delayMs = 0): Promise<void> {
    const epoch = this.epoch;
    if (this.prefersEndpoint || !(await ready) || epoch !== this.epoch) return; // a keystroke came meanwhile
    const q = request();
    const at = stateOf(q);
    if (this.cache.has(at)) return;
    if (this.quickTokens > 0 && this.lastUri !== q.uri) {
      const quick = { ...q, options: { ...q.options, promptTokens: this.quickTokens } };
      if (!(await this.runSpeculative(at, quick, undefined, 'prefetch', delayMs))) return;
      delayMs = 0;
    }
    await this.runSpeculative(at, q, undefined, 'prefetch', delayMs);
  }

  // In `prefer` mode idle-time answers are local ones, which would be shown instead of the
  // endpoint's: none are made.
  private get prefersEndpoint(): boolean {
    return this.remote?.enabled === true && this.remote.settings.mode === 'prefer';
  }

  /** Forgets a closed document's suggestions. */
  forget(uri: string): void {
    this.cache.clear(uri);
  }

  /** The engine now runs another model (the whole one after early answers from its first
   * blocks): what was remembered or is being computed ahead came from the old one. */
  modelChanged(): void {
    this.cancelSpeculation();
    this.cache.clear();
  }

  /** Stops speculative work (a keystroke that needs the engine): queued pieces are dropped. */
  cancelSpeculation(): void {
    this.epoch++;
    this.spec?.ac.abort();
    this.spec = null;
  }

  // Once `item` (made at `at`) is shown: the suggestion after it, as if accepted.
  private speculateAfter(at: CursorState, item: CompletionItem | undefined, q: InlineRequest): void {
    if (!this.speculation || !item || this.prefersEndpoint) return;
    const acc = acceptedState(at, item);
    if (!acc || this.cache.has(acc.state)) return;
    // Running for the same state and version already. After a keystroke typed through, the same
    // state is asked for again from the new version (what was prefilled stays in the KV cache).
    const s = this.spec;
    if (s && !s.ac.signal.aborted && s.version === q.version && sameState(s.key, acc.state)) return;
    // Its pieces would be in the way of the engine requests of a user typing on: start at once
    // only near the end of the suggestion, else once the user pauses.
    const near = item.text.length <= this.nearEndChars;
    void this.runSpeculative(acc.state, q, acc.edit, 'speculative', near ? 0 : this.idleMs);
  }

  // Returns false when a keystroke (or newer speculative work) cancelled it.
  private async runSpeculative(at: CursorState, q: InlineRequest, edit: Parameters<WispClient['speculate']>[4],
                               origin: Exclude<Origin, 'engine'>, delayMs = 0): Promise<boolean> {
    this.cancelSpeculation();
    const ac = new AbortController();
    this.spec = { ac, key: at, version: q.version };
    // Idle time: after the editor has drawn what it was given, and after `delayMs` with no
    // keystroke (each one cancels this).
    await sleep(delayMs, ac.signal);
    if (ac.signal.aborted) return false;
    // A prefetch's pieces are as long as a request: its prompt is what the first keystroke at
    // this cursor would have to prefill anyway, and fewer pieces cost less.
    const piece = origin === 'prefetch' ? Math.max(this.pieceMs, q.options.timeBudgetMs || 0) : this.pieceMs;
    const options = { ...q.options, timeBudgetMs: piece };
    if (!options.promptTokens) this.lastUri = q.uri;
    const r = await this.client.speculate(q.uri, q.version, at.position, options, edit, ac.signal);
    if (this.spec?.ac === ac) this.spec = null;
    if (!r.ok || r.value.items.length === 0) return !ac.signal.aborted;
    this.cache.remember(at, r.value.items, origin);
    this.count(origin === 'prefetch' ? 'prefetches' : 'speculations', at.uri, at.position);
    return true;
  }

  private count(kind: keyof InlineCounts, uri: string, position: Position): void {
    this.counts[kind]++;
    this.onEvent?.({ kind, uri, position }, this.counts);
  }
}
