/*
 * wisp for VS Code for the Web: offline ghost-text completions from a small code model running in
 * a Web Worker next to the extension host. Nothing typed leaves the machine: the worker fetches
 * only the extension's own wasm and model (or the user's modelUrl), and keeps the model in Cache
 * Storage so later starts need no network. Only when the user names a remote endpoint in their
 * user settings (wisp.endpoint.*, off by default) is code sent there (wasm/src/remote.ts).
 */
import * as vscode from 'vscode';
import { WispClient, type DocSource } from '../../wasm/src/client.js';
import { LANGUAGE_IDS } from '../../wasm/src/languages.js';
import type { EngineInfo, ModelManifest, PartialModel, TextChange } from '../../wasm/src/protocol.js';
import { EXTRA_FILES, RemoteEndpoint } from '../../wasm/src/remote.js';
import { WispInlineProvider } from './provider.js';
import { speculativeOf } from '../../wasm/src/settings.js';
import { readSettings } from './settings.js';
import { Status } from './status.js';

// Filled in by extension/build.mjs from the bundled model file (and its parts manifest, when it
// is the shipped model: the model then arrives progressively).
declare const WISP_MODEL_SHA256: string;
declare const WISP_MODEL_FILE: string;
declare const WISP_MODEL_MANIFEST: ModelManifest | null;

