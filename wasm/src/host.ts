/*
 * The worker's brain, independent of how messages travel (a Web Worker in browsers, a direct call
 * in Node tests): a queue of requests answered one at a time by the single-threaded engine.
 *
 * - A newer `complete` cancels every older one still queued; `cancel` drops a queued request.
 *   `speculate` (idle-time work: a prefill, the suggestion after the one shown) is dropped from
 *   the queue by any later request, and runs in short time-budgeted pieces that the client
 *   continues, so a keystroke waits at most for one piece.
 *   Between two requests the host yields to the event loop so that those messages get a chance to
 *   arrive.
 * - A `complete` with `options.partial` (streaming) may get one 'partial' message before its
 *   answer: the engine's first line of a block, posted from inside the engine call.
 * - Everything is checked (validate.ts) and caught: each request gets exactly one typed answer,
 *   a malformed one 'bad_request'. A trap out of the WebAssembly instance drops the instance and
 *   builds a new one from the same wasm and model; its documents are gone, so later requests on
 *   them answer 'no_document' and the client reopens them.
 * - The model is written to browser storage only once the engine has loaded it, so a download
 *   that was cut short or corrupted never becomes the copy every later start reads.
 * - A model with a parts manifest (progressive loading, model-parts.ts) streams into the engine
 *   part by part: `init` answers once the engine answers from the first blocks, and the download
 *   goes on between requests (a 'full' progress event when the whole model runs).
 */
import { Engine, OutOfMemory, type ModuleFactory, relaxedSimd, type WasmSource } from './engine.js';
import { PartLoader, type PartsSource } from './model-parts.js';
import { loadModel, ModelError, type StoreResult } from './model-store.js';
import type { CompletionItem, EngineInfo, FromWorker, InitParams, Request, Result, Stats } from './protocol.js';
import { fail, ok } from './protocol.js';
import { validate } from './validate.js';

