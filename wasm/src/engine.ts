/*
 * A typed, synchronous wrapper over one instance of the WebAssembly module (build-wasm/wisp.js +
 * wisp.wasm) and the C surface of wasm/exports.c. It owns the instance, the model buffer
 * inside the WebAssembly heap, one engine and its open documents. Every failure comes back as a
 * Result; a JavaScript exception out of a call (a trap) is left to the caller (worker.ts), which
 * throws this object away and makes a new one.
 */
import type { CompleteOptions, CompletionItem, CompletionResult, Position, Result, SpeculativeEdit, TextChange } from './protocol.js';
import { fail, ok } from './protocol.js';

/** The parts of the Emscripten module object we use: the exports of wasm/exports.c (checked
 * against them by scripts/check_facts.py) and the heap. */
export interface WispModule {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wisp_wasm_version(): number;
  _wisp_js_status_name(code: number): number;
  _wisp_js_error(): number;
  _wisp_js_result(): number;
  _wisp_js_engine_new(model: number, size: number, nCtx: number): number;
  _wisp_js_engine_free(engine: number): void;
  _wisp_js_engine_new_partial(model: number, size: number, nAvail: number, nCtx: number): number;
  _wisp_js_set_available(engine: number, nAvail: number): number;
  _wisp_js_layers_ready(engine: number): number;
  _wisp_js_model_layers(engine: number): number;
  _wisp_js_model_exit_layers(engine: number): number;
  _wisp_js_bytes_needed(engine: number, nLayers: number): number;
  _wisp_js_set_depth(engine: number, nLayers: number): number;
  _wisp_js_depth(engine: number): number;
  _wisp_js_set_speculative(engine: number, nDraft: number, draftDepth: number): number;
  _wisp_js_model_name(engine: number): number;
  _wisp_js_doc_open(engine: number, uri: number, languageId: number, text: number, len: number): number;
  _wisp_js_doc_close(doc: number): void;
  _wisp_js_doc_edit_u16(doc: number, offU16: number, lenU16: number, text: number, len: number): number;
  _wisp_js_doc_set_text(doc: number, text: number, len: number): number;
  _wisp_js_doc_text(doc: number): number;
  _wisp_js_doc_text_len(doc: number): number;
  _wisp_js_heap_used(): number;
  _wisp_js_complete(engine: number, doc: number, line: number, colU16: number, maxLines: number,
                    maxTokens: number, timeBudgetMs: number, nCandidates: number, promptTokens: number,
                    speculative: number, partial: number): number;
  _wisp_js_last_prompt(engine: number): number;
  _wisp_js_mode_name(mode: number): number;
  _wisp_js_warm(engine: number, languageId: number): number;
}

/** The Emscripten factory (createWisp). We always hand it `instantiateWasm`, so that we choose
 * how the module is compiled and can keep the compiled WebAssembly.Module for a restart. */
