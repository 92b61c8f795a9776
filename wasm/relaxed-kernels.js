// Emscripten JS library of the relaxed-SIMD build (wasm/CMakeLists.txt): the engine's Q8_0/Q4_0
// matmul, wisp_matmul_q_relaxed, is the relaxed kernel module's export, which the caller hands to
// the module factory as Module.wispKernel (wasm/src/engine.ts; tests/wasm/run-in-chromium.mjs).
mergeInto(LibraryManager.library, {
  wisp_matmul_q_relaxed: function (q4, W, nRows, nCols, X, nTok, Y, scratch) {
    Module['wispKernel'](q4, W, nRows, nCols, X, nTok, Y, scratch);
  },
});
