/*
 * x86-64 AVX2 (+FMA, F16C) kernels: the native build's hot paths. Quantized weights multiply
 * int8 activations with maddubs/madd (exact int32 per 32-block, as llama.cpp), float weights use
 * FMA. Every matmul runs in tiles of AVX2__R rows by up to AVX2__T tokens (AVX2__TF for float
 * weights), so each weight block is loaded (and unpacked) once per tile of tokens, not once per
 * token; decode is the T = 1 tile.
 */
#include "kernels.h"

#if defined(__AVX2__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "x86.h"

/* Rows by tokens of one tile: the accumulators plus the rows' weights should fit in the 16 ymm
 * registers. Measured with bench/kernels: quantized 4x3; float 4x2 (f16 prompt 37 GMAC/s, against
 * 23 for 4x3, which spills). */
#define AVX2__R 4
#define AVX2__T 3
#define AVX2__TF 2
/* How far ahead decode prefetches weights, in rows, and into which cache level: L2 (hint T2), 16
 * rows ahead, brought a 71 MB Q8_0 matrix from 7.8 to 21.6 GMAC/s (~23 GB/s, the machine's
 * single-core streaming rate); into L1 (T0) at any distance stayed below 8.5. */
#define AVX2__PREFETCH_ROWS 16
/* Tile loops fully unrolled, so the accumulators and weights stay in registers. */
#define AVX2__UNROLL _Pragma("GCC unroll 4")

/* Sum of the 8 lanes (once per output, after a tile's loop). */
static inline float avx2__hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Largest of the 8 lanes. */
static inline float avx2__hmax(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* ---- activations to Q8_0 ---------------------------------------------------------------------- */

/* roundf (halves away from zero) on 8 floats, exactly: trunc, then step away from zero when the
 * dropped part is >= 0.5 (v - trunc(v) is exact). _mm256_round_ps alone would round ties to even
 * and differ from the reference quantizer. */
static inline __m256 avx2__roundf(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), step));
}

/* The activations of n_tok tokens as Q8_0, split for aligned loads: qs (n_tok, n_cols) int8 and d
 * (n_tok, nb) float (the half-rounded scale the reference uses). Bit-identical to
 * wisp_quantize_row_q8_0; with plus128, stored as x + 128 (x ^ 0x80) for kernels/vnni.c. */
static void avx2__quantize_x(const float *X, size_t n_tok, size_t n_cols, int8_t *qs, float *d, bool plus128) {
    const __m256i flip = _mm256_set1_epi8(plus128 ? (char)0x80 : 0);
    const size_t nb = n_cols / QK8_0;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (size_t t = 0; t < n_tok; t++) {
        for (size_t b = 0; b < nb; b++) {
            const float *x = X + t * n_cols + b * QK8_0;
            __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
            __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
            __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                                     _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
            const float amax = avx2__hmax(m);
            const float dd = amax / 127.0f;
            const float id = dd != 0.0f ? 1.0f / dd : 0.0f;
            d[t * nb + b] = _cvtsh_ss(_cvtss_sh(dd, 0)); /* nearest even, as wisp_f32_to_f16 */
            const __m256 idv = _mm256_set1_ps(id);
            __m256i i0 = _mm256_cvtps_epi32(avx2__roundf(_mm256_mul_ps(v0, idv)));
            __m256i i1 = _mm256_cvtps_epi32(avx2__roundf(_mm256_mul_ps(v1, idv)));
            __m256i i2 = _mm256_cvtps_epi32(avx2__roundf(_mm256_mul_ps(v2, idv)));
            __m256i i3 = _mm256_cvtps_epi32(avx2__roundf(_mm256_mul_ps(v3, idv)));
            /* packs work per 128-bit lane; the permute puts the 32 bytes back in order */
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            p = _mm256_xor_si256(_mm256_permutevar8x32_epi32(p, perm), flip);
            _mm256_storeu_si256((__m256i *)(qs + t * n_cols + b * QK8_0), p);
        }
    }
}

/* ---- quantized tiles -------------------------------------------------------------------------- */

