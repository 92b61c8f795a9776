/* Queries: the .scm files of grammar/queries/ are embedded at build time (queries_data.c, made by
 * embed_queries.cmake) and compiled here against their grammar. */
#include "lang.h"

#include <string.h>

#include "error.h"

static const char *const queries__kind_names[WISP_Q_COUNT] = {
    "scopes", "definitions", "references", "imports", "calls",
};

const char *wisp__query_kind_name(wisp__query_kind kind) {
    return (unsigned)kind < WISP_Q_COUNT ? queries__kind_names[kind] : "?";
}

const char *wisp__query_source(wisp_lang lang, wisp__query_kind kind, size_t *len) {
    const char *lname = wisp_lang_name(lang);
    const char *kname = wisp__query_kind_name(kind);
    for (size_t i = 0; i < wisp__n_query_blobs; i++) {
        const wisp__query_blob *b = &wisp__query_blobs[i];
        if (!strcmp(b->lang, lname) && !strcmp(b->kind, kname)) {
            if (len) *len = b->len;
            return b->text;
        }
    }
    /* tsx is typescript plus JSX: it keeps only the files that differ. */
    if (lang == WISP_LANG_TSX) return wisp__query_source(WISP_LANG_TYPESCRIPT, kind, len);
    return NULL;
}

// Tree-sitter's name for a query error, for messages.
static const char *queries__error_name(TSQueryError e) {
    switch (e) {
    case TSQueryErrorSyntax: return "syntax error";
    case TSQueryErrorNodeType: return "unknown node type";
    case TSQueryErrorField: return "unknown field";
    case TSQueryErrorCapture: return "unknown capture";
    case TSQueryErrorStructure: return "impossible pattern";
    case TSQueryErrorLanguage: return "language mismatch";
    default: return "error";
    }
}

TSQuery *wisp__query_compile(wisp_lang lang, wisp__query_kind kind, wisp_error *err) {
    const TSLanguage *ts = wisp__lang_ts(lang);
    if (!ts) {
        wisp__fail(err, WISP_ERR_LANGUAGE, "no grammar for language %d", (int)lang);
        return NULL;
    }
    size_t len = 0;
    const char *src = wisp__query_source(lang, kind, &len);
    if (!src) {
        wisp__fail(err, WISP_ERR_LANGUAGE, "queries/%s/%s.scm is missing", wisp_lang_name(lang),
                   wisp__query_kind_name(kind));
        return NULL;
    }
    uint32_t offset = 0;
    TSQueryError qerr = TSQueryErrorNone;
    TSQuery *q = ts_query_new(ts, src, (uint32_t)len, &offset, &qerr);
    if (!q) {
        uint32_t line = 1;
        for (uint32_t i = 0; i < offset && i < len; i++) line += src[i] == '\n';
        wisp__fail(err, WISP_ERR_LANGUAGE, "queries/%s/%s.scm:%u: %s at byte %u",
                   wisp_lang_name(lang), wisp__query_kind_name(kind), line,
                   queries__error_name(qerr), offset);
    }
    return q;
}
