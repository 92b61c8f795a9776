/* Internal: pieces of the completion engine (complete.c) that tests look at. The public API is
 * wisp_grammar.h section 2. */
#ifndef WISP_COMPLETE_H
#define WISP_COMPLETE_H

#include "trim.h"
#include "wisp_grammar.h"

/* The answer shape a context mode asks for, given the cursor line before and after the cursor
 * (NONE never reaches the model). */
trim_shape complete_shape_of(wisp_mode mode, wisp_str line_prefix, wisp_str line_suffix);

/* Orders candidates best first: fewer syntax errors near the insertion (so parsing ones first),
 * then a higher mean log-probability per token, then the order they came in (greedy first).
 * `texts` (may be NULL) is permuted alongside. */
void complete_rank(wisp_candidate *cands, char **texts, size_t n);

/* The mean of logprobs[0..n) over the tokens that the kept answer (keep_len bytes after heal_len
 * healed bytes) still holds: a token is kept while the bytes before it are fewer than
 * heal_len + keep_len; at least the first. 0 when n is 0. */
float complete_mean_logprob(const wisp_tokenizer *tok, const int32_t *tokens, const float *logprobs, size_t n,
                            size_t heal_len, size_t keep_len);

#endif