/* acc + the sums of each 4 adjacent products u * s (u unsigned, s signed bytes) per int32 lane:
 * one VPDPBUSD with AVX512-VNNI, else maddubs (int16 pairs; callers keep |u * s| pairs below
 * 2^15) and madd with ones. */
static inline __m256i avx2__dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

/* One tile: rows r0..r0+nr of W (Q8_0 or Q4_0) times tokens t0..t0+nt of the quantized
 * activations; madd sums maddubs' int16 pairs to exact int32. maddubs needs one unsigned operand:
 * Q8_0 uses |w| times x with w's sign (|w| <= 128, |x| <= 127: no int16 saturation); Q4_0 uses its
 * nibbles q in [0, 15] as they are and subtracts 8 * x lane by lane (sum (q - 8) x, exactly), which
 * saves unpacking work per weight block (decode ~15% faster than sign-extending the nibbles). nr
 * <= R, nt <= T are compile-time constants at every call site, so the loops unroll. */
static inline __attribute__((always_inline)) void avx2__tile_q(
    bool q4, const uint8_t *W, size_t row_bytes, size_t r0, int nr, size_t n_rows, const int8_t *xqs,
    const float *xd, size_t n_cols, size_t t0, int nt, float *Y) {
    const size_t nb = n_cols / QK8_0;
    __m256 acc[AVX2__R][AVX2__T];
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < nt; t++) acc[r][t] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        __m256i w[AVX2__R], aw[AVX2__R];
        __m256 dw[AVX2__R];
        AVX2__UNROLL for (int r = 0; r < nr; r++) {
            const uint8_t *blk = W + (r0 + r) * row_bytes + b * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
            /* decode streams each weight once: fetch the block AVX2__PREFETCH_ROWS rows ahead, since
             * short rows (a 512-column head: 544 bytes) end each stream before the hardware
             * prefetcher locks on */
            if (nt == 1) _mm_prefetch((const char *)blk + AVX2__PREFETCH_ROWS * row_bytes, _MM_HINT_T2);
            wisp_f16 h;
            memcpy(&h, blk, 2);
            dw[r] = _mm256_set1_ps(_cvtsh_ss(h)); /* F16C: exact, as wisp_f16_to_f32 */
            if (q4) {
                const __m128i bb = _mm_loadu_si128((const __m128i *)(blk + 2));
                w[r] = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bb, 4), _mm_set1_epi8(0x0f)),
                                        _mm_and_si128(bb, _mm_set1_epi8(0x0f)));
                aw[r] = w[r];
            } else {
                w[r] = _mm256_loadu_si256((const __m256i *)(blk + 2));
                aw[r] = _mm256_sign_epi8(w[r], w[r]);
            }
        }
        AVX2__UNROLL for (int t = 0; t < nt; t++) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(xqs + (t0 + t) * n_cols + b * QK8_0));
            const __m256 dx = _mm256_broadcast_ss(xd + (t0 + t) * nb + b);
            /* Q4_0: each int32 lane starts at -8 * (its 4 x's), so adding q * x gives (q - 8) x */
            __m256i start = _mm256_setzero_si256();
            if (q4) start = _mm256_sub_epi32(start, avx2__dot_u8s8(_mm256_setzero_si256(), _mm256_set1_epi8(8), x));
            AVX2__UNROLL for (int r = 0; r < nr; r++) {
                const __m256i p32 = q4 ? avx2__dot_u8s8(start, w[r], x)
                                       : avx2__dot_u8s8(start, aw[r], _mm256_sign_epi8(x, w[r]));
                const __m256 p = _mm256_cvtepi32_ps(p32);
                acc[r][t] = _mm256_fmadd_ps(p, _mm256_mul_ps(dw[r], dx), acc[r][t]);
            }
        }
    }
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < nr; r++) Y[(t0 + t) * n_rows + r0 + r] = avx2__hsum(acc[r][t]);
}

/* Rows per chunk: the weights of a chunk (about 32 KB, at least one row tile) stay in L1/L2 while
 * every token tile passes over them, so each weight byte comes from memory once per call. */
