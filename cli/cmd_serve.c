/*
 * wisp serve: the native engine behind a small HTTP server (libmicrohttpd, JSON through jansson;
 * cli/README.md says why these two). Endpoints, compatible with what existing clients send:
 *
 *   POST /infill          llama.cpp server's fill-in-the-middle request (llama.vscode, llama.vim)
 *   POST /v1/completions  OpenAI-style completions (prompt + suffix)
 *   GET  /health          {"status":"ok", ...counters}
 *   GET  /v1/models       the one model
 *
 * A request that names its file or language (a "filename" or "language" field, or failing that a
 * known extension among input_extra's file names) goes through wisp's own pipeline
 * (wisp_complete: context extraction, FIM prompt, syntax-aware trimming) on a document made of
 * prefix + suffix with the cursor between them; input_extra chunks are opened beside it so that
 * definitions are found there. Any other request gets a plain FIM prompt and the core's sampler
 * (temperature, top_k, top_p, stop strings honoured).
 *
 * Concurrency: libmicrohttpd runs one thread per connection; generation needs a worker, of which
 * there are --threads, each with its own engine (own KV cache; the weights are the one mapped
 * file). A request waits for a free worker, first come first served; at most --queue requests
 * wait or run, the rest get 503. Every answer is built from the worker's output before the worker is handed back, so no
 * two requests share anything mutable. A client that disconnects is noticed between tokens (and
 * while waiting) and its generation stops.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cli.h"
#include "serve_request.h"

static const char *const serve_usage =
    "usage: wisp serve [options]\n"
    "options:\n"
    "  --model PATH       GGUF model (default: $WISP_MODEL or models/wisp-default.gguf)\n"
    "  --host ADDR        address to bind (default 127.0.0.1; 0.0.0.0 or :: to listen on all)\n"
    "  --port N           TCP port (default 8012, llama.vscode's; 0 = any free port)\n"
    "  --threads N        workers, each one engine on one core (default 1)\n"
    "  --api-key KEY      require 'Authorization: Bearer KEY' (also $WISP_API_KEY); /health is open\n"
    "  --cors ORIGINS     browser origins allowed to call (comma-separated, '*' for any, '' for none;\n"
    "                     default: pages on this machine, http(s)://localhost, 127.0.0.1, [::1])\n"
    "  --max-body BYTES   largest request body (default 1048576); larger gets 413\n"
    "  --queue N          requests waiting or running at once (default 32); more get 503\n"
    "  --time-ms MS       wall-clock cap of one generation (default 10000)\n"
    "  --budget N         prompt tokens (default 512)\n"
    "  --ctx N            KV cache tokens per worker (default: the engine's)\n"
    "On start it prints 'wisp serve: listening on http://HOST:PORT' to stderr; SIGINT/SIGTERM stop it.\n";

typedef struct serve_cfg {
    const char *model, *host, *api_key;
    const char *cors; /* allowed browser origins: NULL = loopback ones, "*" = any, else a comma list */
    long long port, threads, max_body, queue, time_ms, budget, n_ctx;
} serve_cfg;

/* One worker: an engine (pipeline) and a second context on the same model for plain FIM. */
typedef struct serve_worker {
    wisp_engine *engine;
    wisp_ctx *raw;
    bool busy;
} serve_worker;

/* A request waiting for a worker, in arrival order (serve_state.wait_head ... wait_tail). */
typedef struct serve_waiter {
    struct serve_waiter *next;
    int worker; /* -1 until a worker is handed to it */
} serve_waiter;

typedef struct serve_state {
    serve_cfg cfg;
    cli_file model_file;
    serve_worker *workers;
    char model_id[128];
    time_t started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long long in_flight;    /* waiting or running, <= cfg.queue */
    long long processing;   /* holding a worker */
    serve_waiter *wait_head, *wait_tail;
    unsigned long long n_requests, n_completions, n_cancelled, n_rejected, next_id;
} serve_state;

/* ---- HTTP answers ----------------------------------------------------------------------------- */

