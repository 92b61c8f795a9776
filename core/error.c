/* Error values: the one place that formats wisp_error messages and names status codes. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

const char *wisp_status_name(wisp_status code) {
    switch (code) {
    case WISP_OK: return "ok";
    case WISP_ERR_INVALID_ARG: return "invalid argument";
    case WISP_ERR_NO_MEMORY: return "out of memory";
    case WISP_ERR_BAD_MODEL: return "bad model";
    case WISP_ERR_UNSUPPORTED: return "unsupported";
    case WISP_ERR_TOKENIZER: return "tokenizer error";
    case WISP_ERR_RANGE: return "out of range";
    case WISP_ERR_CONTEXT_FULL: return "context full";
    case WISP_ERR_LANGUAGE: return "unknown language";
    case WISP_ERR_CANCELLED: return "cancelled";
    case WISP_ERR_LOADING: return "model still loading";
    }
    return "unknown error";
}

wisp_status wisp__fail(wisp_error *err, wisp_status code, const char *fmt, ...) {
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void wisp__clear(wisp_error *err) {
    if (err) {
        err->code = WISP_OK;
        err->message[0] = '\0';
    }
}