export type ModuleFactory = (opts: {
  instantiateWasm: (imports: WebAssembly.Imports, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => object;
  /** The relaxed build's matmul (wasm/relaxed-kernels.js); the plain build never calls it. */
  wispKernel?: (...args: number[]) => void;
  /** Streaming: exports.c's wisp_js_partial_out, called from inside _wisp_js_complete with the
   * first line of a block (its bytes in the heap, their length, the cursor's UTF-16 offset, line
   * and column). */
  wispPartial?: (text: number, len: number, offU16: number, line: number, colU16: number) => void;
  print?: (s: string) => void;
  printErr?: (s: string) => void;
}) => Promise<WispModule>;

/** Where the wasm comes from: its URL (compiled while it streams in, which also lets the browser
 * cache the compiled code), its bytes, or a module compiled before (a restart). */
export type WasmSource = string | ArrayBuffer | WebAssembly.Module;

// Compiles and instantiates from any WasmSource.
async function instantiateFrom(src: WasmSource, imports: WebAssembly.Imports): Promise<WebAssembly.WebAssemblyInstantiatedSource> {
  if (src instanceof WebAssembly.Module) return { module: src, instance: await WebAssembly.instantiate(src, imports) };
  if (typeof src !== 'string') return WebAssembly.instantiate(src, imports);
  const res = await fetch(src);
  if (!res.ok) throw new Error(`fetching ${src}: HTTP ${res.status}`);
  if (typeof WebAssembly.instantiateStreaming === 'function' && res.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.instantiateStreaming(res, imports);
  }
  return WebAssembly.instantiate(await res.arrayBuffer(), imports);
}

async function compileFrom(src: WasmSource): Promise<WebAssembly.Module> {
  if (src instanceof WebAssembly.Module) return src;
  if (typeof src !== 'string') return WebAssembly.compile(src);
  const res = await fetch(src);
  if (!res.ok) throw new Error(`fetching ${src}: HTTP ${res.status}`);
  return WebAssembly.compile(await res.arrayBuffer());
}

// A module of one function that runs i32x4.relaxed_dot_i8x16_i7x16_add_s (0xfd 0x113) on three
// zero vectors: WebAssembly.validate accepts it where relaxed SIMD runs.
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code: one body of 59 bytes, no locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), // v128.const 0, three times
  0xfd, 0x93, 0x02, 0x0b, // i32x4.relaxed_dot_i8x16_i7x16_add_s, end
]);

/** Whether this WebAssembly runs relaxed SIMD. */
export function relaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

// js_result layout in exports.c (static_asserts there, for every offset read below).
const RESULT_TIMINGS = 32;
const RESULT_ITEMS = 80;
const ITEM_BYTES = 40;
const ITEM_LOGPROB = 36;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The WebAssembly heap could not hold what was to be copied in (memory growth refused or the
 * 4 GiB limit): an answer ('engine', 'no memory'), not a trap. */
export class OutOfMemory extends Error {}

interface OpenDoc {
  ptr: number;
  version: number;
  languageId: string;
}

export class Engine {
  private engine = 0;
  private modelPtr = 0;
  private modelSize = 0;
  private docs = new Map<string, OpenDoc>();
  private onPartial: ((item: CompletionItem) => void) | null = null; // of the completion running
  /** Counters for Stats: edit events applied, full-text resends of open documents. */
  edits = 0;
  resyncs = 0;

  private constructor(private m: WispModule) {}

  /** Instantiates the module; `compiled` is kept for restarts. With `kernels` (the relaxed
   * build), the module's wisp_matmul_q_relaxed (wasm/relaxed-kernels.js) calls the kernel
   * module's export, that module instantiated on the engine's memory. Throws when the wasm
   * cannot be fetched or compiled, or is not the module we expect. */
  static async instantiate(factory: ModuleFactory, wasm: WasmSource, kernels?: WasmSource):
      Promise<{ engine: Engine; compiled: WebAssembly.Module; kernels?: WebAssembly.Module }> {
    let compiled: WebAssembly.Module | null = null;
    const kmod = kernels === undefined ? undefined : await compileFrom(kernels);
    let kernel: ((...a: number[]) => void) | null = null;
    let made: Engine | null = null; // where the module's streamed first lines go
    let failed: (e: unknown) => void = () => {};
    const failure = new Promise<never>((_, reject) => { failed = reject; });
    const m = await Promise.race([failure, factory({
      instantiateWasm(imports, receive) {
        instantiateFrom(wasm, imports).then((r) => {
          if (kmod) {
            const memory = Object.values(r.instance.exports).find((e) => e instanceof WebAssembly.Memory);
            const k = new WebAssembly.Instance(kmod, { env: { memory: memory as WebAssembly.Memory } });
            kernel = k.exports.wisp_matmul_q_relaxed as (...a: number[]) => void;
          }
          compiled = r.module;
          receive(r.instance, r.module);
        }).catch(failed);
        return {};
      },
      // Once per quantized matmul: a JS hop costs nothing beside thousands of rows.
      wispKernel: (...a: number[]) => kernel!(...a),
      wispPartial: (text, len, offU16, line, colU16) => made?.partial(text, len, offU16, line, colU16),
      print: () => {},
      printErr: () => {},
    })]);
    if (typeof m._wisp_js_engine_new !== 'function' || !compiled) {
      throw new Error('wisp.wasm has no engine exports (built before the engine landed?)');
    }
    made = new Engine(m);
    return { engine: made, compiled, kernels: kmod };
  }