/* Whether a browser page of `origin` (its Origin header) may call the server: --cors, by default
 * a page served from this machine (any port). The origin is matched whole, scheme and port too. */
static bool serve__origin_allowed(const serve_cfg *cfg, const char *origin) {
    if (!cfg->cors) {
        static const char *const loopback[] = {"http://localhost", "https://localhost", "http://127.0.0.1",
                                               "https://127.0.0.1", "http://[::1]", "https://[::1]"};
        for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++) {
            size_t n = strlen(loopback[i]);
            if (strncmp(origin, loopback[i], n)) continue;
            const char *port = origin + n;
            if (!*port) return true;
            if (*port++ != ':' || !*port) continue;
            while (*port >= '0' && *port <= '9') port++;
            if (!*port) return true;
        }
        return false;
    }
    if (!strcmp(cfg->cors, "*")) return true;
    size_t n = strlen(origin);
    for (const char *p = cfg->cors; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        if (e > p && (size_t)(e - p) == n && !strncmp(p, origin, n)) return true;
        p = e;
    }
    return false;
}

/* The request's Origin when a browser sent one and --cors allows it, else NULL. */
static const char *serve__cors_origin(const serve_state *s, struct MHD_Connection *c) {
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    return origin && serve__origin_allowed(&s->cfg, origin) ? origin : NULL;
}

static enum MHD_Result serve__send(const serve_state *s, struct MHD_Connection *c, unsigned status, json_t *body) {
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        text = strdup("{\"error\":{\"code\":500,\"message\":\"out of memory\",\"type\":\"server_error\"}}");
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (!text) return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
    /* A page allowed by --cors may read every answer, errors too (a 401 must reach it as a 401). */
    const char *origin = serve__cors_origin(s, c);
    if (origin) MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST, OPTIONS");
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* llama.cpp server's error shape: {"error":{"code","message","type"}}. */
static enum MHD_Result serve__error(const serve_state *s, struct MHD_Connection *c, unsigned status, const char *message) {
    const char *type = status == 401   ? "authentication_error"
                       : status == 403 ? "permission_error"
                       : status == 404 ? "not_found_error"
                       : status == 503 ? "unavailable_error"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    return serve__send(s, c, status,
                       json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)status, "message", message, "type", type));
}

/* ---- Generation ------------------------------------------------------------------------------- */

/* The result of one generation, owned by the request (copied out of the worker). */
typedef struct serve_out {
    char *text;
    size_t text_len;
    const char *mode;      /* wisp_mode_name, or "fim" for the plain prompt */
    wisp_lang lang;
    wisp_stop_reason stop;
    const char *stop_word; /* the stop string that cut the text, or NULL */
    unsigned n_prompt, n_reused, n_generated;
    double prompt_ms, predict_ms, total_ms;
    bool truncated;        /* the prompt lost text to the token budget (plain FIM) */
    int worker;
} serve_out;

/* The client's socket: a read of 0 bytes or a hang-up means it went away. */
static bool serve__gone(int fd) {
    if (fd < 0) return false;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLHUP | POLLERR | POLLRDHUP)) return true;
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0;
}

typedef struct serve_watch {
    int fd;
    bool cancelled;
} serve_watch;

static bool serve__should_stop(void *user) {
    serve_watch *w = user;
    if (!w->cancelled && serve__gone(w->fd)) w->cancelled = true;
    return w->cancelled;
}

static bool serve__on_token(void *user, int32_t token, const char *text, size_t len) {
    return !serve__should_stop(user);
}

/* Cuts `out` at the first stop string (the pipeline has no stop strings of its own). */
static void serve__apply_stop(serve_out *out, const serve_req *q) {
    size_t cut = out->text_len;
    for (size_t i = 0; i < q->n_stop; i++) {
        char *at = strstr(out->text, q->stop[i]);
        if (at && (size_t)(at - out->text) < cut) {
            cut = (size_t)(at - out->text);
            out->stop_word = q->stop[i];
        }
    }
    if (out->stop_word) {
        out->text_len = cut;
        out->text[cut] = '\0';
        out->stop = WISP_STOP_STRING;
    }
}

