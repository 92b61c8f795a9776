/* wisp serve's request handling without sockets (serve_request.h). */
#include "serve_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *serve_jstr(const char *s, size_t n) {
    char *buf = malloc(n * 3 + 1);
    if (!buf) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = wisp_utf8_len(s + i, n - i);
        if (k) {
            memcpy(buf + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    json_t *j = json_stringn(buf, o);
    free(buf);
    return j;
}

/* ---- Request fields --------------------------------------------------------------------------- */

/* The optional field `key` of `o`: NULL when absent or null; when its type is not `want` (a
 * json_type; JSON_REAL stands for any number, JSON_TRUE for a boolean) it writes the error, sets
 * *bad and returns NULL. */
static json_t *serve__field(json_t *o, const char *key, json_type want, const char *what, bool *bad, char *err,
                            size_t cap) {
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return NULL;
    bool fits = want == JSON_REAL ? json_is_number(v) : want == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == want;
    if (fits) return v;
    snprintf(err, cap, "\"%s\" must be %s", key, what);
    *bad = true;
    return NULL;
}

/* Reads an optional field of `o` into *out; on a wrong type writes the error and returns false. */
static bool serve__opt_str(json_t *o, const char *key, const char **out, size_t *len, char *err, size_t cap) {
    bool bad = false;
    json_t *v = serve__field(o, key, JSON_STRING, "a string", &bad, err, cap);
    if (v) *out = json_string_value(v);
    if (v && len) *len = json_string_length(v);
    return !bad;
}

static bool serve__opt_num(json_t *o, const char *key, double *out, char *err, size_t cap) {
    bool bad = false;
    json_t *v = serve__field(o, key, JSON_REAL, "a number", &bad, err, cap);
    if (v) *out = json_number_value(v);
    return !bad;
}

static bool serve__opt_int(json_t *o, const char *key, long long *out, char *err, size_t cap) {
    bool bad = false;
    json_t *v = serve__field(o, key, JSON_INTEGER, "an integer", &bad, err, cap);
    if (v) *out = (long long)json_integer_value(v);
    return !bad;
}

static bool serve__opt_bool(json_t *o, const char *key, char *err, size_t cap) {
    bool bad = false;
    serve__field(o, key, JSON_TRUE, "true or false", &bad, err, cap);
    return !bad;
}

/* "stop": a string or an array of strings. */
static bool serve__stop(json_t *o, serve_req *q, char *err, size_t cap) {
    json_t *v = json_object_get(o, "stop");
    if (!v || json_is_null(v)) return true;
    if (json_is_string(v)) {
        if (json_string_length(v)) q->stop[q->n_stop++] = json_string_value(v);
        return true;
    }
    if (!json_is_array(v) || json_array_size(v) > SERVE_MAX_STOP) {
        snprintf(err, cap, "\"stop\" must be a string or an array of at most %d strings", SERVE_MAX_STOP);
        return false;
    }
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s)) {
            snprintf(err, cap, "\"stop\"[%zu] must be a string", i);
            return false;
        }
        if (json_string_length(s)) q->stop[q->n_stop++] = json_string_value(s);
    }
    return true;
}

/* Fields both endpoints share: sampling, budgets, stop strings, wisp's filename/language. */
static bool serve__common(json_t *o, serve_req *q, char *err, size_t cap) {
    q->n_predict = -1;
    return serve__opt_num(o, "temperature", &q->temperature, err, cap) &&
           serve__opt_num(o, "top_p", &q->top_p, err, cap) && serve__opt_int(o, "top_k", &q->top_k, err, cap) &&
           serve__opt_int(o, "seed", &q->seed, err, cap) && serve__stop(o, q, err, cap) &&
           serve__opt_str(o, "filename", &q->filename, NULL, err, cap) &&
           serve__opt_str(o, "language", &q->language, NULL, err, cap) && serve__opt_bool(o, "stream", err, cap) &&
           serve__opt_bool(o, "cache_prompt", err, cap);
}

/* POST /infill: input_prefix (required), input_suffix, input_extra, prompt (the cursor line's
 * text before the cursor, appended to the prefix as llama.cpp does), n_predict, t_max_*_ms. */