export function activate(context: vscode.ExtensionContext): void {
  const t0 = Date.now();
  const status = new Status();
  const output = vscode.window.createOutputChannel('wisp');
  context.subscriptions.push(status, output);

  const source = (uri: string): DocSource | undefined => {
    const d = vscode.workspace.textDocuments.find((doc) => doc.uri.toString() === uri);
    return d ? { text: d.getText(), version: d.version, languageId: d.languageId } : undefined;
  };
  // VS Code for the Web lets an extension start a nested worker from its own files.
  const workerUrl = vscode.Uri.joinPath(context.extensionUri, 'dist', 'wisp-worker.js').toString(true);
  // A worker that dies or hangs is replaced (WispClient's watchdog); the documents follow.
  const spawn = () => new Worker(workerUrl, { name: 'wisp' });
  const client = new WispClient(spawn(), source, { respawn: spawn });
  context.subscriptions.push({ dispose: () => client.dispose() });

  const s = readSettings();
  for (const p of s.problems) output.appendLine(`[wisp] setting ignored: ${p}`);
  const settingsNote = s.problems.length ? `; settings: ${s.problems.join('; ')}` : '';
  const bundled = vscode.Uri.joinPath(context.extensionUri, 'dist', WISP_MODEL_FILE).toString(true);
  // The bundled model arrives in parts (progressive loading) when build.mjs found its manifest; a
  // model of the user's (wisp.modelUrl) comes whole.
  const model = s.modelUrl
    ? { kind: 'url' as const, url: s.modelUrl, sha256: s.modelSha256 || undefined }
    : { kind: 'url' as const, url: bundled, sha256: WISP_MODEL_SHA256 || undefined, ...(WISP_MODEL_MANIFEST ? { manifest: WISP_MODEL_MANIFEST, earlyAnswers: vscode.workspace.getConfiguration('wisp').get<unknown>('earlyAnswers') === 'always' ? 'always' as const : 'trained' as const } : {}) };
  const file = (name: string) => vscode.Uri.joinPath(context.extensionUri, 'dist', name).toString(true);

  // The whole model runs: the status bar's ready state, and a log line the tests read.
  let early = false;
  const whole = (i: EngineInfo) => {
    // storage full or refused: the engine runs, the next start downloads again; say so
    const stored = i.storageError ? `; ${i.storageError}` : '';
    const spec = i.speculativeError ? `; ${i.speculativeError}` : i.speculative ? `; self-speculative drafts of ${i.speculative.nDraft}` : '';
    const detail = `${i.modelName || 'model'}, ${(i.modelBytes / 1e6).toFixed(1)} MB ${i.modelFromCache ? 'from browser storage' : 'downloaded'}, ${Date.now() - t0} ms${stored}${spec}${settingsNote}`;
    status.ready(detail);
    output.appendLine(`[wisp] ready: ${detail}; ${i.simd} build, wasm ${i.startMs.wasm.toFixed(0)} ms, model ${i.startMs.model.toFixed(0)} ms, engine ${i.startMs.engine.toFixed(0)} ms`);
    if (early) {
      early = false;
      provider.completer.modelChanged(); // suggestions remembered from the first blocks go
      console.log(`[wisp] full model after ${Date.now() - t0} ms`);
    }
  };
  const partial = (p: PartialModel, loaded: number) => {
    early = true;
    status.earlyAnswers(loaded, p.total, p.depth, p.layers);
  };
  client.onProgress = (ev) => {
    if (ev.phase === 'download') status.downloading(ev.loaded, ev.total);
    else if (ev.phase === 'early') partial(ev.partial, ev.loaded);
    else if (ev.phase === 'full') whole(ev.info);
    else if (ev.phase === 'stopped') {
      const { depth, layers } = ev.partial;
      status.error(`${ev.error.message}; answering with ${depth} of the model's ${layers} blocks until the next start`);
      output.appendLine(`[wisp] the model download stopped: ${ev.error.code}: ${ev.error.message}; answering with ${depth} of ${layers} blocks`);
    } else status.loading(ev.phase === 'storage' ? 'reading the model from browser storage' : ev.phase === 'verify' ? 'verifying the model' : 'loading the model');
  };
  const ready = client.init({
    wasmUrl: file('wisp.wasm'),
    relaxed: { wasmUrl: file('wisp-relaxed.wasm'), kernelsUrl: file('wisp-kernels-relaxed.wasm') },
    model,
    speculative: speculativeOf(s),
  })
    .then((r) => {
      if (!r.ok) {
        status.error(r.error.message);
        output.appendLine(`[wisp] engine failed to start: ${r.error.code}: ${r.error.message}`);
        return false;
      }
      const i = r.value;
      if (i.partial) {
        partial(i.partial, i.partial.loaded);
        output.appendLine(`[wisp] early answers from ${i.partial.depth} of ${i.partial.layers} blocks while the model downloads`);
      } else whole(i);
      console.log(`[wisp] ready fromCache=${i.modelFromCache} sha256=${i.modelSha256} startMs=${Date.now() - t0}${i.partial ? ` early=${i.partial.depth}/${i.partial.layers}` : ''}`);
      return true;
    });

  client.onRestart = (reason, again) => {
    status.loading(`restarting the engine (${reason})`);
    output.appendLine(`[wisp] ${reason}; starting a new worker`);
    void again.then((r) => (r.ok ? status.ready('restarted') : status.error(r.error.message)));
  };

  // The first completion in a language pays for compiling its queries; pay it as soon as a
  // document of that language is open instead of at the first keystroke.
  const warmed = new Set<string>();
  const warm = (doc: vscode.TextDocument) => {
    const id = doc.languageId;
    if (!LANGUAGE_IDS.includes(id) || warmed.has(id)) return;
    warmed.add(id);
    void ready.then((ok) => (ok ? client.warm([id]) : undefined));
  };
  vscode.workspace.textDocuments.forEach(warm);
  context.subscriptions.push(vscode.workspace.onDidOpenTextDocument(warm));

  // The remote endpoint: its failures are log lines (the output channel, and the console for the
  // tests); a refused key is said once, with a way to set it.
  const log = (line: string) => {
    output.appendLine(`[wisp] ${line}`);
    console.log(`[wisp] ${line}`);
  };
  const KEY = 'wisp.endpoint.apiKey';
  const endpoint = new RemoteEndpoint({
    log,
    onAuthError: (message) => {
      status.error(message);
      void vscode.window.showWarningMessage(`wisp: ${message}. Local suggestions meanwhile.`, 'Set API Key').then((pick) => {
        if (pick) void vscode.commands.executeCommand('wisp.setEndpointKey');
      });
    },
    related: (uri, languageId) => vscode.workspace.textDocuments
      .filter((d) => d.uri.toString() !== uri && d.languageId === languageId && d.uri.scheme !== 'output')
      .slice(0, EXTRA_FILES)
      .map((d) => ({ filename: d.uri.path.slice(d.uri.path.lastIndexOf('/') + 1), text: d.getText() })),
  });
  const loadKey = () => context.secrets.get(KEY).then((key) => endpoint.configure({ apiKey: key ?? '' }));
  // No request before the key is read (a request without it would be refused).
  const keyRead = loadKey().then(() => true, () => true);
  context.subscriptions.push(context.secrets.onDidChange((e) => (e.key === KEY ? void loadKey() : undefined)));
  // VS Code for the Web's extension host may fetch https: URLs, and plain http only on localhost
  // and 127.0.0.1 (its content security policy): say so once per URL instead of a bare failure.
  let warnedUrl = '';
  const checkUrl = () => {
    const { url, mode } = readSettings().endpoint;
    if (mode === 'off' || !url || url === warnedUrl) return;
    warnedUrl = url;
    try {
      const u = new URL(url);
      if (u.protocol === 'http:' && u.hostname !== 'localhost' && u.hostname !== '127.0.0.1') {
        log(`endpoint: ${url}: VS Code for the Web connects to plain http only on localhost and 127.0.0.1; use https`);
      }
    } catch {
      // RemoteEndpoint says what is wrong with it at the first request
    }
  };
  checkUrl();
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((e) => (e.affectsConfiguration('wisp.endpoint') ? checkUrl() : undefined)));

  const provider = new WispInlineProvider(client, Promise.all([ready, keyRead]).then(([up]) => up), readSettings, status, endpoint);
  // For the end-to-end tests and the benchmark: how long the first suggestion took to show.
  provider.onFirstShown = () => console.log(`[wisp] first suggestion ${Date.now() - t0} ms after activation${early ? ' (early answers)' : ''}`);
  const lastVersion = new WeakMap<vscode.TextDocument, number>();
  const selector = LANGUAGE_IDS.map((language) => ({ language }));
  context.subscriptions.push(vscode.languages.registerInlineCompletionItemProvider(selector, provider));

  // Edits, not whole files: each change event goes to the worker as it happens. Documents are
  // opened in the worker lazily, with their full text, at their first completion.
  context.subscriptions.push(
    vscode.workspace.onDidChangeTextDocument((e) => {
      const uri = e.document.uri.toString();
      if (!client.isOpen(uri) || e.contentChanges.length === 0) return;
      const changes: TextChange[] = e.contentChanges.map((c) => ({ rangeOffset: c.rangeOffset, rangeLength: c.rangeLength, text: c.text }));
      void client.edit(uri, e.document.version, changes);
    }),
    vscode.workspace.onDidCloseTextDocument((d) => {
      const uri = d.uri.toString();
      provider.completer.forget(uri);
      if (client.isOpen(uri)) void client.close(uri);
    }),
    // A document opened or focused: its first answer (and the prompt in the KV cache) is computed
    // before the first keystroke.
    vscode.window.onDidChangeActiveTextEditor((ed) => provider.prefetch(ed)),
    // The cursor put somewhere by the user (a click, the arrow keys; not typing): the same there,
    // after a pause.
    vscode.window.onDidChangeTextEditorSelection((e) => {
      const moved = e.kind === vscode.TextEditorSelectionChangeKind.Mouse || e.kind === vscode.TextEditorSelectionChangeKind.Keyboard;
      const version = e.textEditor.document.version;
      const typed = lastVersion.get(e.textEditor.document) !== version;
      lastVersion.set(e.textEditor.document, version);
      if (moved && !typed && e.selections.length === 1 && e.selections[0]!.isEmpty) provider.prefetch(e.textEditor, 300);
    }),
  );
  provider.prefetch(vscode.window.activeTextEditor);

  context.subscriptions.push(
    vscode.commands.registerCommand('wisp.toggle', async () => {
      provider.enabled = !provider.enabled;
      if (provider.enabled) status.ready('turned on');
      else status.off();
    }),
    // The endpoint's answer at the cursor now, whatever the mode's policy (but `off`).
    vscode.commands.registerCommand('wisp.askEndpoint', async () => {
      const { mode, url } = readSettings().endpoint;
      if (mode === 'off' || !url) {
        void vscode.window.showInformationMessage('wisp: no endpoint. Set "wisp.endpoint.url" and "wisp.endpoint.mode" (fallback or prefer) in your user settings.');
        return;
      }
      provider.toEndpointNext = true;
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    }),
    // The key goes to the editor's secret storage, never to settings.json.
    vscode.commands.registerCommand('wisp.setEndpointKey', async () => {
      const key = await vscode.window.showInputBox({
        title: 'wisp: API key of the completion endpoint',
        prompt: 'Sent as "Authorization: Bearer KEY" to wisp.endpoint.url. Empty: no key.',
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) return;
      if (key) await context.secrets.store(KEY, key);
      else await context.secrets.delete(KEY);
      await loadKey();
      log(`endpoint: API key ${key ? 'set' : 'removed'}`);
    }),
    vscode.commands.registerCommand('wisp.showLastPrompt', async () => {
      const r = await client.lastPrompt();
      output.appendLine('----- wisp: last prompt -----');
      output.appendLine(r.ok ? r.value || '(no completion yet)' : `error: ${r.error.message}`);
      output.show(true);
    }),
  );
}

export function deactivate(): void {}