/* wisp's pipeline: the document prefix + suffix, the cursor between, input_extra beside it. */
static wisp_status serve__complete(serve_state *s, serve_worker *w, const serve_req *q, wisp_lang lang,
                                   serve_watch *watch, serve_out *out, wisp_error *err) {
    wisp_docs *docs = wisp_engine_docs(w->engine);
    wisp_doc *doc = serve_request_open(docs, q, lang, err);
    if (!doc) return err->code;
    wisp_complete_params p = wisp_complete_default_params();
    if (q->n_predict > 0) p.max_tokens = (uint32_t)q->n_predict;
    p.time_budget_ms = q->time_ms > 0 && q->time_ms < (double)s->cfg.time_ms ? q->time_ms : (double)s->cfg.time_ms;
    p.prompt_tokens = (uint32_t)s->cfg.budget;
    p.should_stop = serve__should_stop;
    p.user = watch;
    wisp_completion c;
    wisp_status st = wisp_complete(w->engine, doc, q->prefix_len, &p, &c, err);
    if (st == WISP_OK) {
        const char *t = c.n_candidates ? c.candidates[0].text : "";
        out->text_len = c.n_candidates ? c.candidates[0].text_len : 0;
        out->text = malloc(out->text_len + 1);
        if (out->text) {
            memcpy(out->text, t, out->text_len);
            out->text[out->text_len] = '\0';
        } else {
            st = err->code = WISP_ERR_NO_MEMORY;
            snprintf(err->message, sizeof err->message, "out of memory");
        }
        out->mode = wisp_mode_name(c.mode);
        out->lang = c.lang;
        out->stop = c.n_candidates ? c.candidates[0].stop : WISP_STOP_NONE;
        out->n_prompt = c.timings.n_prompt;
        out->n_reused = c.timings.n_reused;
        out->n_generated = c.n_candidates ? c.candidates[0].n_tokens : 0;
        out->prompt_ms = c.timings.context_ms + c.timings.prompt_ms + c.timings.prefill_ms;
        out->predict_ms = c.timings.decode_ms + c.timings.trim_ms;
    }
    /* Close every document of the request: the next one starts from an empty set. */
    while (wisp_docs_count(docs)) wisp_doc_close(wisp_docs_at(docs, 0));
    return st;
}

/* A plain FIM prompt (train/FORMAT.md's SPM layout, input_extra as whole documents before it)
 * and the core's sampler, for requests without a language. */
