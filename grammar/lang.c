/* The language registry: file extensions and editor language ids to tree-sitter grammars, and
 * the per-language facts (node-type classes) that context extraction needs. */
#include "lang.h"

#include <ctype.h>
#include <string.h>

const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_typescript(void);
const TSLanguage *tree_sitter_tsx(void);
const TSLanguage *tree_sitter_c(void);

typedef struct lang__entry {
    const char *name;
    const char *exts;  /* space-separated, with dots */
    const char *ids;   /* editor language ids, space-separated */
} lang__entry;

static const lang__entry lang__table[WISP_LANG_COUNT] = {
    [WISP_LANG_NONE] = {"none", "", ""},
    [WISP_LANG_PYTHON] = {"python", ".py .pyi", "python py"},
    [WISP_LANG_JAVASCRIPT] = {"javascript", ".js .mjs .cjs .jsx", "javascript javascriptreact js jsx"},
    [WISP_LANG_TYPESCRIPT] = {"typescript", ".ts .mts .cts", "typescript ts"},
    [WISP_LANG_TSX] = {"tsx", ".tsx", "typescriptreact tsx"},
    [WISP_LANG_C] = {"c", ".c .h", "c"},
};

// True when the space-separated `list` holds `word` (ASCII case-insensitive).
static bool lang__in_list(const char *list, const char *word, size_t word_len) {
    const char *p = list;
    while (*p) {
        while (*p == ' ') p++;
        const char *q = p;
        while (*q && *q != ' ') q++;
        if ((size_t)(q - p) == word_len && word_len > 0) {
            size_t i = 0;
            while (i < word_len && tolower((unsigned char)p[i]) == tolower((unsigned char)word[i])) i++;
            if (i == word_len) return true;
        }
        p = q;
    }
    return false;
}

wisp_lang wisp_lang_from_path(const char *path) {
    if (!path) return WISP_LANG_NONE;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return WISP_LANG_NONE;
    for (int l = WISP_LANG_NONE + 1; l < WISP_LANG_COUNT; l++)
        if (lang__in_list(lang__table[l].exts, dot, strlen(dot))) return (wisp_lang)l;
    return WISP_LANG_NONE;
}

wisp_lang wisp_lang_from_id(const char *language_id) {
    if (!language_id) return WISP_LANG_NONE;
    for (int l = WISP_LANG_NONE + 1; l < WISP_LANG_COUNT; l++)
        if (lang__in_list(lang__table[l].ids, language_id, strlen(language_id))) return (wisp_lang)l;
    return WISP_LANG_NONE;
}

wisp_lang wisp_lang_from_name(const char *name) {
    if (!name) return WISP_LANG_NONE;
    for (int l = WISP_LANG_NONE + 1; l < WISP_LANG_COUNT; l++)
        if (lang__in_list(lang__table[l].name, name, strlen(name))) return (wisp_lang)l;
    return wisp_lang_from_id(name);
}

const char *wisp_lang_name(wisp_lang lang) {
    if ((int)lang <= WISP_LANG_NONE || lang >= WISP_LANG_COUNT) return "none";
    return lang__table[lang].name;
}

const TSLanguage *wisp__lang_ts(wisp_lang lang) {
    switch (lang) {
    case WISP_LANG_PYTHON: return tree_sitter_python();
    case WISP_LANG_JAVASCRIPT: return tree_sitter_javascript();
    case WISP_LANG_TYPESCRIPT: return tree_sitter_typescript();
    case WISP_LANG_TSX: return tree_sitter_tsx();
    case WISP_LANG_C: return tree_sitter_c();
    default: return NULL;
    }
}

bool wisp__lang_is_comment(wisp_lang lang, const char *type) {
    (void)lang;
    return !strcmp(type, "comment") || !strcmp(type, "html_comment");
}

bool wisp__lang_is_string(wisp_lang lang, const char *type) {
    switch (lang) {
    case WISP_LANG_PYTHON:
        return !strcmp(type, "string") || !strcmp(type, "string_content") ||
               !strcmp(type, "concatenated_string");
    case WISP_LANG_JAVASCRIPT:
    case WISP_LANG_TYPESCRIPT:
    case WISP_LANG_TSX:
        return !strcmp(type, "string") || !strcmp(type, "template_string") ||
               !strcmp(type, "string_fragment") || !strcmp(type, "regex") || !strcmp(type, "jsx_text") ||
               !strcmp(type, "regex_pattern");
    case WISP_LANG_C:
        return !strcmp(type, "string_literal") || !strcmp(type, "char_literal") ||
               !strcmp(type, "system_lib_string") || !strcmp(type, "string_content") ||
               !strcmp(type, "concatenated_string");
    default:
        return false;
    }
}
