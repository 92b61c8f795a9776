/*
 * @wisp/wasm: offline code completion in a Web Worker. Start a worker from dist/wisp-worker.js,
 * wrap it in a WispClient, call init() with the wasm and model URLs, then open/edit/complete.
 */
export * from './protocol.js';
export { WispClient, type WorkerLike, type DocSource, type ClientOptions, type CompleteHandlers } from './client.js';
export { AdaptiveDebounce } from './debounce.js';
export { InlineCompleter, type CancelToken, type InlineRequest, type InlineHooks, type InlineSettings, type InlineCounts, type InlineEvent, type Source } from './inline.js';
export { RemoteEndpoint, ENDPOINT_DEFAULTS, buildRequest, parseAnswer, type EndpointSettings, type EndpointMode, type EndpointKind, type EndpointHooks, type ExtraChunk } from './remote.js';
export { SuggestionCache, acceptedState, advance, cursorState, sameState, type CursorState, type Origin, type ReuseKind, type Reused } from './reuse.js';
export { LANGUAGE_IDS } from './languages.js';
export { sha256Hex } from './model-store.js';
export { checkEndpoint, checkSettings, DEFAULT_SETTINGS, type EditorSettings, type EndpointOptions } from './settings.js';