static wisp_status serve__fim(serve_state *s, serve_worker *w, const serve_req *q, serve_watch *watch,
                              serve_out *out, wisp_error *err) {
    const wisp_tokenizer *tok = wisp_model_tokenizer(wisp_engine_model(w->engine));
    int32_t sep = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_SEP), pre = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_PRE),
            pad = wisp_tokenizer_special(tok, WISP_SPECIAL_FIM_PAD);
    int32_t *ids = NULL;
    size_t nids = 0, max_tokens = 0;
    wisp_status rc = serve_request_fim_prompt(tok, q, wisp_ctx_n_ctx(w->raw), (size_t)s->cfg.budget, &ids, &nids,
                                              &max_tokens, &out->truncated, err);
    if (rc) return rc;
    int32_t stops[3] = {sep, pad, pre};
    wisp_gen_params gp = {
        .sampling = {.temperature = (float)q->temperature,
                     .top_k = q->top_k > 0 ? (uint32_t)q->top_k : 0,
                     .top_p = (float)q->top_p,
                     .seed = (uint64_t)q->seed},
        .max_tokens = (uint32_t)max_tokens,
        .time_budget_ms = q->time_ms > 0 && q->time_ms < (double)s->cfg.time_ms ? q->time_ms : (double)s->cfg.time_ms,
        .stop_tokens = stops,
        .n_stop_tokens = 3,
        .stop_strings = q->stop,
        .n_stop_strings = q->n_stop,
        .on_token = serve__on_token,
        .user = watch,
    };
    wisp_gen_result r;
    rc = wisp_ctx_generate(w->raw, ids, nids, &gp, &r, err);
    free(ids);
    if (rc) return rc;
    if (watch->cancelled) {
        err->code = WISP_ERR_CANCELLED;
        snprintf(err->message, sizeof err->message, "the client went away");
        return WISP_ERR_CANCELLED;
    }
    out->text = malloc(r.text_len + 1);
    if (!out->text) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return err->code = WISP_ERR_NO_MEMORY;
    }
    memcpy(out->text, r.text, r.text_len);
    out->text[r.text_len] = '\0';
    out->text_len = r.text_len;
    out->mode = "fim";
    out->lang = WISP_LANG_NONE;
    out->stop = r.stop;
    if (r.stop == WISP_STOP_STRING && q->n_stop == 1) out->stop_word = q->stop[0]; /* else: one of them */
    out->n_prompt = (unsigned)r.n_prompt;
    out->n_reused = (unsigned)r.n_reused;
    out->n_generated = (unsigned)r.n_tokens;
    out->prompt_ms = r.prefill_ms;
    out->predict_ms = r.decode_ms;
    return WISP_OK;
}

/* Waits for a free worker (noticing a client that leaves meanwhile), runs the request on it,
 * hands it back. Returns an HTTP status: 200, 503 (queue full), 499 (client gone), 400 or 500. */
static unsigned serve__run(serve_state *s, const serve_req *q, int fd, serve_out *out, char *msg, size_t cap) {
    memset(out, 0, sizeof *out);
    serve_watch watch = {.fd = fd};
    pthread_mutex_lock(&s->mu);
    if (s->in_flight >= s->cfg.queue) {
        s->n_rejected++;
        pthread_mutex_unlock(&s->mu);
        snprintf(msg, cap, "server busy: %lld requests waiting or running (--queue)", s->cfg.queue);
        return 503;
    }
    s->in_flight++;
    int wi = -1;
    for (long long i = 0; i < s->cfg.threads && wi < 0 && !s->wait_head; i++)
        if (!s->workers[i].busy) wi = (int)i;
    if (wi >= 0) {
        s->workers[wi].busy = true;
        s->processing++;
    } else { /* join the line; serve__release hands a worker to its head */
        serve_waiter me = {.worker = -1};
        *(s->wait_head ? &s->wait_tail->next : &s->wait_head) = &me;
        s->wait_tail = &me;
        while (me.worker < 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            if (me.worker < 0 && serve__gone(fd)) { /* leave the line */
                serve_waiter **pp = &s->wait_head, *prev = NULL;
                while (*pp != &me) {
                    prev = *pp;
                    pp = &(*pp)->next;
                }
                *pp = me.next;
                if (s->wait_tail == &me) s->wait_tail = prev;
                s->in_flight--;
                s->n_cancelled++;
                pthread_mutex_unlock(&s->mu);
                snprintf(msg, cap, "the client went away");
                return 499;
            }
        }
        wi = me.worker;
    }
    pthread_mutex_unlock(&s->mu);

    serve_worker *w = &s->workers[wi];
    wisp_error err = {0};
    wisp_lang lang = serve_request_lang(q);
    double t0 = wisp_now_ms();
    wisp_status st;
    if (q->n_predict == 0) { /* llama.vscode's cache warm-up asks for nothing: answer nothing */
        out->text = strdup("");
        out->mode = "none";
        st = out->text ? WISP_OK : WISP_ERR_NO_MEMORY;
    } else if (lang != WISP_LANG_NONE) {
        st = serve__complete(s, w, q, lang, &watch, out, &err);
        if (st == WISP_OK) serve__apply_stop(out, q);
    } else {
        st = serve__fim(s, w, q, &watch, out, &err);
    }
    out->total_ms = wisp_now_ms() - t0;
    out->worker = wi;

    pthread_mutex_lock(&s->mu);
    s->in_flight--;
    if (st == WISP_ERR_CANCELLED || watch.cancelled) s->n_cancelled++;
    else if (st == WISP_OK) s->n_completions++;
    serve_waiter *next = s->wait_head;
    if (next) { /* first come, first served: the worker goes to the head of the line */
        s->wait_head = next->next;
        if (!s->wait_head) s->wait_tail = NULL;
        next->worker = wi;
        pthread_cond_broadcast(&s->cv);
    } else {
        w->busy = false;
        s->processing--;
    }
    pthread_mutex_unlock(&s->mu);

    if (st == WISP_OK && !watch.cancelled) return 200;
    free(out->text);
    out->text = NULL;
    snprintf(msg, cap, "%s", st == WISP_OK || st == WISP_ERR_CANCELLED ? "the client went away" : err.message);
    if (st == WISP_OK || st == WISP_ERR_CANCELLED) return 499;
    return serve_status_of(st);
}