static bool serve__parse_infill(json_t *o, serve_req *q, char *err, size_t cap) {
    if (!serve__common(o, q, err, cap)) return false;
    json_t *p = json_object_get(o, "input_prefix");
    if (!p || json_is_null(p)) { /* null is what other optional fields take as absent: not a prefix */
        snprintf(err, cap, "\"input_prefix\" is required");
        return false;
    }
    double tp = 0, tg = 0;
    const char *line = NULL;
    size_t line_len = 0;
    if (!serve__opt_str(o, "input_prefix", &q->prefix, &q->prefix_len, err, cap) ||
        !serve__opt_str(o, "input_suffix", &q->suffix, &q->suffix_len, err, cap) ||
        !serve__opt_str(o, "prompt", &line, &line_len, err, cap) ||
        !serve__opt_int(o, "n_predict", &q->n_predict, err, cap) ||
        !serve__opt_num(o, "t_max_prompt_ms", &tp, err, cap) || !serve__opt_num(o, "t_max_predict_ms", &tg, err, cap))
        return false;
    json_t *s = json_object_get(o, "samplers");
    if (s && !json_is_null(s) && !json_is_array(s) && !json_is_string(s)) {
        snprintf(err, cap, "\"samplers\" must be an array of names or a string");
        return false;
    }
    if (json_is_array(s)) {
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v) if (!json_is_string(v)) {
            snprintf(err, cap, "\"samplers\"[%zu] must be a string", i);
            return false;
        }
    }
    if (tp < 0 || tg < 0) {
        snprintf(err, cap, "\"t_max_prompt_ms\" and \"t_max_predict_ms\" must be >= 0");
        return false;
    }
    q->time_ms = tp + tg;
    if (line_len) { /* prefix + prompt, one buffer owned by the JSON (a new string field) */
        char *joined = malloc(q->prefix_len + line_len + 1);
        if (!joined) {
            snprintf(err, cap, "out of memory");
            return false;
        }
        memcpy(joined, q->prefix, q->prefix_len);
        memcpy(joined + q->prefix_len, line, line_len);
        joined[q->prefix_len + line_len] = '\0';
        json_t *js = json_stringn_nocheck(joined, q->prefix_len + line_len);
        free(joined);
        if (!js || json_object_set_new(o, " prefix", js)) {
            snprintf(err, cap, "out of memory");
            return false;
        }
        q->prefix = json_string_value(js);
        q->prefix_len += line_len;
    }
    json_t *ex = json_object_get(o, "input_extra");
    if (ex && !json_is_null(ex)) {
        if (!json_is_array(ex) || json_array_size(ex) > SERVE_MAX_EXTRA) {
            snprintf(err, cap, "\"input_extra\" must be an array of at most %d {filename, text} objects",
                     SERVE_MAX_EXTRA);
            return false;
        }
        size_t i;
        json_t *c;
        json_array_foreach(ex, i, c) {
            json_t *t = json_object_get(c, "text");
            json_t *f = json_object_get(c, "filename");
            if (!json_is_object(c) || !json_is_string(t) || (f && !json_is_string(f))) {
                snprintf(err, cap, "\"input_extra\"[%zu] must be an object with a string \"text\" and an optional "
                         "string \"filename\"", i);
                return false;
            }
            q->extra_text[q->n_extra] = json_string_value(t);
            q->extra_len[q->n_extra] = json_string_length(t);
            q->extra_name[q->n_extra++] = f ? json_string_value(f) : "";
        }
    }
    return true;
}

/* POST /v1/completions: prompt (a string, or an array of one), suffix, max_tokens. */
static bool serve__parse_openai(json_t *o, serve_req *q, char *err, size_t cap) {
    if (!serve__common(o, q, err, cap)) return false;
    json_t *p = json_object_get(o, "prompt");
    if (json_is_array(p) && json_array_size(p) == 1) p = json_array_get(p, 0);
    if (!p) {
        snprintf(err, cap, "\"prompt\" is required");
        return false;
    }
    if (!json_is_string(p)) {
        snprintf(err, cap, "\"prompt\" must be a string (or an array of one string)");
        return false;
    }
    q->prefix = json_string_value(p);
    q->prefix_len = json_string_length(p);
    long long n = 1;
    if (!serve__opt_str(o, "suffix", &q->suffix, &q->suffix_len, err, cap) ||
        !serve__opt_int(o, "max_tokens", &q->n_predict, err, cap) || !serve__opt_int(o, "n", &n, err, cap))
        return false;
    if (n != 1) {
        snprintf(err, cap, "only \"n\": 1 is supported");
        return false;
    }
    json_t *st = json_object_get(o, "stream");
    if (json_is_true(st)) {
        snprintf(err, cap, "streaming is not supported (\"stream\": false)");
        return false;
    }
    return true;
}