  get heapBytes(): number {
    return this.m.HEAPU8.length;
  }

  /** Bytes of the heap that malloc holds now (the heap's size only grows). */
  get heapUsed(): number {
    return this.m._wisp_js_heap_used() >>> 0;
  }

  get openDocs(): number {
    return this.docs.size;
  }

  version(): string {
    return this.str(this.m._wisp_wasm_version());
  }

  // A NUL-terminated string at ptr (or len bytes).
  private str(ptr: number, len?: number): string {
    const heap = this.m.HEAPU8;
    let end = ptr;
    if (len === undefined) while (heap[end] !== 0) end++;
    else end = ptr + len;
    return decoder.decode(heap.subarray(ptr, end));
  }

  // Copies bytes into the heap, NUL-terminated; the caller frees the pointer.
  private put(bytes: Uint8Array): number {
    const p = this.m._malloc(bytes.length + 1);
    if (p === 0) return 0;
    this.m.HEAPU8.set(bytes, p);
    this.m.HEAPU8[p + bytes.length] = 0;
    return p;
  }

  // Runs fn with strings copied into the heap, freeing them afterwards.
  private withStrings<T>(strs: string[], fn: (ptrs: number[], lens: number[]) => T): T {
    const ptrs: number[] = [];
    const lens: number[] = [];
    try {
      for (const s of strs) {
        const b = encoder.encode(s);
        const p = this.put(b);
        if (p === 0) throw new OutOfMemory(`out of WebAssembly memory copying ${b.length} bytes`);
        ptrs.push(p);
        lens.push(b.length);
      }
      return fn(ptrs, lens);
    } finally {
      for (const p of ptrs) this.m._free(p);
    }
  }

  private engineError<T>(status?: number): Result<T> {
    const e = this.m._wisp_js_error();
    const code = status ?? new Int32Array(this.m.HEAPU8.buffer, e, 1)[0]!;
    const name = this.str(this.m._wisp_js_status_name(code));
    const msg = this.str(e + 4);
    return fail('engine', msg || name, name);
  }

  /** Loads the model: its bytes are copied into the heap and stay there for the engine's life. */
  load(model: Uint8Array, nCtx: number): Result<{ modelName: string }> {
    const room = this.reserve(model.length);
    if (!room.ok) return room;
    this.m.HEAPU8.set(model, this.modelPtr);
    const r = this.create(this.m._wisp_js_engine_new(this.modelPtr, model.length, nCtx >>> 0));
    if (!r.ok) {
      this.m._free(this.modelPtr);
      this.modelPtr = 0;
    }
    return r;
  }

  /** Progressive loading: room in the heap for the whole file, `size` bytes, which the caller
   * fills in file order (`modelView`) and announces (`loadPartial`, then `setAvailable`). The
   * buffer never moves: the engine keeps pointers into it. */
  reserve(size: number): Result<null> {
    if (this.engine || this.modelPtr) return fail('bad_request', 'engine already loaded');
    if (size === 0) return fail('engine', 'the model is empty (0 bytes)', 'bad model');
    this.modelPtr = this.m._malloc(size);
    if (this.modelPtr === 0) return fail('engine', `cannot allocate ${size} bytes for the model`, 'no memory');
    this.modelSize = size;
    return ok(null);
  }

  /** Bytes [offset, offset + n) of the reserved model buffer: a view that is valid until the heap
   * next grows (take a new one after any engine call). */
  modelView(offset: number, n: number): Uint8Array {
    return this.m.HEAPU8.subarray(this.modelPtr + offset, this.modelPtr + offset + n);
  }