/* ---- Answers ---------------------------------------------------------------------------------- */

static json_t *serve__timings(const serve_out *o) {
    unsigned pn = o->n_prompt - o->n_reused;
    return json_pack("{s:i,s:f,s:f,s:f,s:i,s:f,s:f,s:f}", "prompt_n", (int)pn, "prompt_ms", o->prompt_ms,
                     "prompt_per_token_ms", pn ? o->prompt_ms / pn : 0.0, "prompt_per_second",
                     o->prompt_ms > 0 ? pn * 1e3 / o->prompt_ms : 0.0, "predicted_n", (int)o->n_generated,
                     "predicted_ms", o->predict_ms, "predicted_per_token_ms",
                     o->n_generated ? o->predict_ms / o->n_generated : 0.0, "predicted_per_second",
                     o->predict_ms > 0 ? o->n_generated * 1e3 / o->predict_ms : 0.0);
}

static json_t *serve__infill_answer(serve_state *s, const serve_req *q, const serve_out *o) {
    json_t *a = json_object();
    json_object_set_new(a, "content", serve_jstr(o->text, o->text_len));
    json_object_set_new(a, "id_slot", json_integer(o->worker));
    json_object_set_new(a, "stop", json_true());
    json_object_set_new(a, "model", json_string(s->model_id));
    json_object_set_new(a, "tokens_predicted", json_integer(o->n_generated));
    json_object_set_new(a, "tokens_evaluated", json_integer(o->n_prompt));
    json_object_set_new(a, "tokens_cached", json_integer(o->n_reused));
    json_object_set_new(a, "has_new_line", json_boolean(memchr(o->text, '\n', o->text_len) != NULL));
    json_object_set_new(a, "truncated", json_boolean(o->truncated));
    json_object_set_new(a, "stopped_eos", json_boolean(o->stop == WISP_STOP_TOKEN));
    json_object_set_new(a, "stopped_word", json_boolean(o->stop == WISP_STOP_STRING));
    json_object_set_new(a, "stopped_limit", json_boolean(o->stop == WISP_STOP_MAX_TOKENS));
    json_object_set_new(a, "stopping_word", json_string(o->stop_word ? o->stop_word : ""));
    json_object_set_new(a, "timings", serve__timings(o));
    json_object_set_new(a, "wisp", json_pack("{s:s,s:s,s:f}", "mode", o->mode, "lang", wisp_lang_name(o->lang),
                                             "total_ms", o->total_ms));
    return a;
}

