// Node entry for tests and tools: the worker's host driven directly, without a Worker.
export { Host } from './host.js';
export { Engine, type ModuleFactory, type WispModule } from './engine.js';
export { WispClient } from './client.js';
export { AdaptiveDebounce } from './debounce.js';
export { InlineCompleter } from './inline.js';
export * from './remote.js';
export { SuggestionCache, acceptedState, advance, cursorState, sameState } from './reuse.js';
export { loadModel, sha256Hex } from './model-store.js';
export { checkEndpoint, checkSettings, DEFAULT_SETTINGS, type EditorSettings, type EndpointOptions } from './settings.js';
export * from './protocol.js';
