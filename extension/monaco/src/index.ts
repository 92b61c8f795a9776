/*
 * registerWisp(monaco, options): wisp's completions as Monaco ghost text. Builds on
 * registerInlineCompletionsProvider and the same worker and client as the VS Code extension, and
 * the same opt-in remote endpoint (wasm/src/remote.ts), off unless the host page names one.
 * Usable from the AMD build (dist/wisp-monaco.js defines the global `WispMonaco`) or as ESM.
 */
import type * as Monaco from 'monaco-editor';
import { WispClient, type DocSource } from '../../../wasm/src/client.js';
import { InlineCompleter, type InlineCounts, type InlineEvent, type InlineRequest, type Source } from '../../../wasm/src/inline.js';
import { LANGUAGE_IDS } from '../../../wasm/src/languages.js';
import { checkEndpoint, checkSettings, speculativeOf } from '../../../wasm/src/settings.js';
import type { CompletionResult, EngineInfo, ModelManifest, PartialModel, ProgressEvent, Result } from '../../../wasm/src/protocol.js';
import { EXTRA_FILES, RemoteEndpoint, type EndpointSettings } from '../../../wasm/src/remote.js';

type MonacoApi = typeof Monaco;

// Filled in by extension/build.mjs from models/wisp-default.parts.json.
declare const WISP_DEFAULT_MANIFEST: ModelManifest;

/** The shipped model (models/wisp-default.gguf, which a page hosts itself): its SHA-256 and its
 * parts manifest. A page that passes this `sha256` as `modelSha256` gets it progressively. */
export const DEFAULT_MODEL: { file: string; sha256: string; manifest: ModelManifest } = {
  file: 'wisp-default.gguf', sha256: WISP_DEFAULT_MANIFEST.sha256, manifest: WISP_DEFAULT_MANIFEST,
};

export interface WispOptions {
  /** URL of dist/wisp-worker.js (same origin as the page, or a blob). */
  workerUrl: string;
  wasmUrl: string;
  /** The relaxed-SIMD build (dist/wisp-relaxed.wasm and dist/wisp-kernels-relaxed.wasm), taken
   * instead of wasmUrl where the browser runs relaxed SIMD. */
  relaxed?: { wasmUrl: string; kernelsUrl: string };
  modelUrl: string;
  /** Lowercase hex SHA-256 of the model: checked, and a second start needs no network at all. */
  modelSha256?: string;
  /** The model's parts (progressive loading: `wisp gguf-order --manifest`): it streams in part by
   * part and the engine answers from the first blocks (status `early`) until the whole model
   * runs (status `ready`). Default: DEFAULT_MODEL.manifest when `modelSha256` is
   * DEFAULT_MODEL.sha256; `null`: the model comes whole. */
  modelManifest?: ModelManifest | null;
  /** While a model in parts arrives: 'trained' (default) answers early only from a model trained
   * with an early exit (its manifest's exit_layers), else once it is whole; 'always' answers from
   * whatever blocks have arrived (an untrained exit answers noise: bench/RESULTS.md). */
  earlyAnswers?: 'trained' | 'always';
  /** Self-speculative decoding once the whole model runs: tokens per draft (1-4; default 0, off:
   * slower with the shipped model) and the draft's blocks (0: the model's trained exit). */
  speculative?: { nDraft: number; draftDepth?: number };
  /** Monaco language ids to complete; default wisp's list (wasm/src/languages.ts). */
  languages?: string[];
  maxLines?: number;
  /** Most tokens per suggestion; 0 (default) lets the engine decide from the cursor. */
  maxTokens?: number;
  /** Upper bound of the adaptive debounce, milliseconds. */
  debounceMs?: number;
  nCandidates?: number;
  timeBudgetMs?: number;
  /** A remote completion endpoint (off unless given with a mode other than `off`). The API key
   * is the host page's to supply (from its own UI or session); wisp never stores it. */
  endpoint?: Partial<EndpointSettings>;
  /** Status changes: loading (with progress), ready, a completion's latency and source, errors. */
  onStatus?: (status: WispStatus) => void;
  /** How each keystroke was served (the engine, or a remembered suggestion) and idle-time work that
   * came back, with the totals so far. */
  onInline?: (event: InlineEvent, counts: InlineCounts) => void;
  /** Log lines (the endpoint's failures and pauses); default console.info. */
  onLog?: (line: string) => void;
}

