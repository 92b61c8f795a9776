/*
 * The editor side of the worker protocol: typed requests that resolve to Results (never reject),
 * AbortSignal support, and document bookkeeping that repairs itself. Used by the VS Code
 * extension, the Monaco package and the benchmark page alike.
 *
 * A worker that stops answering (terminated, crashed, or stuck in one call) is noticed: while
 * requests wait, the client pings it, and a ping unanswered for `deadMs` fails every waiting
 * request with 'worker', terminates it and, given `respawn`, starts a new one with the same init;
 * documents are then reopened with their full text at their next completion.
 */
import type {
  CompleteOptions, CompletionItem, CompletionResult, EngineInfo, FromWorker, InitParams, Position, ProgressEvent,
  RequestMap, RequestType, Result, SpeculativeEdit, Stats, TextChange, ToWorker,
} from './protocol.js';
import { fail } from './protocol.js';

/** How the client watches its worker. */
export interface ClientOptions {
  /** Makes a new worker when the current one is dead; without it, a dead worker fails every
   * request with 'worker'. */
  respawn?: () => WorkerLike;
  /** While requests wait, a ping this often (default 2000 ms); a ping unanswered this long means
   * the worker is dead (default 15000 ms: longer than any single engine call). */
  pingMs?: number;
  deadMs?: number;
  /** New workers started in a row without one coming up (default 3). */
  maxRespawns?: number;
}

/** What the client needs of a worker (a Web Worker, or anything with the same two members). */
export interface WorkerLike {
  postMessage(msg: ToWorker, transfer?: Transferable[]): void;
  addEventListener(type: 'message', fn: (ev: MessageEvent<FromWorker>) => void): void;
  addEventListener(type: 'error', fn: (ev: ErrorEvent) => void): void;
  terminate?(): void;
}

/** More of `WispClient.complete`: `maxContinuations` (default 40) bounds the continued requests;
 * `onPartial` (streaming) receives the first line of a block while the engine still decodes it
 * (the protocol's PartialMessage: CompleteOptions.partial is then sent), before the promise
 * resolves with the whole answer, at most once per worker request, never after the signal
 * aborted. */
export interface CompleteHandlers {
  maxContinuations?: number;
  onPartial?: (item: CompletionItem) => void;
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
  private partials = new Map<number, (item: CompletionItem) => void>(); // streaming, by request id
  private needsReopen = new Set<string>();
  private opened = new Set<string>();
  private initParams: InitParams | null = null;
  private ping: { id: number; sentAt: number } | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private respawns = 0;
  private gone: string | null = null; // why the worker is dead and none replaces it
  onProgress: ((ev: ProgressEvent) => void) | null = null;
  /** A dead worker was replaced: why, and the new one's init (the editor's status shows both). */
  onRestart: ((reason: string, ready: Promise<Result<EngineInfo>>) => void) | null = null;
  /** Requests sent to the worker, by type (tests count engine requests with it). */
  readonly sent: Partial<Record<RequestType, number>> = {};

  /** `source(uri)` gives the current text of an open document, for resynchronization. */
  constructor(private worker: WorkerLike, private source: (uri: string) => DocSource | undefined,
              private options: ClientOptions = {}) {
    this.attach(worker);
  }

  // Listens to `w`; events of a worker since replaced are ignored.
  private attach(w: WorkerLike): void {
    w.addEventListener('message', (ev: MessageEvent<FromWorker>) => {
      if (w !== this.worker) return;
      const msg = ev.data;
      if (msg.type === 'progress') {
        this.onProgress?.(msg);
        return;
      }
      if (msg.type === 'partial') {
        // only while its request waits (an aborted one was forgotten)
        if (this.pending.has(msg.id)) this.partials.get(msg.id)?.(msg.item);
        return;
      }
      if (msg.id === this.ping?.id) {
        this.ping = null;
        return;
      }
      const done = this.pending.get(msg.id);
      this.partials.delete(msg.id);
      if (done) {
        this.pending.delete(msg.id);
        done(msg.result);
        if (this.pending.size === 0) this.unwatch();
      }
    });
    // A worker that failed to load or died of an uncaught error answers nothing more.
    w.addEventListener('error', (ev: ErrorEvent) => {
      if (w === this.worker) this.dead(`the worker failed: ${ev.message}`);
    });
  }

  // While requests wait: ping the worker, and declare it dead when a ping goes unanswered.
  private watch(): void {
    if (this.timer) return;
    const pingMs = this.options.pingMs ?? 2000, deadMs = this.options.deadMs ?? 15000;
    this.timer = setInterval(() => {
      const now = Date.now();
      if (this.ping && now - this.ping.sentAt >= deadMs) {
        this.dead(`the worker did not answer for ${Math.round((now - this.ping.sentAt) / 1000)} s (terminated, crashed or stuck)`);
        return;
      }
      if (!this.ping) {
        this.ping = { id: this.nextId++, sentAt: now };
        try {
          this.worker.postMessage({ id: this.ping.id, type: 'ping' });
        } catch {
          // a terminated worker may refuse messages: the unanswered ping says so
        }
      }
    }, pingMs);
    (this.timer as { unref?: () => void }).unref?.(); // never keeps a Node process alive
  }

