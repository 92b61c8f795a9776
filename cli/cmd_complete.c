/* wisp complete / prompt / context — PLACEHOLDER until the context issue lands these commands. */
#include <stdio.h>
#include "cli.h"

int cmd_complete(int argc, char **argv) {
    fprintf(stderr, "wisp complete: not built yet\n");
    return 2;
}
int cmd_prompt(int argc, char **argv) {
    fprintf(stderr, "wisp prompt: not built yet\n");
    return 2;
}
int cmd_context(int argc, char **argv) {
    fprintf(stderr, "wisp context: not built yet\n");
    return 2;
}