static json_t *serve__openai_answer(serve_state *s, const serve_out *o, unsigned long long id) {
    char idbuf[48];
    snprintf(idbuf, sizeof idbuf, "cmpl-wisp-%llu", id);
    const char *finish = o->stop == WISP_STOP_MAX_TOKENS || o->stop == WISP_STOP_TIME ? "length" : "stop";
    json_t *choice = json_object();
    json_object_set_new(choice, "text", serve_jstr(o->text, o->text_len));
    json_object_set_new(choice, "index", json_integer(0));
    json_object_set_new(choice, "logprobs", json_null());
    json_object_set_new(choice, "finish_reason", json_string(finish));
    return json_pack("{s:s,s:s,s:I,s:s,s:[o],s:{s:i,s:i,s:i}}", "id", idbuf, "object", "text_completion", "created",
                     (json_int_t)time(NULL), "model", s->model_id, "choices", choice, "usage", "prompt_tokens",
                     (int)o->n_prompt, "completion_tokens", (int)o->n_generated, "total_tokens",
                     (int)(o->n_prompt + o->n_generated));
}

/* ---- The request handler ---------------------------------------------------------------------- */

/* What libmicrohttpd keeps for us between the calls of one request: the body so far. */
typedef struct serve_conn {
    char *body;
    size_t len, cap;
    bool too_big;
} serve_conn;

static bool serve__authorized(serve_state *s, struct MHD_Connection *c) {
    if (!s->cfg.api_key) return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7)) return false;
    h += 7;
    size_t a = strlen(h), b = strlen(s->cfg.api_key);
    unsigned char diff = (unsigned char)(a != b);
    for (size_t i = 0; i < a && i < b; i++) diff |= (unsigned char)(h[i] ^ s->cfg.api_key[i]); /* same time */
    return diff == 0;
}

/* A browser's CORS preflight from an allowed origin: the methods and headers the endpoints take;
 * and Chromium's private network access check, for pages elsewhere calling this machine. */