  /** Makes the engine over the reserved buffer of which the first `nAvail` bytes hold the file.
   * Fails with engineStatus 'model still loading' while the header and tables have not all
   * arrived (call again with more); the buffer stays either way. */
  loadPartial(nAvail: number, nCtx: number): Result<{ modelName: string }> {
    if (this.engine || !this.modelPtr) return fail('bad_request', this.engine ? 'engine already loaded' : 'no model buffer');
    return this.create(this.m._wisp_js_engine_new_partial(this.modelPtr, this.modelSize, nAvail, nCtx >>> 0));
  }

  /** The first `nAvail` bytes of the buffer now hold the file: the engine runs deeper as blocks
   * become ready, with the same documents. */
  setAvailable(nAvail: number): Result<null> {
    if (!this.engine) return fail('not_ready', 'no engine');
    const st = this.m._wisp_js_set_available(this.engine, nAvail);
    return st === 0 ? ok(null) : this.engineError(st);
  }

  /** How much of the model can run: leading blocks ready, of `layers`; the depth the next
   * completion runs at (0 while it cannot answer yet). */
  depth(): { layersReady: number; layers: number; depth: number } {
    if (!this.engine) return { layersReady: 0, layers: 0, depth: 0 };
    return {
      layersReady: this.m._wisp_js_layers_ready(this.engine) >>> 0,
      layers: this.m._wisp_js_model_layers(this.engine) >>> 0,
      depth: this.m._wisp_js_depth(this.engine) >>> 0,
    };
  }

  /** Self-speculative greedy decoding (protocol.ts SpeculativeDecoding); nDraft 0 turns it off. */
  setSpeculative(nDraft: number, draftDepth: number): Result<null> {
    if (!this.engine) return fail('not_ready', 'no engine');
    const st = this.m._wisp_js_set_speculative(this.engine, nDraft, draftDepth);
    return st === 0 ? ok(null) : this.engineError(st);
  }

  // The engine just made (0: failed, its error in js_err).
  private create(engine: number): Result<{ modelName: string }> {
    this.engine = engine;
    if (engine === 0) return this.engineError();
    return ok({ modelName: this.str(this.m._wisp_js_model_name(engine)) });
  }

  isOpen(uri: string): boolean {
    return this.docs.has(uri);
  }

  docVersion(uri: string): number | undefined {
    return this.docs.get(uri)?.version;
  }

  /** Opens (or, when already open, replaces the text of) a document. */
  open(uri: string, languageId: string, text: string, version: number): Result<null> {
    if (!this.engine) return fail('not_ready', 'no engine');
    const old = this.docs.get(uri);
    if (old) {
      const st = this.withStrings([text], ([t], [n]) => this.m._wisp_js_doc_set_text(old.ptr, t!, n!));
      if (st !== 0) return this.engineError(st);
      old.version = version;
      this.resyncs++;
      return ok(null);
    }
    const ptr = this.withStrings([uri, languageId, text], ([u, l, t], lens) =>
      this.m._wisp_js_doc_open(this.engine, u!, l!, t!, lens[2]!));
    if (ptr === 0) return this.engineError();
    this.docs.set(uri, { ptr, version, languageId });
    return ok(null);
  }

  /** Applies the editor's changes in order. A version that does not follow the one we hold means
   * we missed an event: 'stale', and the caller reopens the document with its full text. */
  edit(uri: string, version: number, changes: readonly TextChange[]): Result<null> {
    const d = this.docs.get(uri);
    if (!d) return fail('no_document', `${uri} is not open`);
    if (version !== d.version + 1) {
      return fail('stale', `${uri}: edit to version ${version} but the worker holds version ${d.version}`);
    }
    for (const ch of changes) {
      let st: number;
      try {
        st = this.withStrings([ch.text], ([t], [n]) =>
          this.m._wisp_js_doc_edit_u16(d.ptr, ch.rangeOffset, ch.rangeLength, t!, n!));
      } catch (e) {
        if (!(e instanceof OutOfMemory)) throw e;
        this.close(uri);
        return fail('engine', `${e.message}; ${uri} must be reopened`, 'no memory');
      }
      if (st !== 0) {
        // The document may now hold part of the event: force a reopen.
        this.close(uri);
        return this.engineError(st);
      }
    }
    d.version = version;
    this.edits++;
    return ok(null);
  }

