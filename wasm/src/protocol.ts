/*
 * The worker protocol: every message between an editor (VS Code extension, Monaco page, benchmark)
 * and the engine worker, typed once here and imported by both sides.
 *
 * Positions on this side of the protocol are the editor's: UTF-16 code units. The worker converts
 * them to the engine's UTF-8 byte offsets in one place (utf16.ts).
 */

/** A zero-based line and UTF-16 column, as VS Code and LSP count them. */
export interface Position {
  line: number;
  character: number;
}

/** One edit in the editor's terms: replace `rangeLength` UTF-16 units at `rangeOffset` by `text`.
 * VS Code's TextDocumentContentChangeEvent and Monaco's IModelContentChange both carry these. */
export interface TextChange {
  rangeOffset: number;
  rangeLength: number;
  text: string;
}

/** One part of a model laid out in arrival order: bytes [offset, offset + size) of the file,
 * the blocks it completes, how many leading blocks are ready once it and every part before it
 * have arrived, and its SHA-256 (lowercase hex). */
export interface ModelPart {
  offset: number;
  size: number;
  blocks: number[];
  layers_ready: number;
  sha256: string;
}

/** The parts of a model file laid out in the order a progressive download needs them: the JSON
 * that `wisp gguf-order --manifest` writes (models/wisp-default.parts.json), field names as there.
 * Part 0 is the header, tables, embedding, norm and head; the parts follow each other from
 * offset 0 to `size`. */
export interface ModelManifest {
  file?: string;
  size: number;
  sha256: string;
  block_count: number;
  exit_layers: number;
  parts: ModelPart[];
}

/** Where the model comes from. `url` is fetched once, then read from browser storage; `sha256`
 * (lowercase hex), when given, is checked against the bytes and lets a second start skip the
 * network entirely. `bytes` skips both download and storage. */
export type ModelSource =
  | {
      kind: 'url'; url: string; sha256?: string;
      /** A download that receives nothing for this long is dropped and tried again (default 30000). */
      stallMs?: number;
      /** Further attempts after a failed, cut off or stalled download (default 2); each resumes
       * where the last stopped when the server honours a Range request. */
      retries?: number;
      /** The file's parts (progressive loading): the model streams into the engine part by part,
       * each part checked against its SHA-256 and kept in browser storage on its own, and the
       * engine answers as soon as the blocks up to the trained exit are in (with a model without
       * one and earlyAnswers 'always': the first blocks, at the depth they allow), then with the
       * whole model (EngineInfo.partial, the 'early' and 'full' progress events). A later start
       * reads the stored parts and fetches only the missing ones. `sha256`, when given, must be
       * the manifest's. Without it the file is fetched whole, as before. */
      manifest?: ModelManifest;
      /** With a manifest: when the engine may answer before the whole model is in. 'trained'
       * (default): only from a model trained with an early exit (the manifest's exit_layers > 0);
       * another model's first blocks answer noise (bench/RESULTS.md, "Early exit"), so it streams
       * and stores part by part but answers once it is whole. 'always': from whatever blocks have
       * arrived, trained exit or not (demos and tests of the machinery). */
      earlyAnswers?: 'trained' | 'always';
    }
  | { kind: 'bytes'; bytes: ArrayBuffer; sha256?: string };

/** Self-speculative greedy decoding (wasm/README.md): drafts of up to `nDraft` tokens (1..4) by
 * the first `draftDepth` blocks (0: the model's trained exit), checked by the whole model. The
 * answers are plain greedy decoding's; only the time changes (bench/RESULTS.md: slower with an
 * untrained exit, hence off unless asked for). */
export interface SpeculativeDecoding {
  nDraft: number;
  draftDepth?: number;
}

export interface InitParams {
  /** URL of wisp.wasm; the worker fetches it (or `wasmBytes` when given). */
  wasmUrl?: string;
  wasmBytes?: ArrayBuffer;
  /** The relaxed-SIMD build (wisp-relaxed.wasm and its kernel module wisp-kernels-relaxed.wasm),
   * taken instead where WebAssembly.validate accepts relaxed SIMD (wasm/README.md). */
  relaxed?: { wasmUrl?: string; wasmBytes?: ArrayBuffer; kernelsUrl?: string; kernelsBytes?: ArrayBuffer };
  model: ModelSource;
  /** KV cache size in tokens; 0 = the engine's default. */
  nCtx?: number;
  /** Turned on once the whole model is there (absent: off); EngineInfo.speculative says whether
   * it runs. */
  speculative?: SpeculativeDecoding;
}

/** A hypothetical edit for a speculative request, with the text it replaces (to undo it). */
export interface SpeculativeEdit extends TextChange {
  removed: string;
}