static size_t avx2__chunk_rows(size_t row_bytes) {
    size_t n = (32768 / (row_bytes ? row_bytes : 1)) / AVX2__R * AVX2__R;
    return n < AVX2__R ? AVX2__R : n;
}

/* Runs the whole matrix in tiles; remainders get the same code with smaller constants. */
static inline __attribute__((always_inline)) void avx2__matmul_q(
    bool q4, const void *W, size_t n_rows, size_t n_cols, size_t n_tok, const int8_t *xqs,
    const float *xd, float *Y) {
    const size_t row_bytes = n_cols / QK8_0 * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    const size_t chunk = avx2__chunk_rows(row_bytes);
    const uint8_t *w = W;
#define AVX2__TILE(NR, NT) avx2__tile_q(q4, w, row_bytes, r, NR, n_rows, xqs, xd, n_cols, t, NT, Y)
    for (size_t rc = 0; rc < n_rows; rc += chunk) {
        const size_t r_end = n_rows - rc < chunk ? n_rows : rc + chunk;
        for (size_t t = 0; t < n_tok;) {
            const size_t left = n_tok - t;
            const int nt = left >= AVX2__T ? AVX2__T : (int)left;
            size_t r = rc;
            for (; r + AVX2__R <= r_end; r += AVX2__R) {
                if (nt == 3) AVX2__TILE(4, 3);
                else if (nt == 2) AVX2__TILE(4, 2);
                else AVX2__TILE(4, 1);
            }
            for (; r < r_end; r++) {
                if (nt == 3) AVX2__TILE(1, 3);
                else if (nt == 2) AVX2__TILE(1, 2);
                else AVX2__TILE(1, 1);
            }
            t += (size_t)nt;
        }
    }
#undef AVX2__TILE
}

/* ---- float tiles ------------------------------------------------------------------------------ */

/* 8 weights of row `w` (type wt) at column c as floats: exact conversions. */
static inline __m256 avx2__load_w8(wisp_dtype wt, const void *w, size_t c) {
    if (wt == WISP_DTYPE_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const wisp_f16 *)w + c)));
    if (wt == WISP_DTYPE_BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const wisp_bf16 *)w + c))), 16));
    return _mm256_loadu_ps((const float *)w + c);
}

/* One weight as float, for the n_cols % 8 tail. */
static inline float avx2__w1(wisp_dtype wt, const void *w, size_t c) {
    if (wt == WISP_DTYPE_F16) return wisp_f16_to_f32(((const wisp_f16 *)w)[c]);
    if (wt == WISP_DTYPE_BF16) return wisp_bf16_to_f32(((const wisp_bf16 *)w)[c]);
    return ((const float *)w)[c];
}

/* Float tile: rows[0..nr) (each of type wt) times tokens t0..t0+nt; 8 columns per step, the
 * n_cols % 8 tail in scalar. Decode prefetches `ahead` bytes past each row's columns (the rows
 * AVX2__PREFETCH_ROWS further on), as the quantized tiles do; 0 for rows already in cache. */
static inline __attribute__((always_inline)) void avx2__tile_f(
    wisp_dtype wt, const void *const *rows, size_t r0, int nr, size_t n_rows, const float *X,
    size_t n_cols, size_t t0, int nt, float *Y, size_t ahead) {
    const size_t elem = wt == WISP_DTYPE_F32 ? 4 : 2;
    __m256 acc[AVX2__R][AVX2__TF];
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < nt; t++) acc[r][t] = _mm256_setzero_ps();
    size_t c = 0;
    for (; c + 8 <= n_cols; c += 8) {
        __m256 w[AVX2__R];
        if (nt == 1 && ahead && (c * elem) % 64 == 0) /* once per cache line */
            AVX2__UNROLL for (int r = 0; r < nr; r++)
                _mm_prefetch((const char *)rows[r] + c * elem + ahead, _MM_HINT_T2);
        AVX2__UNROLL for (int r = 0; r < nr; r++) w[r] = avx2__load_w8(wt, rows[r], c);
        AVX2__UNROLL for (int t = 0; t < nt; t++) {
            const __m256 x = _mm256_loadu_ps(X + (t0 + t) * n_cols + c);
            AVX2__UNROLL for (int r = 0; r < nr; r++) acc[r][t] = _mm256_fmadd_ps(w[r], x, acc[r][t]);
        }
    }
    for (int t = 0; t < nt; t++) {
        for (int r = 0; r < nr; r++) {
            float s = avx2__hsum(acc[r][t]);
            for (size_t k = c; k < n_cols; k++) s += avx2__w1(wt, rows[r], k) * X[(t0 + t) * n_cols + k];
            Y[(t0 + t) * n_rows + r0 + r] = s;
        }
    }
}

