/* wisp generate — PLACEHOLDER until the engine issue lands this command. */
#include <stdio.h>
#include "cli.h"

int cmd_generate(int argc, char **argv) {
    fprintf(stderr, "wisp generate: not built yet\n");
    return 2;
}