export type WispStatus =
  | { state: 'loading'; progress: ProgressEvent }
  /** The engine answers from the first blocks of a model still arriving: `partial` says how far
   * it has come (`loaded` of `total` bytes, `depth` of `layers` blocks). */
  | { state: 'early'; partial: PartialModel }
  /** The engine runs the whole model (at start, or once a model arriving in parts is in). */
  | { state: 'ready'; info: EngineInfo }
  /** `source`: whether the local engine or the remote endpoint answered. */
  | { state: 'completed'; latencyMs: number; result: CompletionResult; source: Source }
  | { state: 'restarting'; reason: string }
  /** An option was wrong and its default (or the nearest allowed value) is used instead. */
  | { state: 'warning'; message: string }
  | { state: 'error'; message: string }
  /** The endpoint refused the API key (once, until the key or URL changes). */
  | { state: 'endpoint-refused'; message: string };

export interface WispHandle {
  /** Resolves when the engine answers (or failed to come up): with a model arriving in parts,
   * as soon as its first blocks are in (`info.partial`; the status says when the whole model runs). */
  ready: Promise<Result<EngineInfo>>;
  client: WispClient;
  /** How keystrokes were served: engine requests, typed-through and speculative suggestions. */
  readonly counts: InlineCounts;
  enabled: boolean;
  /** Changes the endpoint's settings (mode, url, kind, apiKey, ...); `{ mode: 'off' }` stops it. */
  setEndpoint(settings: Partial<EndpointSettings>): void;
  /** Asks the endpoint for a suggestion at the cursor of `editor` now (its trigger command),
   * whatever the mode's policy but `off`. */
  askEndpoint(editor: Monaco.editor.ICodeEditor): void;
  dispose(): void;
}