/* ---- float panels (prompts) ------------------------------------------------------------------- */

/* Rows of a float panel and tokens of its tile: 2 x 6 accumulators, 2 weight vectors and a
 * broadcast in the 16 ymm registers. */
#define AVX2__PR 16
#define AVX2__PT 6
#define AVX2__UNROLL_PT _Pragma("GCC unroll 8")
_Static_assert(AVX2__PR <= WISP_MATMUL_ROWS_CONVERTED, "panel fits the float scratch");

/* Rows r0..r0+nr (nr <= 16; missing rows are zeros) of W, type wt, as floats transposed into
 * `panel`: column c's 16 weights at panel[c * 16]. */
static void avx2__pack_f(wisp_dtype wt, const void *W, size_t row_bytes, size_t r0, size_t nr, size_t n_cols,
                         float *panel) {
    for (size_t h = 0; h < 2; h++) {
        const void *rows[8];
        for (size_t i = 0; i < 8; i++)
            rows[i] = h * 8 + i < nr ? (const uint8_t *)W + (r0 + h * 8 + i) * row_bytes : NULL;
        size_t c = 0;
        for (; c + 8 <= n_cols; c += 8) {
            __m256 v[8];
            for (int i = 0; i < 8; i++) v[i] = rows[i] ? avx2__load_w8(wt, rows[i], c) : _mm256_setzero_ps();
            wisp__transpose8x32(v);
            for (int j = 0; j < 8; j++) _mm256_store_ps(panel + (c + j) * AVX2__PR + h * 8, v[j]);
        }
        for (; c < n_cols; c++)
            for (size_t i = 0; i < 8; i++) panel[c * AVX2__PR + h * 8 + i] = rows[i] ? avx2__w1(wt, rows[i], c) : 0.0f;
    }
}

/* Tokens t0..t0+nt (nt <= AVX2__PT, constant at each call site) times one panel of nr rows: one
 * broadcast activation per column feeds 16 rows' FMAs; no horizontal sums. */
static inline __attribute__((always_inline)) void avx2__tile_pf(const float *panel, size_t n_cols, const float *X,
                                                                size_t t0, int nt, float *Y, size_t n_rows,
                                                                size_t r0, size_t nr) {
    __m256 acc[2][AVX2__PT];
    AVX2__UNROLL_PT for (int t = 0; t < nt; t++) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
    for (size_t c = 0; c < n_cols; c++) {
        const __m256 w0 = _mm256_load_ps(panel + c * AVX2__PR), w1 = _mm256_load_ps(panel + c * AVX2__PR + 8);
        AVX2__UNROLL_PT for (int t = 0; t < nt; t++) {
            const __m256 x = _mm256_broadcast_ss(X + (t0 + t) * n_cols + c);
            acc[0][t] = _mm256_fmadd_ps(w0, x, acc[0][t]);
            acc[1][t] = _mm256_fmadd_ps(w1, x, acc[1][t]);
        }
    }
    AVX2__UNROLL_PT for (int t = 0; t < nt; t++) {
        float *y = Y + (t0 + t) * n_rows + r0;
        if (nr == AVX2__PR) {
            _mm256_storeu_ps(y, acc[0][t]);
            _mm256_storeu_ps(y + 8, acc[1][t]);
        } else {
            float tmp[AVX2__PR];
            _mm256_storeu_ps(tmp, acc[0][t]);
            _mm256_storeu_ps(tmp + 8, acc[1][t]);
            memcpy(y, tmp, nr * sizeof(float));
        }
    }
}

