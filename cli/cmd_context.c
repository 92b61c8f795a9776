/*
 * wisp context: what context extraction finds at a cursor, printed readably — the mode, the
 * indentation, the enclosing scopes, the names in scope, the imports and the retrieved
 * definitions (from the file and from the files given with --open). For debugging prompts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const context_usage =
    "usage: wisp context FILE:LINE:COL | --file FILE --offset N [options]\n"
    "  LINE and COL are 1-based, COL in UTF-8 bytes; N is a UTF-8 byte offset.\n"
    "  --lang L          python | javascript | typescript | tsx | c (default: from the extension)\n"
    "  --open FILE       another open document to search for definitions (repeatable)\n"
    "  --tree            also print the syntax tree\n"
    "  The time printed includes compiling the language's queries (once per process); with\n"
    "  WISP_CONTEXT_TWICE=1 in the environment it is that of a second, warm extraction.\n";

// Prints a string with control characters escaped, for one-line display.
static void context__put(const wisp_str s) {
    for (uint64_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c < 0x20) printf("\\x%02x", c);
        else putchar(c);
    }
}

// Prints a multi-line block indented under a heading.
static void context__block(const wisp_str s, const char *indent) {
    fputs(indent, stdout);
    for (uint64_t i = 0; i < s.len; i++) {
        putchar(s.ptr[i]);
        if (s.ptr[i] == '\n' && i + 1 < s.len) fputs(indent, stdout);
    }
    putchar('\n');
}

// Splits "FILE:LINE:COL" at its last two colons; 0 when it is not of that form.
static int context__parse_loc(char *arg, const char **file, long long *line, long long *col) {
    char *c2 = strrchr(arg, ':');
    if (!c2 || c2 == arg) return 0;
    *c2 = '\0';
    char *c1 = strrchr(arg, ':');
    if (!c1) {
        *c2 = ':';
        return 0;
    }
    char *e1, *e2;
    *line = strtoll(c1 + 1, &e1, 10);
    *col = strtoll(c2 + 1, &e2, 10);
    if (*e1 || *e2 || e1 == c1 + 1 || e2 == c2 + 1) {
        *c2 = ':';
        return 0;
    }
    *c1 = '\0';
    *file = arg;
    return 1;
}

int cmd_context(int argc, char **argv) {
    const char *file = NULL, *lang_name = NULL, *open[32];
    int n_open = 0, tree = 0;
    long long line = 0, col = 0, offset = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(context_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--file") && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(a, "--offset") && i + 1 < argc) {
            char *e;
            offset = strtoll(argv[++i], &e, 10);
            if (*e || offset < 0) {
                fprintf(stderr, "wisp context: bad offset '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--lang") && i + 1 < argc) {
            lang_name = argv[++i];
        } else if (!strcmp(a, "--open") && i + 1 < argc) {
            if (n_open == 32) {
                fprintf(stderr, "wisp context: at most 32 --open files\n");
                return 2;
            }
            open[n_open++] = argv[++i];
        } else if (!strcmp(a, "--tree")) {
            tree = 1;
        } else if (a[0] != '-' && !file && context__parse_loc(argv[i], &file, &line, &col)) {
        } else {
            fprintf(stderr, "wisp context: unexpected argument '%s'\n%s", a, context_usage);
            return 2;
        }
    }
    if (!file || (offset < 0 && (line < 1 || col < 1))) {
        fputs(context_usage, stderr);
        return 2;
    }
    wisp_lang lang = lang_name ? wisp_lang_from_name(lang_name) : wisp_lang_from_path(file);
    if (lang == WISP_LANG_NONE) {
        fprintf(stderr, "wisp context: %s: unknown language (use --lang)\n", lang_name ? lang_name : file);
        return 2;
    }

    int rc = 1;
    cli_file f = {0}, others[32];
    int n_read = 0;
    wisp_docs *docs = NULL;
    wisp_context *ctx = NULL;
    wisp_error err = {0};
    if (cli_file_read(file, &f)) return 1;
    docs = wisp_docs_new();
    if (!docs) goto done;
    wisp_doc *doc = wisp_doc_open(docs, file, lang, f.data, f.size, &err);
    if (!doc) {
        cli_fail(file, &err);
        goto done;
    }
    for (int i = 0; i < n_open; i++) {
        if (cli_file_read(open[i], &others[n_read])) goto done;
        n_read++;
        wisp_lang ol = wisp_lang_from_path(open[i]);
        if (ol == WISP_LANG_NONE) ol = lang;
        if (!wisp_doc_open(docs, open[i], ol, others[i].data, others[i].size, &err)) {
            cli_fail(open[i], &err);
            goto done;
        }
    }
    wisp_pos pos;
    wisp_status st = offset >= 0 ? wisp_doc_pos_at_u8(doc, (size_t)offset, &pos, &err)
                                 : wisp_doc_pos_at_line_col(doc, (size_t)line - 1, (size_t)col - 1,
                                                            WISP_UNIT_U8, &pos, &err);
    if (st != WISP_OK) {
        cli_fail(file, &err);
        goto done;
    }
    double t0 = wisp_now_ms();
    if (wisp_context_extract(doc, pos.pos_u8, NULL, &ctx, &err) != WISP_OK) {
        cli_fail(file, &err);
        goto done;
    }
    double ms = wisp_now_ms() - t0;
    if (getenv("WISP_CONTEXT_TWICE")) { /* warm timing: queries compiled, indexes built */
        wisp_context_free(ctx);
        ctx = NULL;
        t0 = wisp_now_ms();
        if (wisp_context_extract(doc, pos.pos_u8, NULL, &ctx, &err) != WISP_OK) {
            cli_fail(file, &err);
            goto done;
        }
        ms = wisp_now_ms() - t0;
    }

    printf("file      %s (%s)\n", file, wisp_lang_name(ctx->lang));
    printf("cursor    line %zu, col %zu (1-based, bytes), offset %zu, utf-16 offset %zu\n",
           pos.line + 1, pos.col_u8 + 1, pos.pos_u8, pos.off_u16);
    printf("mode      %s\n", wisp_mode_name(ctx->mode));
    printf("node      %.*s%s\n", (int)ctx->node_type.len, ctx->node_type.ptr,
           ctx->in_error ? " (syntax error near the cursor)" : "");
    printf("line      \"");
    context__put(ctx->line_prefix);
    printf("\" | \"");
    context__put(ctx->line_suffix);
    printf("\"\nindent    line \"");
    context__put(ctx->line_indent);
    printf("\", block \"");
    context__put(ctx->block_indent);
    printf("\", unit \"");
    context__put(ctx->indent_unit);
    printf("\"\n\nscopes (%zu, innermost first)\n", ctx->n_scopes);
    for (size_t i = 0; i < ctx->n_scopes; i++) {
        const wisp_scope *s = &ctx->scopes[i];
        printf("  %-8s %-22.*s [%zu, %zu)  ", wisp_scope_kind_name(s->kind), (int)s->node_type.len,
               s->node_type.ptr, s->start_u8, s->end_u8);
        context__put(s->header);
        putchar('\n');
    }
    printf("\nnames (%zu)\n", ctx->n_names);
    for (size_t i = 0; i < ctx->n_names; i++)
        printf("  %-9s %.*s\n", wisp_def_kind_name(ctx->names[i].kind), (int)ctx->names[i].name.len,
               ctx->names[i].name.ptr);
    printf("\nimports (%zu)\n", ctx->n_imports);
    for (size_t i = 0; i < ctx->n_imports; i++) {
        fputs("  ", stdout);
        context__put(ctx->imports[i].text);
        putchar('\n');
    }
    printf("\ndefinitions (%zu, best first)\n", ctx->n_defs);
    for (size_t i = 0; i < ctx->n_defs; i++) {
        const wisp_def *d = &ctx->defs[i];
        printf("  %.*s  %s  %s:%zu  refs %u  score %.2f\n", (int)d->name.len, d->name.ptr,
               wisp_def_kind_name(d->kind), d->uri, d->line + 1, d->n_refs, d->score);
        context__block(d->signature, "    | ");
    }
    printf("\ntime      %.3f ms\n", ms);
    if (tree) {
        char *s = wisp_doc_tree_string(doc);
        if (s) printf("\ntree\n%s\n", s);
        free(s);
    }
    rc = 0;
done:
    wisp_context_free(ctx);
    wisp_docs_free(docs);
    for (int i = 0; i < n_read; i++) cli_file_free(&others[i]);
    cli_file_free(&f);
    return rc;
}
