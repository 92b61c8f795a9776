// The demo page: one Monaco editor, a tab per sample file, wisp registered on it. Everything comes
// from this server: Monaco, the wisp worker, the wasm and the model. The shipped model arrives in
// parts (progressive loading: early answers from its first blocks, then the whole model);
// ?whole waits for the whole file instead, ?model=URL loads another model (whole); ?early=always
// answers from the first blocks even without a trained exit (the shipped model has none).
// ?speculative=N&draftDepth=K turns on self-speculative decoding once the model is whole.
// A remote endpoint is used only when the URL names one: ?endpoint=http://127.0.0.1:8012
// &endpointMode=fallback|prefer&endpointKind=infill|openai (an API key is never read from the URL:
// window.wisp.setEndpoint).
(function () {
  const samples = [
    { name: 'sample.py', language: 'python' },
    { name: 'sample.js', language: 'javascript' },
    { name: 'sample.ts', language: 'typescript' },
    { name: 'sample.c', language: 'c' },
  ];
  const statusEl = document.getElementById('status');
  const status = (text) => { statusEl.textContent = text; };
  const params = new URLSearchParams(location.search);
  window.demo = { ready: null, editor: null, models: {}, events: [], inline: [], select: null };
  let t0 = 0; // when wisp was registered
  let stage = ''; // while the model arrives: "early answers, 42 %"

  require.config({ paths: { vs: '/monaco/min/vs' } });
  require(['vs/editor/editor.main'], async function () {
    const texts = await Promise.all(samples.map((s) => fetch('/demo/samples/' + s.name).then((r) => r.text())));
    samples.forEach((s, i) => {
      window.demo.models[s.language] = monaco.editor.createModel(texts[i], s.language, monaco.Uri.parse('file:///demo/' + s.name));
    });
    const editor = monaco.editor.create(document.getElementById('editor'), {
      model: window.demo.models.python, theme: 'vs-dark', automaticLayout: true, fontSize: 14,
      inlineSuggest: { enabled: true }, quickSuggestions: false, suggestOnTriggerCharacters: false,
      wordBasedSuggestions: 'off', parameterHints: { enabled: false },
    });
    window.demo.editor = editor;
    const tabs = document.getElementById('tabs');
    window.demo.select = (language) => {
      editor.setModel(window.demo.models[language]);
      for (const b of tabs.children) b.classList.toggle('active', b.dataset.language === language);
    };
    for (const s of samples) {
      const b = document.createElement('button');
      b.textContent = s.name;
      b.dataset.language = s.language;
      b.onclick = () => window.demo.select(s.language);
      tabs.appendChild(b);
    }
    window.demo.select('python');

    t0 = performance.now();
    const handle = WispMonaco.registerWisp(monaco, {
      workerUrl: '/wasm/wisp-worker.js',
      wasmUrl: '/wasm/wisp.wasm',
      relaxed: params.has('simd128') ? undefined : { wasmUrl: '/wasm/wisp-relaxed.wasm', kernelsUrl: '/wasm/wisp-kernels-relaxed.wasm' },
      modelUrl: params.get('model') || '/models/wisp-default.gguf',
      // the shipped model's digest: it then arrives in parts (DEFAULT_MODEL.manifest)
      modelSha256: params.has('model') ? undefined : WispMonaco.DEFAULT_MODEL.sha256,
      modelManifest: params.has('whole') ? null : undefined,
      earlyAnswers: params.get('early') === 'always' ? 'always' : 'trained',
      speculative: params.has('speculative') ? { nDraft: Number(params.get('speculative')), draftDepth: Number(params.get('draftDepth') || 0) } : undefined,
      maxLines: Number(params.get('maxLines') || 0),
      maxTokens: Number(params.get('maxTokens') || 0),
      nCandidates: Number(params.get('candidates') || 1),
      timeBudgetMs: params.has('timeBudgetMs') ? Number(params.get('timeBudgetMs')) : undefined,
      onInline(event) { window.demo.inline.push(event); },
      endpoint: params.has('endpoint')
        ? { url: params.get('endpoint'), mode: params.get('endpointMode') || 'fallback', kind: params.get('endpointKind') || 'infill',
            timeoutMs: Number(params.get('endpointTimeoutMs') || 2000) }
        : undefined,
      onStatus(s) {
        window.demo.events.push(s.state);
        if (s.state === 'loading') {
          const p = s.progress;
          status(p.phase === 'download' && p.total ? `downloading ${Math.floor(100 * p.loaded / p.total)}%` : p.phase + '…');
        } else if (s.state === 'early') {
          window.demo.partial = s.partial;
          stage = `early answers, ${Math.floor(100 * s.partial.loaded / s.partial.total)} %`;
          status(`wisp: ${stage} (${s.partial.depth} of ${s.partial.layers} blocks)`);
        } else if (s.state === 'ready') {
          if (stage) window.demo.fullMs = performance.now() - t0;
          stage = '';
          window.demo.info = s.info;
          status(`ready: ${s.info.modelName || 'model'} (${(s.info.modelBytes / 1e6).toFixed(1)} MB${s.info.modelFromCache ? ', from browser storage' : ''})${s.info.storageError ? '; ' + s.info.storageError : ''}${s.info.speculativeError ? '; ' + s.info.speculativeError : ''}`);
        } else if (s.state === 'restarting') {
          status('restarting: ' + s.reason);
        } else if (s.state === 'completed') {
          window.demo.lastLatencyMs = s.latencyMs;
          window.demo.lastResult = s.result;
          window.demo.lastSource = s.source;
          if (s.result.items.length && window.demo.firstSuggestionMs === undefined) {
            window.demo.firstSuggestionMs = performance.now() - t0; // from registerWisp, for the tests
            window.demo.firstSuggestionStage = stage || 'full';
          }
          status((stage ? `wisp: ${stage} · ` : '') + (s.source === 'endpoint'
            ? `suggestion from the endpoint in ${s.latencyMs.toFixed(1)} ms`
            : `${s.result.items.length ? 'suggestion' : 'nothing to suggest'} in ${s.latencyMs.toFixed(1)} ms (${s.result.mode})`));
        } else if (s.state === 'endpoint-refused') {
          status('endpoint: ' + s.message);
        } else if (s.state === 'error') {
          window.demo.lastError = s.message;
          status('error: ' + s.message);
        }
      },
    });
    window.wisp = handle;
    window.demo.ready = handle.ready;
    editor.focus();
  });
})();