/* Float weights times n_tok >= AVX2__PT tokens: panels of 16 rows (converted once per call, in
 * scratch) times tiles of 6 tokens. For the attention's short rows (head_dim 64, 32-key value
 * blocks) the row tiles spent most of their time in horizontal sums; this has none. */
static void avx2__matmul_pf(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                            size_t n_tok, float *Y, void *scratch) {
    float *panel = wisp__scratch_align(scratch); /* (n_cols, 16) */
    const size_t row_bytes = wisp_row_bytes(wt, n_cols);
    for (size_t r0 = 0; r0 < n_rows; r0 += AVX2__PR) {
        const size_t nr = n_rows - r0 < AVX2__PR ? n_rows - r0 : AVX2__PR;
        avx2__pack_f(wt, W, row_bytes, r0, nr, n_cols, panel);
        for (size_t t = 0; t < n_tok;) {
            const size_t left = n_tok - t;
#define AVX2__TILE(NT) avx2__tile_pf(panel, n_cols, X, t, NT, Y, n_rows, r0, nr)
            switch (left >= AVX2__PT ? AVX2__PT : left) {
            case 6: AVX2__TILE(6); break;
            case 5: AVX2__TILE(5); break;
            case 4: AVX2__TILE(4); break;
            case 3: AVX2__TILE(3); break;
            case 2: AVX2__TILE(2); break;
            default: AVX2__TILE(1); break;
            }
#undef AVX2__TILE
            t += left >= AVX2__PT ? AVX2__PT : left;
        }
    }
}

/* Output rows r_begin..r_end (of n_rows) from weight rows of type wt starting at W (row r_begin
 * first), every token, in cache-sized chunks of rows and tiles of R x T; `stream`: W is read from
 * memory (decode prefetches ahead), not rows just converted into scratch. */
static void avx2__rows_f(wisp_dtype wt, const void *W, size_t r_begin, size_t r_end, size_t n_rows,
                         const float *X, size_t n_cols, size_t n_tok, float *Y, bool stream) {
    const size_t row_bytes = wisp_row_bytes(wt, n_cols);
    const size_t ahead = stream ? AVX2__PREFETCH_ROWS * row_bytes : 0;
    const size_t chunk = avx2__chunk_rows(row_bytes);
    for (size_t rc = r_begin; rc < r_end; rc += chunk) {
        const size_t rc_end = r_end - rc < chunk ? r_end : rc + chunk;
        for (size_t t = 0; t < n_tok;) {
            const size_t left = n_tok - t;
            const int nt = left >= AVX2__TF ? AVX2__TF : (int)left;
            for (size_t r = rc; r < rc_end;) {
                const void *rows[AVX2__R];
                const int nr = rc_end - r >= AVX2__R ? AVX2__R : 1;
                for (int i = 0; i < nr; i++) rows[i] = (const uint8_t *)W + (r - r_begin + i) * row_bytes;
#define AVX2__TILE(NR, NT) avx2__tile_f(wt, rows, r, NR, n_rows, X, n_cols, t, NT, Y, ahead)
                if (nr == 4) {
                    if (nt == 2) AVX2__TILE(4, 2);
                    else AVX2__TILE(4, 1);
                } else {
                    if (nt == 2) AVX2__TILE(1, 2);
                    else AVX2__TILE(1, 1);
                }
#undef AVX2__TILE
                r += (size_t)nr;
            }
            t += (size_t)nt;
        }
    }
}

/* K-quants: WISP_MATMUL_ROWS_CONVERTED rows at a time dequantized into scratch, then the F32 tiles
 * over all tokens (the conversion is paid once per row, not per token). */