static enum MHD_Result serve__preflight(struct MHD_Connection *c, const char *origin) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    if (origin) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        MHD_add_response_header(r, "Access-Control-Max-Age", "600");
        const char *pna = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Private-Network");
        if (pna && !strcmp(pna, "true")) MHD_add_response_header(r, "Access-Control-Allow-Private-Network", "true");
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, POST, OPTIONS");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve__handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                     const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    serve_state *s = cls;
    serve_conn *k = *con_cls;
    if (!k) { /* first call: headers only */
        k = calloc(1, sizeof *k);
        if (!k) return MHD_NO;
        *con_cls = k;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        if (!k->too_big && k->len + *upload_size > (size_t)s->cfg.max_body) k->too_big = true;
        if (!k->too_big) {
            if (k->len + *upload_size + 1 > k->cap) {
                size_t cap = (k->len + *upload_size + 1) * 2;
                if (cap > (size_t)s->cfg.max_body + 1) cap = (size_t)s->cfg.max_body + 1;
                char *grown = realloc(k->body, cap);
                if (!grown) return MHD_NO;
                k->body = grown;
                k->cap = cap;
            }
            memcpy(k->body + k->len, upload, *upload_size);
            k->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* the whole request is in */
    pthread_mutex_lock(&s->mu);
    s->n_requests++;
    unsigned long long id = ++s->next_id;
    pthread_mutex_unlock(&s->mu);
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    enum { P_HEALTH, P_MODELS, P_INFILL, P_OPENAI, P_NONE } path =
        !strcmp(url, "/health")                                      ? P_HEALTH
        : !strcmp(url, "/v1/models") || !strcmp(url, "/models")      ? P_MODELS
        : !strcmp(url, "/infill")                                    ? P_INFILL
        : !strcmp(url, "/v1/completions") || !strcmp(url, "/completions") ? P_OPENAI
                                                                     : P_NONE;
    if (path == P_NONE) return serve__error(s, c, MHD_HTTP_NOT_FOUND, "no such endpoint");
    /* Browsers: a page whose origin --cors does not allow gets nothing computed for it. */
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (origin && !serve__origin_allowed(&s->cfg, origin)) {
        char m[200];
        snprintf(m, sizeof m, "origin %.100s is not allowed (wisp serve --cors)", origin);
        return serve__error(s, c, MHD_HTTP_FORBIDDEN, m);
    }
    if (!strcmp(method, "OPTIONS")) return serve__preflight(c, origin);
    if ((path <= P_MODELS && !get) || (path >= P_INFILL && !post))
        return serve__error(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, path <= P_MODELS ? "use GET" : "use POST");
    if (path == P_HEALTH) {
        pthread_mutex_lock(&s->mu);
        json_t *h = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "status", "ok", "slots_idle",
                              (json_int_t)(s->cfg.threads - s->processing), "slots_processing",
                              (json_int_t)s->processing, "requests_waiting", (json_int_t)(s->in_flight - s->processing),
                              "requests", (json_int_t)s->n_requests, "completions", (json_int_t)s->n_completions,
                              "cancelled", (json_int_t)s->n_cancelled, "rejected", (json_int_t)s->n_rejected);
        pthread_mutex_unlock(&s->mu);
        return serve__send(s, c, MHD_HTTP_OK, h);
    }
    if (!serve__authorized(s, c)) return serve__error(s, c, MHD_HTTP_UNAUTHORIZED, "missing or wrong API key");
    if (path == P_MODELS)
        return serve__send(s, c, MHD_HTTP_OK,
                           json_pack("{s:s,s:[{s:s,s:s,s:I,s:s}]}", "object", "list", "data", "id", s->model_id,
                                     "object", "model", "created", (json_int_t)s->started, "owned_by", "wisp"));
    if (k->too_big) {
        char m[96];
        snprintf(m, sizeof m, "the request body is larger than %lld bytes (--max-body)", s->cfg.max_body);
        return serve__error(s, c, MHD_HTTP_CONTENT_TOO_LARGE, m);
    }
    json_t *o;
    serve_req q;
    char msg[256] = "";
    if (serve_request_parse(k->body, k->len, path == P_INFILL, &o, &q, msg, sizeof msg) != 200)
        return serve__error(s, c, MHD_HTTP_BAD_REQUEST, msg);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    serve_out out;
    unsigned status = serve__run(s, &q, ci ? ci->connect_fd : -1, &out, msg, sizeof msg);
    enum MHD_Result ret;
    if (status == 499) ret = MHD_NO; /* nobody to answer: close the connection */
    else if (status != 200) ret = serve__error(s, c, status, msg);
    else ret = serve__send(s, c, MHD_HTTP_OK, path == P_INFILL ? serve__infill_answer(s, &q, &out)
                                                          : serve__openai_answer(s, &out, id));
    free(out.text);
    json_decref(o);
    return ret;
}

static void serve__completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t) {
    serve_conn *k = *con_cls;
    if (k) {
        free(k->body);
        free(k);
        *con_cls = NULL;
    }
}

/* ---- Start and stop --------------------------------------------------------------------------- */

static int serve__args(int argc, char **argv, serve_cfg *c) {
    *c = (serve_cfg){.host = "127.0.0.1", .port = 8012, .threads = 1, .max_body = 1 << 20, .queue = 32,
                     .time_ms = 10000, .budget = 512};
    const char *env = getenv("WISP_API_KEY");
    if (env && *env) c->api_key = env;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(serve_usage, stdout);
            return -1;
        }
        if (!v || a[0] != '-') {
            fprintf(stderr, "wisp: unexpected argument '%s'\n%s", a, serve_usage);
            return 2;
        }
        i++;
        long long *num = !strcmp(a, "--port")       ? &c->port
                         : !strcmp(a, "--threads")  ? &c->threads
                         : !strcmp(a, "--max-body") ? &c->max_body
                         : !strcmp(a, "--queue")    ? &c->queue
                         : !strcmp(a, "--time-ms")  ? &c->time_ms
                         : !strcmp(a, "--budget")   ? &c->budget
                         : !strcmp(a, "--ctx")      ? &c->n_ctx
                                                    : NULL;
        if (!strcmp(a, "--model")) c->model = v;
        else if (!strcmp(a, "--host")) c->host = v;
        else if (!strcmp(a, "--api-key")) c->api_key = *v ? v : NULL;
        else if (!strcmp(a, "--cors")) c->cors = v;
        else if (!num) {
            fprintf(stderr, "wisp: unknown option %s\n%s", a, serve_usage);
            return 2;
        } else if (!cli_parse_count(v, num)) {
            fprintf(stderr, "wisp: %s needs a number, not '%s'\n", a, v);
            return 2;
        }
    }
    if (c->port > 65535 || c->threads < 1 || c->threads > 64 || c->queue < 1 || c->max_body < 1 ||
        c->budget < 16 || c->time_ms < 1) {
        fprintf(stderr, "wisp: out of range: --port 0..65535, --threads 1..64, --queue >= 1, --max-body >= 1, "
                        "--budget >= 16, --time-ms >= 1\n");
        return 2;
    }
    return 0;
}