// A macrotask boundary without setTimeout's 4 ms clamp, so that messages that arrived during an
// engine call are delivered (and can cancel queued requests) before the next one runs.
function yieldToEvents(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

export class Host {
  private queue: Request[] = [];
  private received = new Map<number, number>(); // request id -> performance.now() at arrival
  private pumping = false;
  private engine: Engine | null = null;
  private parts: PartLoader | null = null; // the model still arriving in parts, for this.engine
  private init: InitParams | null = null;
  private wasm: WebAssembly.Module | null = null; // compiled once, reused by a restart
  private kernels: WebAssembly.Module | undefined; // the relaxed build's kernel module, likewise
  private restarts = 0;
  private editMs = 0; // edits applied since the last completion, for Timings.editMs
  private recovering: Promise<void> | null = null;
  private running: { id: number; t0: number } | null = null; // the request being handled, for pings
  private lastRecreate = 0;

  /** `relaxedFactory`: the relaxed-SIMD build's glue, where the worker has it (InitParams.relaxed). */
  constructor(private factory: ModuleFactory, private post: (msg: FromWorker) => void,
              private relaxedFactory?: ModuleFactory) {}

  /** Entry point for every message, whatever it holds (validate.ts); never throws. */
  receive(raw: unknown): void {
    try {
      const v = validate(raw);
      if (!v.ok) {
        this.answer(v.id, fail('bad_request', v.message));
        return;
      }
      const msg = v.msg;
      if (msg.type === 'ping') {
        const busyMs = this.running ? performance.now() - this.running.t0 : 0;
        this.post({ id: msg.id, type: 'response', result: ok({ busyMs, queued: this.queue.length }) });
        return;
      }
      if (msg.type === 'cancel') {
        const i = this.queue.findIndex((r) => r.id === msg.id);
        if (i >= 0) this.answer(this.queue.splice(i, 1)[0]!.id, fail('cancelled', 'cancelled by the caller'));
        return;
      }
      // Only the newest cursor matters: older completions still waiting are answered now. Any
      // request but a speculative one (a keystroke's edit, a completion, ...) first drops the
      // speculative work still waiting, so that it never delays a real request; a speculative
      // request only supersedes older speculative ones.
      const drops = (r: Request) => r.type === 'speculate' ? msg.type !== 'stats' : msg.type === 'complete' && r.type === 'complete';
      this.queue = this.queue.filter((r) => {
        if (!drops(r)) return true;
        this.answer(r.id, fail('cancelled', `superseded by request ${msg.id}`));
        return false;
      });
      this.queue.push(msg);
      if (msg.type === 'complete' || msg.type === 'speculate') this.received.set(msg.id, performance.now());
      if (!this.pumping) void this.pump();
    } catch (e) {
      this.answer(-1, fail('internal', String(e)));
    }
  }

  private answer(id: number, result: Result<unknown>): void {
    this.received.delete(id);
    this.post({ id, type: 'response', result });
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const req = this.queue.shift()!;
        let result: Result<unknown>;
        this.running = { id: req.id, t0: performance.now() };
        try {
          result = await this.handle(req);
        } catch (e) {
          result = await this.onThrow(e);
        }
        this.running = null;
        this.answer(req.id, result);
        // Only a long call can have let messages pile up; edits and opens are cheap.
        if (req.type === 'complete' || req.type === 'speculate' || req.type === 'init' || req.type === 'warm') await yieldToEvents();
      }
    } finally {
      this.pumping = false;
    }
  }

  // An exception escaped the engine. A trap (a RuntimeError out of WebAssembly, an abort, a stack
  // overflow) leaves the instance in no known state: drop it and build a new one. Running out of
  // heap while copying a string in is an answer; any other exception is a bug of ours, answered
  // without touching the engine.
  private async onThrow(e: unknown): Promise<Result<unknown>> {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    if (e instanceof OutOfMemory) return fail('engine', e.message, 'no memory');
    const trap = e instanceof WebAssembly.RuntimeError || e instanceof RangeError;
    if (!this.engine || !trap) return fail('internal', message);
    this.parts?.stop();
    this.parts = null;
    this.engine.dispose();
    this.engine = null;
    this.restarts++;
    this.recovering = this.recreate().finally(() => {
      this.recovering = null;
    });
    return fail('trap', `${message}; the engine is restarting and documents must be reopened`);
  }

  // After a trap: the same wasm and model (from storage), no documents. When this fails the
  // engine stays absent and requests answer 'not_ready'.
  private async recreate(): Promise<void> {
    if (!this.init || !this.wasm) return;
    this.lastRecreate = performance.now();
    try {
      const r = await this.start(this.init, this.wasm, this.kernels);
      if (!r.ok) this.engine = null;
    } catch {
      this.engine = null;
    }
  }

  // The relaxed-SIMD build where the parameters name it, the worker has its glue and this
  // WebAssembly runs relaxed SIMD; else the plain one. A restart passes the modules it compiled.
  private async start(params: InitParams, wasm: WasmSource, kernels?: WasmSource): Promise<Result<EngineInfo>> {
    const t0 = performance.now();
    let engine: Engine;
    const r = params.relaxed;
    const relaxedWasm = r?.wasmBytes ?? r?.wasmUrl;
    const relaxedKernels = r?.kernelsBytes ?? r?.kernelsUrl;
    if (kernels === undefined && relaxedWasm && relaxedKernels && this.relaxedFactory && relaxedSimd()) {
      wasm = relaxedWasm;
      kernels = relaxedKernels;
    }
    // The model is read (from storage, or downloaded) while the wasm compiles; a model that
    // arrives in parts streams into the engine's heap once the wasm is up.
    const src = params.model;
    const parts = src.kind === 'url' && src.manifest ? { ...src, manifest: src.manifest } : null;
    let tModel = 0;
    const loading = parts ? null : loadModel(src, (ev) => this.post(ev)).then(
      (m) => ({ m, e: null }), (e: unknown) => ({ m: null, e })).finally(() => { tModel = performance.now(); });
    try {
      const made = await Engine.instantiate(kernels !== undefined && this.relaxedFactory ? this.relaxedFactory : this.factory, wasm, kernels);
      engine = made.engine;
      this.wasm = made.compiled;
      this.kernels = made.kernels;
    } catch (e) {
      await loading;
      return fail('download', `loading wisp.wasm: ${e instanceof Error ? e.message : String(e)}`);
    }
    const t1 = performance.now();
    if (parts) return this.startParts(engine, params, parts, t0, t1);
    const { m: model, e: modelError } = await loading!;
    if (!model) {
      engine.dispose();
      if (modelError instanceof ModelError) return fail(modelError.code, modelError.message);
      throw modelError;
    }
    const t2 = performance.now();
    this.post({ type: 'progress', phase: 'engine', loaded: 0, total: 0 });
    const loaded = engine.load(model.bytes, params.nCtx ?? 0);
    if (!loaded.ok) return loaded;
    const t3 = performance.now();
    this.engine = engine;
    const stored = await model.store();
    return ok({
      version: engine.version(),
      modelName: loaded.value.modelName,
      modelSha256: model.sha256,
      modelBytes: model.bytes.length,
      modelFromCache: model.fromCache,
      storage: stored.storage,
      ...(stored.error ? { storageError: stored.error } : {}),
      startMs: { wasm: t1 - t0, model: tModel - t0, engine: t3 - t2 },
      heapBytes: engine.heapBytes,
      simd: this.kernels ? 'relaxed' : 'simd128',
      ...this.speculate(engine, params),
    });
  }

  // Progressive loading (model-parts.ts): answers `init` as soon as the engine answers, from the
  // first blocks; the rest arrives meanwhile, and a 'full' progress event (or 'stopped') follows.
  // Without a trained exit (and earlyAnswers 'always'), the parts still stream, are checked and
  // stored one by one, but `init` answers once the model is whole, and the client sees download
  // progress, not early answers.
  private async startParts(engine: Engine, params: InitParams, src: PartsSource, t0: number, t1: number): Promise<Result<EngineInfo>> {
    const early = src.manifest.exit_layers > 0 || src.earlyAnswers === 'always';
    const loader = new PartLoader(engine, src, params.nCtx ?? 0, (ev) => {
      if (this.parts !== loader) return;
      if (!early && ev.phase === 'early') this.post({ type: 'progress', phase: 'download', loaded: ev.loaded, total: ev.total });
      else this.post(ev);
    });
    this.parts = loader;
    let first = await loader.answering;
    if (!early && first.ok && !loader.complete) {
      const done = await loader.done;
      if (!done.ok) first = fail(done.error.code, done.error.message);
    }
    const tAnswer = performance.now();
    if (!first.ok) {
      loader.stop();
      engine.dispose();
      this.parts = null;
      return first;
    }
    this.engine = engine;
    const info = (stored: StoreResult): EngineInfo => ({
      version: engine.version(),
      modelName: first.value.modelName,
      modelSha256: src.manifest.sha256.toLowerCase(),
      modelBytes: src.manifest.size,
      modelFromCache: !loader.downloaded,
      storage: stored.storage,
      ...(stored.error ? { storageError: stored.error } : {}),
      startMs: { wasm: t1 - t0, model: tAnswer - t0, engine: loader.engineMs },
      heapBytes: engine.heapBytes,
      simd: this.kernels ? 'relaxed' : 'simd128',
      ...(loader.complete ? this.speculate(engine, params) : { partial: loader.partial() }),
    });
    // Whole already (every part was in storage): one answer with all of it. Else the 'full' event
    // comes after at least one more part, long after this answer.
    if (loader.complete) {
      const done = await loader.done;
      this.parts = null;
      return ok(info(done.ok ? done.value : { storage: 'failed', error: done.error.message }));
    }
    void loader.done.then((r) => {
      if (this.parts !== loader) return; // dropped by a trap: the new engine's loader reports
      this.parts = null;
      const { loaded, total } = loader.partial();
      if (r.ok) this.post({ type: 'progress', phase: 'full', loaded, total, info: info(r.value) });
      else this.post({ type: 'progress', phase: 'stopped', loaded, total, partial: loader.partial(), error: r.error });
    });
    return ok(info(loader.storageSoFar()));
  }

  // Self-speculative decoding, asked for by `init` and turned on once the model is whole.
  private speculate(engine: Engine, params: InitParams): Pick<EngineInfo, 'speculative' | 'speculativeError'> {
    const sp = params.speculative;
    if (!sp || sp.nDraft === 0) return {};
    const r = engine.setSpeculative(sp.nDraft, sp.draftDepth ?? 0);
    return r.ok ? { speculative: { nDraft: sp.nDraft, draftDepth: sp.draftDepth ?? 0 } }
      : { speculativeError: `self-speculative decoding is off: ${r.error.message}` };
  }

  private async handle(req: Request): Promise<Result<unknown>> {
    if (req.type === 'init') {
      if (this.engine) return fail('bad_request', 'already initialized');
      const wasm = req.params.wasmBytes ?? req.params.wasmUrl;
      if (!wasm) return fail('bad_request', 'init needs wasmUrl or wasmBytes');
      const r = await this.start(req.params, wasm);
      if (r.ok) this.init = req.params;
      return r;
    }
    if (this.recovering) await this.recovering;
    // A restart that failed (say memory growth was refused then) is tried again, at most every 2 s.
    if (!this.engine && this.init && this.wasm && performance.now() - this.lastRecreate > 2000) {
      this.lastRecreate = performance.now();
      await this.recreate();
    }
    const e = this.engine;
    if (req.type === 'stats') {
      const s: Stats = {
        heapBytes: e?.heapBytes ?? 0,
        heapUsed: e?.heapUsed ?? 0,
        openDocs: e?.openDocs ?? 0,
        restarts: this.restarts,
        edits: e?.edits ?? 0,
        resyncs: e?.resyncs ?? 0,
      };
      return ok(s);
    }
    if (!e) return fail('not_ready', 'the engine is not initialized');
    switch (req.type) {
      case 'open':
        return e.open(req.params.uri, req.params.languageId, req.params.text, req.params.version);
      case 'edit': {
        const t0 = performance.now();
        const r = e.edit(req.params.uri, req.params.version, req.params.changes);
        this.editMs += performance.now() - t0;
        return r;
      }
      case 'close':
        return e.close(req.params.uri);
      case 'lastPrompt':
        return e.lastPrompt();
      case 'text':
        return e.text(req.params.uri);
      case 'warm': {
        for (const id of req.params.languageIds) {
          const r = e.warm(id);
          if (!r.ok) return r;
        }
        return ok(null);
      }
      case 'complete':
      case 'speculate': {
        const t0 = performance.now();
        const p = req.params;
        // Streaming: the first line of a block goes to the client while the engine decodes the
        // rest (postMessage from inside the engine call reaches the editor at once).
        const onPartial = req.type === 'complete' && p.options.partial === true
          ? (item: CompletionItem) => this.post({ id: req.id, type: 'partial', item }) : undefined;
        const r = req.type === 'complete' ? e.complete(p.uri, p.version, p.position, p.options, onPartial)
          : e.speculate(p.uri, p.version, p.position, p.options, req.params.edit);
        if (r.ok) {
          r.value.timings.workerMs = performance.now() - t0;
          r.value.timings.queueMs = t0 - (this.received.get(req.id) ?? t0);
          r.value.timings.editMs = this.editMs;
          this.editMs = 0;
        }
        return r;
      }
      default:
        return fail('bad_request', `unknown request ${(req as { type: string }).type}`);
    }
  }
}