static void avx2__matmul_k(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                           size_t n_tok, float *Y, void *scratch) {
    float *wf = wisp__scratch_align(scratch); /* (WISP_MATMUL_ROWS_CONVERTED, n_cols) */
    const size_t row_bytes = wisp_row_bytes(wt, n_cols);
    for (size_t r = 0; r < n_rows; r += WISP_MATMUL_ROWS_CONVERTED) {
        size_t nr = n_rows - r < WISP_MATMUL_ROWS_CONVERTED ? n_rows - r : WISP_MATMUL_ROWS_CONVERTED;
        for (size_t i = 0; i < nr; i++)
            wisp_dequantize_row(wt, (const uint8_t *)W + (r + i) * row_bytes, wf + i * n_cols, n_cols);
        avx2__rows_f(WISP_DTYPE_F32, wf, r, r + nr, n_rows, X, n_cols, n_tok, Y, false);
    }
}

/* The engine's matmul on x86-64: Q8_0/Q4_0 through int8 tiles, float types through FMA tiles,
 * K-quants through float rows in scratch. */
void wisp_matmul(wisp_dtype wt, const void *W, size_t n_rows, size_t n_cols, const float *X,
                 size_t n_tok, float *Y, void *scratch) {
    switch (wt) {
    case WISP_DTYPE_Q8_0:
    case WISP_DTYPE_Q4_0: {
        int8_t *xqs = wisp__scratch_align(scratch);      /* (n_tok, n_cols) */
        float *xd = (float *)(xqs + n_tok * n_cols);      /* (n_tok, n_cols / 32) */
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
        if (n_tok >= WISP_VNNI_MIN_TOK) {
            avx2__quantize_x(X, n_tok, n_cols, xqs, xd, true);
            void *panel = wisp__scratch_align(xd + n_tok * (n_cols / QK8_0));
            wisp__matmul_q_vnni(wt == WISP_DTYPE_Q4_0, W, n_rows, n_cols, n_tok, (const uint8_t *)xqs, xd, Y, panel);
            return;
        }
#endif
        avx2__quantize_x(X, n_tok, n_cols, xqs, xd, false);
        if (wt == WISP_DTYPE_Q4_0) avx2__matmul_q(true, W, n_rows, n_cols, n_tok, xqs, xd, Y);
        else avx2__matmul_q(false, W, n_rows, n_cols, n_tok, xqs, xd, Y);
        return;
    }
    case WISP_DTYPE_F32:
    case WISP_DTYPE_F16:
    case WISP_DTYPE_BF16:
        if (n_tok >= AVX2__PT) avx2__matmul_pf(wt, W, n_rows, n_cols, X, n_tok, Y, scratch);
        else avx2__rows_f(wt, W, 0, n_rows, n_rows, X, n_cols, n_tok, Y, true);
        return;
    default: avx2__matmul_k(wt, W, n_rows, n_cols, X, n_tok, Y, scratch); return;
    }
}

/* ---- transposed float weights ------------------------------------------------------------------ */

/* Rows per step (4 vectors of 8) and tokens per tile of wisp_matmul_t: 8 accumulators, 4 weight
 * vectors and a broadcast. */
#define AVX2__TV 4
#define AVX2__TT 2

/* Rows r0..r0+8*nv of Y for tokens t0..t0+nt: column c adds Wt[c][r0..] * X[t][c]. */
static inline __attribute__((always_inline)) void avx2__tile_t(wisp_dtype wt, const void *Wt, size_t n_rows,
                                                               size_t n_cols, size_t r0, int nv, const float *X,
                                                               size_t t0, int nt, float *Y) {
    __m256 acc[AVX2__TV][AVX2__TT];
    AVX2__UNROLL for (int v = 0; v < nv; v++)
        AVX2__UNROLL for (int t = 0; t < nt; t++) acc[v][t] = _mm256_setzero_ps();
    for (size_t c = 0; c < n_cols; c++) {
        __m256 w[AVX2__TV];
        AVX2__UNROLL for (int v = 0; v < nv; v++) w[v] = avx2__load_w8(wt, Wt, c * n_rows + r0 + 8 * (size_t)v);
        AVX2__UNROLL for (int t = 0; t < nt; t++) {
            const __m256 x = _mm256_broadcast_ss(X + (t0 + t) * n_cols + c);
            AVX2__UNROLL for (int v = 0; v < nv; v++) acc[v][t] = _mm256_fmadd_ps(w[v], x, acc[v][t]);
        }
    }
    AVX2__UNROLL for (int t = 0; t < nt; t++)
        AVX2__UNROLL for (int v = 0; v < nv; v++) _mm256_storeu_ps(Y + (t0 + t) * n_rows + r0 + 8 * (size_t)v, acc[v][t]);
}