unsigned serve_request_parse(const char *body, size_t len, bool infill, json_t **root, serve_req *q, char *msg,
                             size_t cap) {
    *root = NULL;
    memset(q, 0, sizeof *q);
    json_error_t jerr;
    json_t *o = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(msg, cap, "malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        return 400;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(msg, cap, "the request body must be a JSON object");
        return 400;
    }
    bool ok = infill ? serve__parse_infill(o, q, msg, cap) : serve__parse_openai(o, q, msg, cap);
    if (ok && q->language && *q->language && wisp_lang_from_name(q->language) == WISP_LANG_NONE) {
        snprintf(msg, cap, "unknown \"language\" (python, javascript, typescript, tsx, c)");
        ok = false;
    }
    if (ok && (q->n_predict < -1 || q->top_k < 0)) {
        snprintf(msg, cap, "\"n_predict\"/\"max_tokens\" and \"top_k\" must be >= 0 (or -1 for the default)");
        ok = false;
    }
    if (!ok) {
        json_decref(o);
        return 400;
    }
    *root = o;
    return 200;
}

/* ---- Documents -------------------------------------------------------------------------------- */

/* The file extension of a language, for the document's name when the request gave none. */
static const char *serve__ext(wisp_lang l) {
    switch (l) {
    case WISP_LANG_PYTHON: return "py";
    case WISP_LANG_JAVASCRIPT: return "js";
    case WISP_LANG_TYPESCRIPT: return "ts";
    case WISP_LANG_TSX: return "tsx";
    case WISP_LANG_C: return "c";
    default: return "txt";
    }
}

/* The request's language: "language", else "filename"'s extension, else the first input_extra
 * chunk with a known extension. */
wisp_lang serve_request_lang(const serve_req *q) {
    if (q->language && *q->language) return wisp_lang_from_name(q->language);
    if (q->filename && *q->filename) return wisp_lang_from_path(q->filename);
    for (size_t i = 0; i < q->n_extra; i++) {
        wisp_lang l = wisp_lang_from_path(q->extra_name[i]);
        if (l != WISP_LANG_NONE) return l;
    }
    return WISP_LANG_NONE;
}