  private unwatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ping = null;
  }

  // The worker is gone: every waiting request fails, documents will be reopened, and a new worker
  // starts with the same init (a few times in a row at most).
  private dead(reason: string): void {
    const old = this.worker;
    this.unwatch();
    try {
      old.terminate?.();
    } catch {
      // already gone
    }
    for (const [id, done] of this.pending) {
      this.pending.delete(id);
      done(fail('worker', reason));
    }
    this.partials.clear();
    this.opened.clear();
    this.needsReopen.clear();
    if (!this.options.respawn || !this.initParams || this.respawns >= (this.options.maxRespawns ?? 3)) {
      this.gone = `${reason}; no new worker was started`;
      return;
    }
    this.respawns++;
    this.worker = this.options.respawn();
    this.attach(this.worker);
    const ready = this.request('init', this.initParams).then((r) => {
      if (r.ok) this.respawns = 0;
      return r;
    });
    this.onRestart?.(reason, ready);
  }

  /** Sends one request; resolves with its answer, or 'cancelled' as soon as `signal` aborts (the
   * worker is told to drop it if it has not started), or 'worker' when the worker dies first. */
  request<K extends RequestType>(type: K, params: RequestMap[K]['params'], signal?: AbortSignal,
                                 transfer?: Transferable[]): Promise<Result<RequestMap[K]['result']>> {
    return this.send(type, params, signal, transfer);
  }

  // `request`, with the streamed first line of a `complete` going to `onPartial`.
  private send<K extends RequestType>(type: K, params: RequestMap[K]['params'], signal?: AbortSignal,
                                      transfer?: Transferable[], onPartial?: (item: CompletionItem) => void):
      Promise<Result<RequestMap[K]['result']>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      if (this.gone) return resolve(fail('worker', this.gone));
      if (signal?.aborted) return resolve(fail('cancelled', 'aborted before sending'));
      const onAbort = () => {
        this.partials.delete(id);
        if (!this.pending.delete(id)) return;
        this.worker.postMessage({ id, type: 'cancel' });
        resolve(fail('cancelled', 'aborted by the caller'));
      };
      this.pending.set(id, (r) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(r as Result<RequestMap[K]['result']>);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      if (onPartial) this.partials.set(id, onPartial);
      this.sent[type] = (this.sent[type] ?? 0) + 1;
      this.watch();
      try {
        this.worker.postMessage({ id, type, params } as ToWorker, transfer);
      } catch (e) {
        this.pending.delete(id);
        this.partials.delete(id);
        resolve(fail('worker', `posting to the worker failed: ${e instanceof Error ? e.message : String(e)}`));
      }
    });
  }

  /** Starts the engine. The bytes of a `bytes` model (and `wasmBytes`) are handed over to the
   * worker, unless a `respawn` may need them again. */
  init(params: InitParams): Promise<Result<EngineInfo>> {
    this.initParams = params;
    const transfer: Transferable[] = [];
    if (!this.options.respawn) {
      if (params.model.kind === 'bytes') transfer.push(params.model.bytes);
      if (params.wasmBytes) transfer.push(params.wasmBytes);
    }
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
   * its answer however slow the machine. The last argument is `maxContinuations` or
   * CompleteHandlers (with `onPartial`: the first line of a block as soon as the engine has it,
   * before the answer). */
  complete(uri: string, version: number, position: Position, options: CompleteOptions,
           signal?: AbortSignal, more: number | CompleteHandlers = 40): Promise<Result<CompletionResult>> {
    const h = typeof more === 'number' ? { maxContinuations: more } : more;
    const onPartial = h.onPartial;
    const opts = onPartial ? { ...options, partial: true } : options;
    return this.continued(uri, version, position, opts, signal, h.maxContinuations ?? 40, undefined,
      onPartial && ((item: CompletionItem) => { if (!signal?.aborted) onPartial(item); }));
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
                          speculative?: SpeculativeEdit | null, onPartial?: (item: CompletionItem) => void):
      Promise<Result<CompletionResult>> {
    let piece = options;
    for (let i = 0; ; i++) {
      const r = await this.completeOnce(uri, version, position, piece, signal, speculative, onPartial);
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
                             signal?: AbortSignal, speculative?: SpeculativeEdit | null,
                             onPartial?: (item: CompletionItem) => void): Promise<Result<CompletionResult>> {
    for (let attempt = 0; ; attempt++) {
      if (!this.opened.has(uri) || this.needsReopen.has(uri)) {
        const o = await this.open(uri);
        if (!o.ok) return o;
      }
      const r = speculative === undefined
        ? await this.send('complete', { uri, version, position, options }, signal, undefined, onPartial)
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
    this.unwatch();
    for (const [id, done] of this.pending) {
      this.pending.delete(id);
      done(fail('cancelled', 'client disposed'));
    }
    this.partials.clear();
    this.gone = 'client disposed';
    this.worker.terminate?.();
  }
}
