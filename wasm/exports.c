/* Emscripten exports: the C surface the JS worker calls. Grows with the engine. */
#include <emscripten.h>
#include <stdlib.h>

#include "wisp.h"

/* The engine's version string; lets the JS layer check it loaded the module it expects. */
EMSCRIPTEN_KEEPALIVE const char *wisp_wasm_version(void) { return "wisp 0.1.0"; }