wisp_doc *serve_request_open(wisp_docs *docs, const serve_req *q, wisp_lang lang, wisp_error *err) {
    char uri[512];
    if (q->filename && *q->filename) snprintf(uri, sizeof uri, "%s", q->filename);
    else snprintf(uri, sizeof uri, "untitled.%s", serve__ext(lang));
    size_t n = q->prefix_len + q->suffix_len;
    char *text = malloc(n + 1);
    if (!text) {
        err->code = WISP_ERR_NO_MEMORY;
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    memcpy(text, q->prefix, q->prefix_len);
    if (q->suffix_len) memcpy(text + q->prefix_len, q->suffix, q->suffix_len);
    wisp_doc *doc = wisp_doc_open(docs, uri, lang, text, n, err);
    free(text);
    if (!doc) return NULL;
    for (size_t i = 0; i < q->n_extra; i++) {
        wisp_lang el = wisp_lang_from_path(q->extra_name[i]);
        if (el == WISP_LANG_NONE) continue; /* no grammar: nothing to find definitions in */
        char euri[600];
        snprintf(euri, sizeof euri, "extra/%zu/%s", i, q->extra_name[i]);
        wisp_doc_open(docs, euri, el, q->extra_text[i], q->extra_len[i], NULL); /* best effort */
    }
    return doc;
}

/* ---- The plain FIM prompt --------------------------------------------------------------------- */

/* Appends the tokens of `len` bytes of `text` to ids[*n..cap) (plain text, no special tokens). */
static wisp_status serve__tok(const wisp_tokenizer *tok, const char *text, size_t len, int32_t **ids, size_t *n,
                              wisp_error *err) {
    int64_t k = wisp_tokenize(tok, text, len, false, NULL, 0, err);
    if (k < 0) return err->code;
    int32_t *grown = realloc(*ids, (*n + (size_t)k + 1) * sizeof **ids);
    if (!grown) return WISP_ERR_NO_MEMORY;
    *ids = grown;
    if (wisp_tokenize(tok, text, len, false, grown + *n, (size_t)k, err) < 0) return err->code;
    *n += (size_t)k;
    return WISP_OK;
}

/* Appends n ids (src may be NULL when n is 0). */
static void serve__put(int32_t *ids, size_t *nids, const int32_t *src, size_t n) {
    if (n) memcpy(ids + *nids, src, n * sizeof *ids);
    *nids += n;
}

#define SERVE__PATH_TOKENS 62 /* a longer file name gets no path line */

wisp_status serve_request_fim_prompt(const wisp_tokenizer *tok, const serve_req *q, size_t n_ctx, size_t budget,
                                     int32_t **ids_out, size_t *n_ids, size_t *max_tokens_out, bool *truncated,
                                     wisp_error *err) {
    int32_t sep = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_SEP), pre = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_PRE),
            suf = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_SUF), mid = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_MID);
    *ids_out = NULL;
    *n_ids = 0;
    *truncated = false;
    /* room: the answer, the FIM ids, a path line (sep + name + newline), then the budget */
    size_t fixed = 3 + SERVE__PATH_TOKENS + 2;
    size_t max_tokens = q->n_predict > 0 ? (size_t)q->n_predict : 128;
    if (max_tokens > n_ctx / 2) max_tokens = n_ctx / 2;
    if (n_ctx < max_tokens + fixed + 1) {
        err->code = WISP_ERR_CONTEXT_FULL;
        snprintf(err->message, sizeof err->message, "a context of %zu tokens has no room for a prompt", n_ctx);
        return err->code;
    }
    if (budget > n_ctx - max_tokens - fixed) budget = n_ctx - max_tokens - fixed;
    *max_tokens_out = max_tokens;
    int32_t *pt = NULL, *st = NULL, *ids = NULL, *et = NULL;
    size_t npt = 0, nst = 0, nids = 0, net = 0;
    wisp_status rc = serve__tok(tok, q->prefix, q->prefix_len, &pt, &npt, err);
    if (!rc && q->suffix_len) rc = serve__tok(tok, q->suffix, q->suffix_len, &st, &nst, err);
    /* Budget: the suffix keeps its start (up to a quarter), the prefix its end, input_extra what
     * is left (newest chunks, the last ones, first; none without a file separator token). */
    size_t keep_s = nst < budget / 4 ? nst : budget / 4;
    size_t keep_p = npt < budget - keep_s ? npt : budget - keep_s;
    size_t left = budget - keep_s - keep_p;
    *truncated = keep_s < nst || keep_p < npt || (q->n_extra && sep == WISP_NO_TOKEN);
    for (size_t i = sep == WISP_NO_TOKEN ? 0 : q->n_extra; !rc && i-- > 0;) {
        size_t before = net;
        int32_t *chunk = NULL;
        size_t nc = 0;
        const char *name = q->extra_name[i];
        rc = serve__tok(tok, name, strlen(name), &chunk, &nc, err);
        if (!rc) rc = serve__tok(tok, "\n", 1, &chunk, &nc, err);
        if (!rc) rc = serve__tok(tok, q->extra_text[i], q->extra_len[i], &chunk, &nc, err);
        if (!rc && nc + 1 <= left) {
            int32_t *grown = realloc(et, (net + nc + 1) * sizeof *et);
            if (grown) {
                et = grown;
                memmove(et + nc + 1, et, before * sizeof *et); /* older chunks go first */
                et[0] = sep;
                memcpy(et + 1, chunk, nc * sizeof *et);
                net += nc + 1;
                left -= nc + 1;
            }
        } else if (!rc) {
            *truncated = true;
        }
        free(chunk);
    }
    if (!rc) {
        ids = malloc((net + keep_s + keep_p + fixed) * sizeof *ids);
        if (!ids) rc = WISP_ERR_NO_MEMORY;
    }
    if (!rc) {
        serve__put(ids, &nids, et, net);
        /* every document starts with the separator, then its path where there is one (without
         * it the default model answers empty: grammar/prompt.c, the lead) */
        if (sep != WISP_NO_TOKEN) ids[nids++] = sep;
        if (sep != WISP_NO_TOKEN && q->filename && *q->filename) {
            int32_t *path = NULL;
            size_t np = 0;
            if (!serve__tok(tok, q->filename, strlen(q->filename), &path, &np, err) && np <= SERVE__PATH_TOKENS) {
                serve__put(ids, &nids, path, np);
                int32_t nl[2];
                if (wisp_tokenize(tok, "\n", 1, false, nl, 2, NULL) == 1) ids[nids++] = nl[0];
            }
            free(path);
        }
        ids[nids++] = suf;
        serve__put(ids, &nids, st, keep_s);
        ids[nids++] = pre;
        serve__put(ids, &nids, pt ? pt + (npt - keep_p) : NULL, keep_p);
        ids[nids++] = mid;
    }
    free(pt);
    free(st);
    free(et);
    if (rc) {
        free(ids);
        if (rc == WISP_ERR_NO_MEMORY) snprintf(err->message, sizeof err->message, "out of memory");
        err->code = rc;
        return rc;
    }
    *ids_out = ids;
    *n_ids = nids;
    return WISP_OK;
}

unsigned serve_status_of(wisp_status st) {
    switch (st) {
    case WISP_ERR_RANGE:
    case WISP_ERR_CONTEXT_FULL:
    case WISP_ERR_INVALID_ARG:
    case WISP_ERR_LANGUAGE:
    case WISP_ERR_TOKENIZER:
    case WISP_ERR_UNSUPPORTED: /* the text itself: a document the parser gave up on */
        return 400;
    default:
        return 500;
    }
}
