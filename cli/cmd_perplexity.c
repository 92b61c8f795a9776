/* wisp perplexity — PLACEHOLDER until the engine issue lands this command. */
#include <stdio.h>
#include "cli.h"

int cmd_perplexity(int argc, char **argv) {
    fprintf(stderr, "wisp perplexity: not built yet\n");
    return 2;
}
