/* Internal: pieces of the completion engine (complete.c) that tests look at. The public API is
 * wisp.h section 8. */
#ifndef WISP_COMPLETE_H
#define WISP_COMPLETE_H

#include "trim.h"
#include "wisp.h"

/* The answer shape a context mode asks for, given the cursor line before and after the cursor
 * (NONE never reaches the model). */
trim_shape complete_shape_of(wisp_mode mode, wisp_str line_prefix, wisp_str line_suffix);

#endif