export interface CompleteOptions {
  /** Cut the suggestion after this many lines (>= 1). */
  maxLines?: number;
  /** Generated tokens per candidate. */
  maxTokens?: number;
  /** Wall-clock budget of the whole request inside the engine, prefill included. */
  timeBudgetMs?: number;
  /** How many candidates to return (the first is the engine's best). */
  nCandidates?: number;
  /** Prompt budget in tokens (absent or 0: the engine's default, 512). The engine keeps the
   * prompt's window and definitions from one request to the next only at the same budget. */
  promptTokens?: number;
  /** Streaming (`complete` only; `speculate` ignores it): while the engine still decodes a block
   * (or call arguments over several lines), the worker sends its first line as a PartialMessage
   * as soon as that line is complete, at most once per request and always before the answer.
   * Absent or false: no such message (a worker that predates it ignores the option and sends the
   * answer alone). WispClient.complete sets it when given an `onPartial`. */
  partial?: boolean;
}

/** One suggestion: replace [start, end) (UTF-16 offsets and positions) by `text`. For a plain
 * insertion start == end == the cursor. */
export interface CompletionItem {
  text: string;
  startOffset: number;
  endOffset: number;
  start: Position;
  end: Position;
  /** The model's mean log-probability per generated token (<= 0; 0 when unknown): how sure the
   * engine is. Set on the engine's answers; `exp` of it is the confidence remote.ts compares. */
  meanLogprob?: number;
  /** Set on answers from a remote endpoint (remote.ts); absent on the engine's. */
  source?: 'endpoint';
}

export interface Timings {
  /** Time spent inside the worker for this request, queueing excluded. */
  workerMs: number;
  /** Time the request waited in the worker's queue (behind an earlier request). */
  queueMs: number;
  /** Time spent applying edits (incremental reparses) since the previous completion. */
  editMs: number;
  /** Worker requests this answer took: more than 1 when the client continued a request whose
   * time budget ran out during prefill (the other figures are the last request's). */
  requests: number;
  /** Time inside the engine call, measured from JS; the parts below are the engine's own. */
  engineMs: number;
  contextMs: number; // reparse + context extraction
  promptMs: number;  // prompt assembly + tokenization
  prefillMs: number;
  decodeMs: number;
  trimMs: number;    // post-processing and checking reparses
  promptTokens: number;
  reusedTokens: number;
  generatedTokens: number;
  /** Self-speculative decoding (InitParams.speculative): tokens the draft proposed while
   * generating, and of them the ones the whole model agreed with (acceptedTokens / draftedTokens is
   * the acceptance rate); both 0 when it is off. */
  draftedTokens: number;
  acceptedTokens: number;
}

export interface CompletionResult {
  items: CompletionItem[];
  /** The engine's idea of where the cursor is ("mid_line", "end_of_line", "comment", ...). */
  mode: string;
  timings: Timings;
  /** Blocks of the model that computed the answer: fewer than the model has while it is still
   * arriving (EngineInfo.partial). Absent on a remote endpoint's answers. */
  depth?: number;
}

/** How far a model that arrives in parts has come (ModelSource.manifest). */
export interface PartialModel {
  /** Bytes of the file in place and checked, of `total`. */
  loaded: number;
  total: number;
  /** Leading blocks that have arrived, of `layers`; the engine answers with `depth` of them
   * (the model's trained exit, the engine answering nothing before its blocks are in; without
   * one, every ready block). */
  layersReady: number;
  layers: number;
  depth: number;
}

export interface EngineInfo {
  version: string;
  modelName: string;
  modelSha256: string;
  modelBytes: number;
  /** True when the model came from browser storage (no download; of a model arriving in parts,
   * no part so far). */
  modelFromCache: boolean;
  /** What browser storage did with the model (of a model arriving in parts, with its parts so
   * far): read from it, written to it (after the engine loaded it), unavailable (no Cache
   * Storage here), or failed (full or refused: `storageError` says why, and the next start
   * downloads again what was not stored). */
  storage: 'read' | 'written' | 'unavailable' | 'failed';
  storageError?: string;
  /** Milliseconds: wasm instantiate, model load (fetch or storage, digest; at the same time as
   * the wasm, so the two overlap; of a model arriving in parts, until the engine answered),
   * engine create. */
  startMs: { wasm: number; model: number; engine: number };
  heapBytes: number;
  /** Which build runs: 'relaxed' (relaxed-SIMD kernels) or 'simd128'. */
  simd: 'relaxed' | 'simd128';
  /** Present while the model is still arriving (ModelSource.manifest): the engine answers from
   * the blocks that are in; the 'full' progress event says when the whole model runs. */
  partial?: PartialModel;
  /** Self-speculative decoding as it runs (InitParams.speculative, once the model is whole), or
   * why the engine refused it. */
  speculative?: SpeculativeDecoding;
  speculativeError?: string;
}

export interface Stats {
  heapBytes: number;
  /** Of the heap, the bytes malloc holds now (the heap itself only grows). */
  heapUsed: number;
  openDocs: number;
  /** Instances replaced after a trap. */
  restarts: number;
  /** Edit events applied, and full-text resends of already open documents (a missed event). */
  edits: number;
  resyncs: number;
}

