/* wisp info — PLACEHOLDER until the engine issue lands this command. */
#include <stdio.h>
#include "cli.h"

int cmd_info(int argc, char **argv) {
    fprintf(stderr, "wisp info: not built yet\n");
    return 2;
}
