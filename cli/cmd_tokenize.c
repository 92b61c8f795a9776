/* wisp tokenize — PLACEHOLDER until the engine issue lands this command. */
#include <stdio.h>
#include "cli.h"

int cmd_tokenize(int argc, char **argv) {
    fprintf(stderr, "wisp tokenize: not built yet\n");
    return 2;
}
