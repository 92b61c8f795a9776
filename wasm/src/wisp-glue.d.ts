// The Emscripten glue build-wasm/wisp.js (CommonJS, -sMODULARIZE=1); esbuild maps 'wisp-glue' to
// it. Typed loosely here and narrowed to ModuleFactory in engine.ts.
declare module 'wisp-glue' {
  const createWisp: (opts: object) => Promise<unknown>;
  export default createWisp;
}
