/*
 * The editor side of the worker protocol: typed requests that resolve to Results (never reject),
 * AbortSignal support, and document bookkeeping that repairs itself. Used by the VS Code
 * extension, the Monaco package and the benchmark page alike.
 */
import type {
  CompleteOptions, CompletionResult, EngineInfo, FromWorker, InitParams, Position, ProgressEvent,
  RequestMap, RequestType, Result, SpeculativeEdit, Stats, TextChange, ToWorker,
} from './protocol.js';
import { fail } from './protocol.js';

/** What the client needs of a worker (a Web Worker, or anything with the same two members). */
export interface WorkerLike {
  postMessage(msg: ToWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (ev: MessageEvent<FromWorker>) => void): void;
  addEventListener(type: 'error', fn: (ev: ErrorEvent) => void): void;
  terminate?(): void;
}

/** Where the client reads a document's current state when it must (re)send the whole text. */
export interface DocSource {
  text: string;
  version: number;
  languageId: string;
}

export class WispClient {
  private nextId = 1;
  private pending = new Map<number, (r: Result<unknown>) => void>();
  private needsReopen = new Set<string>();
  private opened = new Set<string>();
  onProgress: ((ev: ProgressEvent) => void) | null = null;
  /** Requests sent to the worker, by type (tests count engine requests with it). */
  readonly sent: Partial<Record<RequestType, number>> = {};

  /** `source(uri)` gives the current text of an open document, for resynchronization. */
  constructor(private worker: WorkerLike, private source: (uri: string) => DocSource | undefined) {
    worker.addEventListener('message', (ev: MessageEvent<FromWorker>) => {
      const msg = ev.data;
      if (msg.type === 'progress') {
        this.onProgress?.(msg);
        return;
      }
      const done = this.pending.get(msg.id);
      if (done) {
        this.pending.delete(msg.id);
        done(msg.result);
      }
    });
    worker.addEventListener('error', (ev: ErrorEvent) => {
      // A worker that failed to load answers nothing: fail everything waiting.
      for (const [id, done] of this.pending) {
        this.pending.delete(id);
        done(fail('internal', `worker error: ${ev.message}`));
      }
    });
  }