/** Error codes the worker answers with. The engine's own status names ("bad model", "range", ...)
 * arrive as `engine`, with the engine's message. */
export type ErrorCode =
  | 'cancelled'   // a newer request replaced it, or the caller aborted it
  | 'stale'       // the document changed after the request was made
  | 'not_ready'   // no engine yet (init not done or failed)
  | 'no_document' // unknown uri
  | 'bad_request' // malformed message or arguments
  | 'download'    // model fetch failed
  | 'integrity'   // model bytes do not match the expected SHA-256
  | 'engine'      // the engine returned an error
  | 'trap'        // the WebAssembly instance trapped; it is being recreated
  | 'worker'      // the worker stopped answering (terminated, crashed); a new one is starting
  | 'internal';   // anything else (caught, never kills the worker)

export interface WispError {
  code: ErrorCode;
  message: string;
  /** For code 'engine': the engine's status name ("bad model"). */
  engineStatus?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: WispError };

/** Requests and, for each, the type of a successful answer. */
export interface RequestMap {
  init: { params: InitParams; result: EngineInfo };
  open: { params: { uri: string; languageId: string; text: string; version: number }; result: null };
  edit: { params: { uri: string; version: number; changes: TextChange[] }; result: null };
  close: { params: { uri: string }; result: null };
  complete: {
    params: { uri: string; version: number; position: Position; options: CompleteOptions };
    result: CompletionResult;
  };
  /** A low-priority completion, for idle time: at the document's cursor as it is (a prefill when
   * a document is opened or focused), or as it would be after `edit` (accepting the suggestion
   * shown: the edit is applied, completed at, and undone). Any later edit or complete drops it
   * from the queue; it never runs while a real request waits. */
  speculate: {
    params: { uri: string; version: number; position: Position; options: CompleteOptions; edit?: SpeculativeEdit };
    result: CompletionResult;
  };
  /** Compiles what the first completion in these languages needs, before the first keystroke. */
  warm: { params: { languageIds: string[] }; result: null };
  lastPrompt: { params: Record<string, never>; result: string };
  /** The worker's copy of a document (lone UTF-16 surrogates read back as U+FFFD), to check that
   * it follows the editor's. */
  text: { params: { uri: string }; result: { text: string; version: number } };
  stats: { params: Record<string, never>; result: Stats };
}

export type RequestType = keyof RequestMap;

export type Request = {
  [K in RequestType]: { id: number; type: K; params: RequestMap[K]['params'] };
}[RequestType];

/** Asks the worker to drop request `id` if it has not run yet. */
export interface CancelMessage {
  id: number;
  type: 'cancel';
}

/** Asks the worker whether it is alive; answered at once (not queued) with a PingReply, between
 * two engine calls at the latest: a worker that does not answer for long is dead or stuck. */
export interface PingMessage {
  id: number;
  type: 'ping';
}

export interface PingReply {
  /** How long the request being handled has been running (0 when idle). */
  busyMs: number;
  queued: number;
}

export type ToWorker = Request | CancelMessage | PingMessage;

export interface Response {
  id: number;
  type: 'response';
  result: Result<unknown>;
}

/** Sent while the model downloads (`loaded`/`total` bytes; total 0 when unknown) and when it is
 * being verified or read from storage. A model that arrives in parts (ModelSource.manifest) goes
 * on after `init` answered: 'early' as its bytes come while the engine answers from the blocks
 * that are in, then 'full' once the whole model runs (with the engine's final EngineInfo), or
 * 'stopped' when the download failed for good (the engine goes on at its partial depth; the next
 * start fetches what is missing). */
export type ProgressEvent =
  | { type: 'progress'; phase: 'download' | 'storage' | 'verify' | 'engine'; loaded: number; total: number }
  | { type: 'progress'; phase: 'early'; loaded: number; total: number; partial: PartialModel }
  | { type: 'progress'; phase: 'full'; loaded: number; total: number; info: EngineInfo }
  | { type: 'progress'; phase: 'stopped'; loaded: number; total: number; partial: PartialModel; error: WispError };

/** Streaming (CompleteOptions.partial): the first line of the greedy answer to `complete` request
 * `id`, sent by the worker while the engine decodes the rest (wisp_complete_params.on_partial):
 * an insertion at the cursor, trimmed as the answer will begin (UTF-16 range as a CompletionItem's;
 * no `meanLogprob`: the answer is not finished). Never for a one-line answer, a cursor where the
 * engine suggests nothing (mode none) or a blank line. The Response follows; its items replace
 * this one, and usually begin with it (they may not: a sampled candidate ranked first, a block
 * shortened until it parses). */
export interface PartialMessage {
  id: number;
  type: 'partial';
  item: CompletionItem;
}

export type FromWorker = Response | ProgressEvent | PartialMessage;

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: ErrorCode, message: string, engineStatus?: string): Result<T> {
  const error: WispError = { code, message };
  if (engineStatus !== undefined) error.engineStatus = engineStatus;
  return { ok: false, error };
}
