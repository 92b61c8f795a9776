/* Internal: filling a wisp_error. Every failing path in the engine goes through wisp__fail. */
#ifndef WISP_ERROR_H
#define WISP_ERROR_H

#include "wisp.h"

/* Sets err (if not NULL) to `code` with a printf-style message; returns `code`. */
wisp_status wisp__fail(wisp_error *err, wisp_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets err (if not NULL) to WISP_OK with an empty message. */
void wisp__clear(wisp_error *err);

#endif