static void serve__free(serve_state *s) {
    if (s->workers)
        for (long long i = 0; i < s->cfg.threads; i++) {
            wisp_ctx_free(s->workers[i].raw);
            wisp_engine_free(s->workers[i].engine);
        }
    free(s->workers);
    cli_file_free(&s->model_file);
}

int cmd_serve(int argc, char **argv) {
    serve_state s;
    memset(&s, 0, sizeof s);
    int rc = serve__args(argc, argv, &s.cfg);
    if (rc) return rc < 0 ? 0 : rc;
    const char *model_path = cli_model_path(s.cfg.model);
    if (cli_file_read(model_path, &s.model_file)) return 1;
    const char *base = strrchr(model_path, '/');
    snprintf(s.model_id, sizeof s.model_id, "%s", base ? base + 1 : model_path);
    s.workers = calloc((size_t)s.cfg.threads, sizeof *s.workers);
    if (!s.workers) return 1;
    wisp_engine_params ep = {.n_ctx = (uint32_t)s.cfg.n_ctx};
    for (long long i = 0; i < s.cfg.threads; i++) {
        wisp_error err;
        s.workers[i].engine = wisp_engine_new(s.model_file.data, s.model_file.size, &ep, &err);
        wisp_ctx_params cp = {.n_ctx = (uint32_t)s.cfg.n_ctx};
        if (s.workers[i].engine)
            s.workers[i].raw = wisp_ctx_new(wisp_engine_model(s.workers[i].engine), &cp, &err);
        if (!s.workers[i].raw) {
            serve__free(&s);
            return cli_fail(model_path, &err);
        }
    }
    s.started = time(NULL);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);

    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     MHD_USE_POLL;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, s.cfg.host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)s.cfg.port);
    } else if (inet_pton(AF_INET6, s.cfg.host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)s.cfg.port);
        flags |= MHD_USE_IPv6;
    } else {
        fprintf(stderr, "wisp: --host %s: not an IPv4 or IPv6 address\n", s.cfg.host);
        serve__free(&s);
        return 2;
    }
    /* SIGINT/SIGTERM end the server through sigwait below; a dead client's socket must not. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* before any thread starts: they inherit the mask */
    unsigned conn_limit = (unsigned)(s.cfg.queue * 2 + 16);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s.cfg.port, NULL, NULL, serve__handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, serve__completed, &s, MHD_OPTION_CONNECTION_LIMIT, conn_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "wisp: cannot listen on %s port %lld: %s\n", s.cfg.host, s.cfg.port, strerror(errno));
        serve__free(&s);
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : (unsigned)s.cfg.port;
    fprintf(stderr, "wisp serve: listening on http://%s%s%s:%u (model %s, %lld worker%s)\n",
            flags & MHD_USE_IPv6 ? "[" : "", s.cfg.host, flags & MHD_USE_IPv6 ? "]" : "", port, s.model_id,
            s.cfg.threads, s.cfg.threads == 1 ? "" : "s");
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "wisp serve: stopping (signal %d)\n", sig);
    MHD_stop_daemon(d); /* joins every connection thread: no request is running after it */
    serve__free(&s);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    return 0;
}