export function registerWisp(monaco: MonacoApi, options: WispOptions): WispHandle {
  const languages = options.languages ?? [...LANGUAGE_IDS];
  const { settings: opt, problems } = checkSettings({
    maxLines: options.maxLines, maxTokens: options.maxTokens, debounceMs: options.debounceMs, candidates: options.nCandidates,
    timeBudgetMs: options.timeBudgetMs, modelSha256: options.modelSha256,
    speculativeDraft: options.speculative?.nDraft, speculativeDepth: options.speculative?.draftDepth,
  }, { maxLines: 0, maxTokens: 0, debounceMs: 75, candidates: 1, timeBudgetMs: 150, modelUrl: '', modelSha256: '', speculativeDraft: 0, speculativeDepth: 0 });
  for (const message of problems) queueMicrotask(() => options.onStatus?.({ state: 'warning', message }));
  const disposables: Monaco.IDisposable[] = [];
  const models = new Map<string, Monaco.editor.ITextModel>();
  const source = (uri: string): DocSource | undefined => {
    const m = models.get(uri);
    if (!m || m.isDisposed()) return undefined;
    return { text: m.getValue(), version: m.getVersionId(), languageId: m.getLanguageId() };
  };
  // A worker that dies or hangs is replaced (WispClient's watchdog); the documents follow.
  const spawn = () => new Worker(options.workerUrl);
  const client = new WispClient(spawn(), source, { respawn: spawn });
  client.onProgress = (progress) => {
    if (progress.phase === 'early') options.onStatus?.({ state: 'early', partial: progress.partial });
    else if (progress.phase === 'full') {
      completer.modelChanged(); // suggestions remembered from the first blocks go
      options.onStatus?.({ state: 'ready', info: progress.info });
    } else if (progress.phase === 'stopped') {
      const { depth, layers } = progress.partial;
      options.onStatus?.({ state: 'error', message: `${progress.error.message}; answering with ${depth} of the model's ${layers} blocks until the next start` });
    } else options.onStatus?.({ state: 'loading', progress });
  };
  client.onRestart = (reason, again) => {
    options.onStatus?.({ state: 'restarting', reason });
    void again.then((r) => options.onStatus?.(r.ok ? { state: 'ready', info: r.value } : { state: 'error', message: r.error.message }));
  };
  const completer = new InlineCompleter(client, opt.debounceMs);
  completer.onEvent = options.onInline ?? null;
  const log = options.onLog ?? ((line: string) => console.info(`[wisp] ${line}`));
  const endpoint = new RemoteEndpoint({
    log,
    onAuthError: (message) => options.onStatus?.({ state: 'endpoint-refused', message }),
    related: (uri, languageId) => [...models.values()]
      .filter((m) => !m.isDisposed() && m.uri.toString() !== uri && m.getLanguageId() === languageId)
      .slice(0, EXTRA_FILES)
      .map((m) => ({ filename: m.uri.path.slice(m.uri.path.lastIndexOf('/') + 1), text: m.getValue() })),
  });
  // The endpoint's options are checked as the others (a bad one is its default, said as a warning).
  const configureEndpoint = (raw: Partial<EndpointSettings>) => {
    const { apiKey, ...rest } = raw;
    const { settings, problems: wrong } = checkEndpoint(rest, endpoint.settings);
    for (const message of wrong) queueMicrotask(() => options.onStatus?.({ state: 'warning', message }));
    endpoint.configure(apiKey === undefined ? settings : { ...settings, apiKey: typeof apiKey === 'string' ? apiKey : '' });
  };
  configureEndpoint(options.endpoint ?? {});
  completer.remote = endpoint;
  let toEndpointNext = false;

  const manifest = options.modelManifest !== undefined ? options.modelManifest
    : opt.modelSha256 === DEFAULT_MODEL.sha256 ? DEFAULT_MODEL.manifest : null;
  const model = { kind: 'url' as const, url: options.modelUrl, ...(opt.modelSha256 ? { sha256: opt.modelSha256 } : {}), ...(manifest ? { manifest, earlyAnswers: options.earlyAnswers === 'always' ? 'always' as const : 'trained' as const } : {}) };
  const ready = client.init({ wasmUrl: options.wasmUrl, relaxed: options.relaxed, model, speculative: speculativeOf(opt) })
    .then(async (r) => {
      // (before the warm-up: the model's later progress events must not come before this)
      if (!r.ok) options.onStatus?.({ state: 'error', message: r.error.message });
      else options.onStatus?.(r.value.partial ? { state: 'early', partial: r.value.partial } : { state: 'ready', info: r.value });
      if (r.ok) {
        // Compile what the first completion in each language needs now, not at the first keystroke.
        const present = new Set(monaco.editor.getModels().map((m) => m.getLanguageId()));
        await client.warm(languages.filter((l) => present.has(l)));
      }
      return r;
    });

  // Keep the worker's copies in step with edits (sent as edits, never whole files).
  const track = (model: Monaco.editor.ITextModel) => {
    const uri = model.uri.toString();
    models.set(uri, model);
    const subs = [
      model.onDidChangeContent((e) => {
        if (!client.isOpen(uri)) return; // opened lazily, with its full text, at the first completion
        void client.edit(uri, e.versionId, e.changes.map((c) => ({ rangeOffset: c.rangeOffset, rangeLength: c.rangeLength, text: c.text })));
      }),
      model.onWillDispose(() => {
        models.delete(uri);
        completer.forget(uri);
        if (client.isOpen(uri)) void client.close(uri);
        for (const s of subs) s.dispose();
      }),
    ];
  };
  for (const m of monaco.editor.getModels()) track(m);
  disposables.push(monaco.editor.onDidCreateModel(track));

  const handle: WispHandle = {
    ready, client, counts: completer.counts, enabled: true,
    setEndpoint: configureEndpoint,
    askEndpoint: (editor) => {
      if (!endpoint.enabled) {
        log('endpoint: none (set its url and a mode other than off)');
        return;
      }
      toEndpointNext = true;
      editor.trigger('wisp', 'editor.action.inlineSuggest.trigger', {});
    },
    dispose: () => {},
  };
  const engineUp = ready.then((r) => r.ok);

  const requestAt = (model: Monaco.editor.ITextModel, position: Monaco.IPosition, explicit = false, toEndpoint = false): InlineRequest => {
    const uri = model.uri.toString();
    if (!models.has(uri)) track(model);
    return {
      languageId: model.getLanguageId(),
      toEndpoint,
      uri,
      version: model.getVersionId(),
      position: { line: position.lineNumber - 1, character: position.column - 1 },
      options: { maxLines: opt.maxLines, maxTokens: opt.maxTokens, nCandidates: opt.candidates, timeBudgetMs: opt.timeBudgetMs },
      text: model.getValue(),
      offset: model.getOffsetAt(position),
      explicit,
    };
  };

  // A model shown or focused in an editor: its first answer (and the prompt in the KV cache) is
  // computed before the first keystroke.
  const prefetch = (editor: Monaco.editor.ICodeEditor, delayMs = 0) => {
    const model = editor.getModel();
    const position = editor.getPosition();
    if (!handle.enabled || !model || !position || !languages.includes(model.getLanguageId())) return;
    void completer.prefetch(engineUp, () => requestAt(model, position), delayMs);
  };
  const watchEditor = (editor: Monaco.editor.ICodeEditor) => {
    // In a standalone editor's command palette (F1), as in VS Code.
    const standalone = editor as Partial<Monaco.editor.IStandaloneCodeEditor>;
    if (typeof standalone.addAction === 'function') {
      disposables.push(standalone.addAction({ id: 'wisp.askEndpoint', label: 'wisp: Suggest from the Endpoint', run: () => handle.askEndpoint(editor) }));
    }
    disposables.push(
      editor.onDidChangeModel(() => prefetch(editor)),
      editor.onDidFocusEditorText(() => prefetch(editor)),
      // The cursor put somewhere by the user (a click, the arrow keys; not typing): the same
      // there, after a pause.
      editor.onDidChangeCursorPosition((e) => {
        if (e.reason === monaco.editor.CursorChangeReason.Explicit) prefetch(editor, 300);
      }),
    );
    prefetch(editor);
  };
  for (const ed of monaco.editor.getEditors()) watchEditor(ed);
  disposables.push(monaco.editor.onDidCreateEditor(watchEditor));

  const provider: Monaco.languages.InlineCompletionsProvider = {
    async provideInlineCompletions(model, position, context, token) {
      if (!handle.enabled || !languages.includes(model.getLanguageId())) return { items: [] };
      const explicit = context.triggerKind === monaco.languages.InlineCompletionTriggerKind.Explicit;
      const toEndpoint = explicit && toEndpointNext;
      if (explicit) toEndpointNext = false;
      const version = model.getVersionId();
      const items = await completer.complete(token, engineUp, () => requestAt(model, position, explicit, toEndpoint), {
        onError: (message) => options.onStatus?.({ state: 'error', message }),
        onDone: (latencyMs, result, source) => options.onStatus?.({ state: 'completed', latencyMs, result, source }),
        // A block's first line is shown; its whole answer came after: ask again (served at once)
        // in the editors whose cursor is where it was. An explicit trigger alone keeps the item
        // shown on top (Monaco 0.57 preserves it: tests/e2e/monaco.test.mjs fails without the
        // hide), so the line is hidden first.
        onRefresh: () => {
          if (model.isDisposed() || model.getVersionId() !== version) return;
          for (const ed of monaco.editor.getEditors()) {
            const sel = ed.getSelection();
            if (ed.getModel() === model && sel && sel.isEmpty() && sel.getPosition().equals(position)) {
              ed.trigger('wisp', 'editor.action.inlineSuggest.hide', {});
              ed.trigger('wisp', 'editor.action.inlineSuggest.trigger', {});
            }
          }
        },
      });
      return {
        items: items.map((it) => ({
          insertText: it.text,
          range: new monaco.Range(it.start.line + 1, it.start.character + 1, it.end.line + 1, it.end.character + 1),
        })),
      };
    },
    disposeInlineCompletions() {},
  };
  for (const lang of languages) disposables.push(monaco.languages.registerInlineCompletionsProvider(lang, provider));

  handle.dispose = () => {
    for (const d of disposables) d.dispose();
    client.dispose();
  };
  return handle;
}