void wisp_matmul_t(wisp_dtype wt, const void *Wt, size_t n_rows, size_t n_cols, const float *X, size_t n_tok,
                   float *Y) {
    const size_t full = n_rows / 8 * 8;
    for (size_t t = 0; t < n_tok; t += AVX2__TT) {
        const int nt = n_tok - t >= AVX2__TT ? AVX2__TT : 1;
        size_t r = 0;
        for (; r + 8 * AVX2__TV <= full; r += 8 * AVX2__TV) {
            if (nt == 2) avx2__tile_t(wt, Wt, n_rows, n_cols, r, AVX2__TV, X, t, 2, Y);
            else avx2__tile_t(wt, Wt, n_rows, n_cols, r, AVX2__TV, X, t, 1, Y);
        }
        for (; r < full; r += 8) {
            if (nt == 2) avx2__tile_t(wt, Wt, n_rows, n_cols, r, 1, X, t, 2, Y);
            else avx2__tile_t(wt, Wt, n_rows, n_cols, r, 1, X, t, 1, Y);
        }
        wisp__matmul_t_rows_ref(wt, Wt, n_rows, n_cols, full, X, t, (size_t)nt, Y); /* n_rows % 8 */
    }
}

/* ---- vector kernels --------------------------------------------------------------------------- */

/* Vector kernels: two accumulators hide the FMA latency; tails in scalar. */
float wisp_dot_f32(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = avx2__hsum(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void wisp_axpy_f32(float a, const float *x, float *y, size_t n) {
    const __m256 av = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}

void wisp_rmsnorm_f32(float *y, const float *x, const float *w, size_t n, float eps) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
        s0 = _mm256_fmadd_ps(a, a, s0);
        s1 = _mm256_fmadd_ps(b, b, s1);
    }
    float ss = avx2__hsum(_mm256_add_ps(s0, s1));
    for (; i < n; i++) ss += x[i] * x[i];
    const float scale = 1.0f / sqrtf(ss / (float)n + eps);
    const __m256 sv = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv), _mm256_loadu_ps(w + i)));
    for (; i < n; i++) y[i] = x[i] * scale * w[i];
}

/* exp(x) for x in [-88, 88] (clamped outside): 2^k * p(r) with r = x - k ln2 (ln2 split in two
 * for an exact reduction), p a degree-6 Taylor polynomial; relative error < 2e-7. */
static inline __m256 avx2__exp(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void wisp_softmax_f32(float *x, size_t n, float scale) {
    const __m256 sv = _mm256_set1_ps(scale);
    __m256 mv = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), sv);
        _mm256_storeu_ps(x + i, v);
        mv = _mm256_max_ps(mv, v);
    }
    float max = avx2__hmax(mv);
    for (size_t j = i; j < n; j++) {
        x[j] *= scale;
        if (x[j] > max) max = x[j];
    }
    const __m256 maxv = _mm256_set1_ps(max);
    __m256 sum8 = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 e = avx2__exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), maxv));
        _mm256_storeu_ps(x + i, e);
        sum8 = _mm256_add_ps(sum8, e);
    }
    float sum = avx2__hsum(sum8);
    for (size_t j = i; j < n; j++) sum += x[j] = expf(x[j] - max);
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++) x[i] *= 1.0f / sum;
}

void wisp_swiglu_f32(float *g, const float *u, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(g + i);
        const __m256 e = avx2__exp(_mm256_xor_ps(x, sign));
        const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(one, e));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(silu, _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

#endif