  /** The worker's copy of a document. */
  text(uri: string): Result<{ text: string; version: number }> {
    const d = this.docs.get(uri);
    if (!d) return fail('no_document', `${uri} is not open`);
    const p = this.m._wisp_js_doc_text(d.ptr);
    return ok({ text: this.str(p, this.m._wisp_js_doc_text_len(d.ptr) >>> 0), version: d.version });
  }

  close(uri: string): Result<null> {
    const d = this.docs.get(uri);
    if (!d) return fail('no_document', `${uri} is not open`);
    this.m._wisp_js_doc_close(d.ptr);
    this.docs.delete(uri);
    return ok(null);
  }

  /** Completes at `pos`. `onPartial` (streaming): called synchronously, from inside the engine
   * call, with the first line of a block as soon as it is decoded (at most once; never for a
   * one-line answer: wisp_complete_params.on_partial), an insertion at the cursor. */
  complete(uri: string, version: number, pos: Position, opt: CompleteOptions,
           onPartial?: (item: CompletionItem) => void): Result<CompletionResult> {
    const d = this.docAt(uri, version);
    return d.ok ? this.completeDoc(d.value, pos, opt, false, onPartial) : d;
  }

  // exports.c's wisp_js_partial_out, during a completion: the item to the caller's onPartial. An
  // exception must not unwind through the engine's frames: it is dropped here.
  private partial(text: number, len: number, offU16: number, line: number, colU16: number): void {
    const sink = this.onPartial;
    if (!sink) return;
    const at = { line: line >>> 0, character: colU16 >>> 0 };
    try {
      sink({ text: this.str(text >>> 0, len >>> 0), startOffset: offU16 >>> 0, endOffset: offU16 >>> 0, start: at, end: { ...at } });
    } catch {
      // the caller's bug, not the engine's: the completion goes on
    }
  }

  /** Completes at `pos` of the document as it would be after `edit` (a suggestion accepted), then
   * undoes the edit: two incremental reparses, and the document (version, text) is as before.
   * Without an edit, a plain completion (a prefill at the cursor). */
  speculate(uri: string, version: number, pos: Position, opt: CompleteOptions, edit?: SpeculativeEdit): Result<CompletionResult> {
    const d = this.docAt(uri, version);
    if (!d.ok) return d;
    if (!edit) return this.completeDoc(d.value, pos, opt);
    const apply = (off: number, len: number, text: string) =>
      this.withStrings([text], ([t], [n]) => this.m._wisp_js_doc_edit_u16(d.value.ptr, off, len, t!, n!));
    const st = apply(edit.rangeOffset, edit.rangeLength, edit.text);
    if (st !== 0) {
      this.close(uri); // it may hold part of the edit: the client reopens it
      return this.engineError(st);
    }
    let r: Result<CompletionResult>;
    try {
      r = this.completeDoc(d.value, pos, opt, true);
    } finally {
      let back = -1;
      try {
        back = apply(edit.rangeOffset, edit.text.length, edit.removed);
      } catch (e) {
        if (!(e instanceof OutOfMemory)) throw e;
      }
      if (back !== 0) this.close(uri); // it may still hold the edit: the client reopens it
    }
    return r;
  }

  private docAt(uri: string, version: number): Result<OpenDoc> {
    if (!this.engine) return fail('not_ready', 'no engine');
    const d = this.docs.get(uri);
    if (!d) return fail('no_document', `${uri} is not open`);
    if (version !== d.version) return fail('stale', `${uri}: request for version ${version}, document at ${d.version}`);
    return ok(d);
  }

