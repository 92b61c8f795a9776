// The Emscripten glue build-wasm/wisp.js (CommonJS, -sMODULARIZE=1); esbuild maps 'wisp-glue' to
// it. Typed loosely here and narrowed to ModuleFactory in engine.ts.
declare module 'wisp-glue' {
  const createWisp: (opts: object) => Promise<unknown>;
  export default createWisp;
}
// The relaxed-SIMD build's glue, build-wasm/wisp-relaxed.js ('wisp-glue-relaxed').
declare module 'wisp-glue-relaxed' {
  const createWisp: (opts: object) => Promise<unknown>;
  export default createWisp;
}
