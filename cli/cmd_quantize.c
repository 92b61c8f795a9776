/* wisp quantize — PLACEHOLDER until the engine issue lands this command. */
#include <stdio.h>
#include "cli.h"

int cmd_quantize(int argc, char **argv) {
    fprintf(stderr, "wisp quantize: not built yet\n");
    return 2;
}