  // `speculative`: the document holds a suggestion applied for this call only.
  private completeDoc(d: OpenDoc, pos: Position, opt: CompleteOptions, speculative = false,
                      onPartial?: (item: CompletionItem) => void): Result<CompletionResult> {
    const t0 = performance.now();
    const depth = this.m._wisp_js_depth(this.engine) >>> 0;
    this.onPartial = onPartial ?? null;
    let st: number;
    try {
      st = this.m._wisp_js_complete(this.engine, d.ptr, pos.line, pos.character, opt.maxLines ?? 0,
        opt.maxTokens ?? 0, opt.timeBudgetMs ?? 0, opt.nCandidates ?? 1, opt.promptTokens ?? 0, speculative ? 1 : 0,
        onPartial ? 1 : 0);
    } finally {
      this.onPartial = null;
    }
    const engineMs = performance.now() - t0;
    if (st !== 0) return this.engineError(st);
    const r = this.m._wisp_js_result();
    const heap = this.m.HEAPU8;
    const u32 = new Uint32Array(heap.buffer, r, RESULT_TIMINGS / 4);
    const f64 = new Float64Array(heap.buffer, r + RESULT_TIMINGS, 6);
    const items: CompletionItem[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < u32[0]!; i++) {
      const it = new Uint32Array(heap.buffer, r + RESULT_ITEMS + i * ITEM_BYTES, ITEM_BYTES / 4);
      const text = this.str(it[0]!, it[1]!);
      if (text.length === 0 || seen.has(text)) continue; // empty or duplicate candidates help no one
      seen.add(text);
      items.push({
        text,
        startOffset: it[2]!,
        start: { line: it[3]!, character: it[4]! },
        endOffset: it[5]!,
        end: { line: it[6]!, character: it[7]! },
        meanLogprob: new Float32Array(heap.buffer, r + RESULT_ITEMS + i * ITEM_BYTES + ITEM_LOGPROB, 1)[0]!,
      });
    }
    return ok({
      items,
      depth,
      mode: this.str(this.m._wisp_js_mode_name(u32[1]!)),
      timings: {
        workerMs: 0,
        queueMs: 0,
        editMs: 0,
        requests: 1,
        engineMs,
        contextMs: f64[0]!,
        promptMs: f64[1]!,
        prefillMs: f64[2]!,
        decodeMs: f64[3]!,
        trimMs: f64[4]!,
        promptTokens: u32[2]!,
        reusedTokens: u32[3]!,
        generatedTokens: u32[4]!,
        draftedTokens: u32[5]!,
        acceptedTokens: u32[6]!,
      },
    });
  }

  /** Pays the first-use costs of a language (query compilation) before the first keystroke. */
  warm(languageId: string): Result<null> {
    if (!this.engine) return fail('not_ready', 'no engine');
    const st = this.withStrings([languageId], ([l]) => this.m._wisp_js_warm(this.engine, l!));
    return st === 0 ? ok(null) : this.engineError(st);
  }

  lastPrompt(): Result<string> {
    if (!this.engine) return fail('not_ready', 'no engine');
    return ok(this.str(this.m._wisp_js_last_prompt(this.engine)));
  }

  /** Frees the engine, its documents and the model buffer. Safe after a trap: the instance is
   * dropped by the caller anyway. */
  dispose(): void {
    try {
      for (const d of this.docs.values()) this.m._wisp_js_doc_close(d.ptr);
      if (this.engine) this.m._wisp_js_engine_free(this.engine);
      if (this.modelPtr) this.m._free(this.modelPtr);
    } catch {
      // a trapped instance: its memory goes with it
    }
    this.docs.clear();
    this.engine = 0;
    this.modelPtr = 0;
    this.modelSize = 0;
    this.disposed = true;
  }

  /** True once dispose() ran: a download still writing into this engine's buffer must stop. */
  disposed = false;
}