  /** Sends one request; resolves with its answer, or 'cancelled' as soon as `signal` aborts (the
   * worker is told to drop it if it has not started). */
  request<K extends RequestType>(type: K, params: RequestMap[K]['params'], signal?: AbortSignal,
                                 transfer?: Transferable[]): Promise<Result<RequestMap[K]['result']>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(fail('cancelled', 'aborted before sending'));
      const onAbort = () => {
        if (!this.pending.delete(id)) return;
        this.worker.postMessage({ id, type: 'cancel' });
        resolve(fail('cancelled', 'aborted by the caller'));
      };
      this.pending.set(id, (r) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r as Result<RequestMap[K]['result']>);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sent[type] = (this.sent[type] ?? 0) + 1;
      this.worker.postMessage({ id, type, params } as ToWorker, transfer);
    });
  }

  init(params: InitParams): Promise<Result<EngineInfo>> {
    const transfer: Transferable[] = [];
    if (params.model.kind === 'bytes') transfer.push(params.model.bytes);
    if (params.wasmBytes) transfer.push(params.wasmBytes);
    return this.request('init', params, undefined, transfer);
  }

  /** Sends the whole document. */
  async open(uri: string): Promise<Result<null>> {
    const d = this.source(uri);
    if (!d) return fail('no_document', `${uri} is not available in the editor`);
    this.needsReopen.delete(uri);
    this.opened.add(uri);
    const r = await this.request('open', { uri, languageId: d.languageId, text: d.text, version: d.version });
    if (!r.ok) this.needsReopen.add(uri);
    return r;
  }

  /** Sends one change event. Not awaited by editors: a failure marks the document for a reopen
   * before its next completion. */
  async edit(uri: string, version: number, changes: TextChange[]): Promise<void> {
    if (!this.opened.has(uri) || this.needsReopen.has(uri)) return;
    const r = await this.request('edit', { uri, version, changes });
    if (!r.ok) this.needsReopen.add(uri);
  }

  async close(uri: string): Promise<void> {
    this.opened.delete(uri);
    this.needsReopen.delete(uri);
    await this.request('close', { uri });
  }

  isOpen(uri: string): boolean {
    return this.opened.has(uri);
  }

  /** Completes at `position` of the document's `version`. Opens or resynchronizes the document
   * when needed and retries once after a lost document (a restarted engine) or a missed edit.
   * A request whose time budget ran out before there was anything to show is continued, up to
   * `maxContinuations` times, until the signal aborts: after a long prompt that the cache does not
   * hold yet (the engine keeps what it prefilled) with the same budget, else (the budget ran out
   * while decoding: healing re-spells the prompt's last token first, and a loaded machine may
   * manage only that) with twice the time, so that each piece gets further. The editor gets its
   * first suggestion in a new document without the user having to type on, and speculative work
   * its answer however slow the machine. */
  complete(uri: string, version: number, position: Position, options: CompleteOptions,
           signal?: AbortSignal, maxContinuations = 40): Promise<Result<CompletionResult>> {
    return this.continued(uri, version, position, options, signal, maxContinuations);
  }

  /** A speculative completion (the protocol's `speculate`: idle-time work that any later request
   * drops), continued like `complete`: at the cursor as it is (a prefill), or after `edit`. Keep
   * `options.timeBudgetMs` short: a keystroke may have to wait for one piece. */
  speculate(uri: string, version: number, position: Position, options: CompleteOptions, edit?: SpeculativeEdit,
            signal?: AbortSignal, maxContinuations = 40): Promise<Result<CompletionResult>> {
    return this.continued(uri, version, position, options, signal, maxContinuations, edit ?? null);
  }

  private async continued(uri: string, version: number, position: Position, options: CompleteOptions,
                          signal: AbortSignal | undefined, maxContinuations: number,
                          speculative?: SpeculativeEdit | null): Promise<Result<CompletionResult>> {
    let piece = options;
    for (let i = 0; ; i++) {
      const r = await this.completeOnce(uri, version, position, piece, signal, speculative);
      if (r.ok) r.value.timings.requests = i + 1;
      if (!r.ok || r.value.items.length > 0 || i >= maxContinuations || signal?.aborted) return r;
      const t = r.value.timings;
      const budget = piece.timeBudgetMs ?? 0;
      if (!(budget > 0 && t.engineMs >= 0.9 * budget)) return r; // empty, but not for lack of time
      const prefilling = t.generatedTokens === 0 && t.reusedTokens + 1 < t.promptTokens;
      if (!prefilling) piece = { ...piece, timeBudgetMs: 2 * budget };
    }
  }

  // One request; `speculative` (null: at the cursor, else the edit) makes it a `speculate`.
  private async completeOnce(uri: string, version: number, position: Position, options: CompleteOptions,
                             signal?: AbortSignal, speculative?: SpeculativeEdit | null): Promise<Result<CompletionResult>> {
    for (let attempt = 0; ; attempt++) {
      if (!this.opened.has(uri) || this.needsReopen.has(uri)) {
        const o = await this.open(uri);
        if (!o.ok) return o;
      }
      const r = speculative === undefined
        ? await this.request('complete', { uri, version, position, options }, signal)
        : await this.request('speculate', { uri, version, position, options, ...(speculative ? { edit: speculative } : {}) }, signal);
      if (r.ok || attempt > 0) return r;
      if (r.error.code !== 'no_document' && r.error.code !== 'stale') return r;
      const cur = this.source(uri);
      if (!cur || cur.version !== version) return r; // the editor moved on: the answer is moot
      this.needsReopen.add(uri);
    }
  }

  /** Asks the worker to prepare these languages (editor language ids) ahead of the first
   * completion; unknown ones answer an 'engine' error. */
  warm(languageIds: string[]): Promise<Result<null>> {
    return this.request('warm', { languageIds });
  }

  lastPrompt(): Promise<Result<string>> {
    return this.request('lastPrompt', {});
  }

  stats(): Promise<Result<Stats>> {
    return this.request('stats', {});
  }

  dispose(): void {
    for (const [id, done] of this.pending) {
      this.pending.delete(id);
      done(fail('cancelled', 'client disposed'));
    }
    this.worker.terminate?.();
  }
}
