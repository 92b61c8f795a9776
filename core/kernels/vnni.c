/*
 * x86-64 AVX-512 VNNI prompt kernel (256-bit vectors through AVX512VL, so 32 ymm registers):
 * Q8_0 / Q4_0 weights times Q8_0 activations for batches of tokens. kernels/avx2.c calls it for
 * n_tok >= WISP_VNNI_MIN_TOK when the build targets such a CPU (-march=native on Zen 4, Ice Lake
 * and later); decode stays on avx2.c's row tiles.
 *
 * Layout: the lanes of a vector are 8 weight rows, not 8 columns. Each call repacks 16 rows at a
 * time (a panel, in scratch) so that the 4-byte column group k of those rows sits in two vectors;
 * one activation group, broadcast, then feeds VPDPBUSD, 32 multiply-adds into 8 rows' int32 sums
 * with no horizontal reduction, and the per-block scale d_w * d_x is applied once per 8 rows.
 * The panel costs one pass over its weights and is reused by every token of the call.
 *
 * VPDPBUSD multiplies unsigned by signed bytes: activations go in as x + 128 (x ^ 0x80, in
 * [1, 255]) and weights as signed bytes (Q4_0 nibbles unpacked to q - 8), and each block's int32
 * sum starts at -128 * sum(w), computed once at packing. The block sums are exact, as in llama.cpp
 * and _ref; only the float additions of blocks run in another order.
 */
#include "kernels.h"

#if defined(__AVX512VNNI__) && defined(__AVX512VL__)

#include <immintrin.h>
#include <string.h>

#include "x86.h"

/* Rows of a panel (two vectors of 8) and tokens of a tile: 2 x 6 float sums + 2 x 6 int32 block
 * sums + 2 weight vectors + a broadcast = 27 of the 32 ymm registers. */
#define VNNI__ROWS 16
#define VNNI__T 6
/* Bytes of one block of a panel: int8 w[8 groups][16 rows][4], int32 -128*sum(w)[16], float d_w[16]. */
#define VNNI__BLOCK (8 * VNNI__ROWS * 4 + VNNI__ROWS * 4 + VNNI__ROWS * 4)
/* Tokens per pass over the panels: their activations (n_cols bytes each) stay in L2. */
#define VNNI__X_BYTES (256 * 1024)
#define VNNI__UNROLL _Pragma("GCC unroll 8")
_Static_assert(VNNI__T == 6, "wisp__matmul_q_vnni's switch has a case per tile width");

_Static_assert(VNNI__BLOCK <= WISP_SCRATCH_PANEL_PER_BLOCK, "panel fits the scratch");

/* The 32 weights of one block as signed bytes (Q4_0: q - 8, in [-8, 7]). */
static inline __m256i vnni__block_s8(bool q4, const uint8_t *blk) {
    if (!q4) return _mm256_loadu_si256((const __m256i *)(blk + 2));
    const __m128i bb = _mm_loadu_si128((const __m128i *)(blk + 2));
    const __m128i m = _mm_set1_epi8(0x0f);
    const __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bb, 4), m), _mm_and_si128(bb, m));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
}

/* Packs rows r0..r0+nr (nr <= 16; missing rows are zeros) of W into `panel` (nb blocks). */
static void vnni__pack(bool q4, const uint8_t *W, size_t row_bytes, size_t r0, size_t nr, size_t nb,
                       uint8_t *panel) {
    const size_t bs = q4 ? sizeof(block_q4_0) : sizeof(block_q8_0);
    for (size_t b = 0; b < nb; b++) {
        uint8_t *dst = panel + b * VNNI__BLOCK;
        int32_t *corr = (int32_t *)(dst + 8 * VNNI__ROWS * 4);
        float *dw = (float *)(dst + 8 * VNNI__ROWS * 4 + VNNI__ROWS * 4);
        for (size_t h = 0; h < 2; h++) {
            __m256 v[8]; /* the 8 rows' bytes, as 32-bit groups to transpose */
            for (size_t i = 0; i < 8; i++) {
                const size_t r = h * 8 + i;
                const uint8_t *blk = W + (r0 + r) * row_bytes + b * bs;
                wisp_f16 d = 0;
                if (r < nr) memcpy(&d, blk, 2);
                v[i] = _mm256_castsi256_ps(r < nr ? vnni__block_s8(q4, blk) : _mm256_setzero_si256());
                dw[r] = _cvtsh_ss(d); /* F16C: exact, as wisp_f16_to_f32 */
            }
            wisp__transpose8x32(v);
            __m256i sum = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                const __m256i g = _mm256_castps_si256(v[k]);
                _mm256_store_si256((__m256i *)(dst + k * VNNI__ROWS * 4 + h * 32), g);
                sum = _mm256_dpbusd_epi32(sum, _mm256_set1_epi8((char)0x80), g); /* 128 * w */
            }
            _mm256_store_si256((__m256i *)(corr + h * 8), _mm256_sub_epi32(_mm256_setzero_si256(), sum));
        }
    }
}

/* Tokens t0..t0+nt (nt <= VNNI__T, a constant at each call site) times one panel of nr rows;
 * writes Y[t][r0 .. r0+nr). xq: (n_tok, n_cols) activations + 128, xd: (n_tok, nb) scales. */
static inline __attribute__((always_inline)) void vnni__tile(const uint8_t *panel, size_t nb, const uint8_t *xq,
                                                             const float *xd, size_t n_cols, size_t t0, int nt,
                                                             float *Y, size_t n_rows, size_t r0, size_t nr) {
    __m256 acc[2][VNNI__T];
    VNNI__UNROLL for (int t = 0; t < nt; t++) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++) {
        const uint8_t *p = panel + b * VNNI__BLOCK;
        const __m256i c0 = _mm256_load_si256((const __m256i *)(p + 8 * VNNI__ROWS * 4));
        const __m256i c1 = _mm256_load_si256((const __m256i *)(p + 8 * VNNI__ROWS * 4 + 32));
        __m256i s[2][VNNI__T];
        VNNI__UNROLL for (int t = 0; t < nt; t++) s[0][t] = c0, s[1][t] = c1;
        const uint8_t *x = xq + t0 * n_cols + b * QK8_0;
        VNNI__UNROLL for (int k = 0; k < 8; k++) {
            const __m256i w0 = _mm256_load_si256((const __m256i *)(p + k * VNNI__ROWS * 4));
            const __m256i w1 = _mm256_load_si256((const __m256i *)(p + k * VNNI__ROWS * 4 + 32));
            VNNI__UNROLL for (int t = 0; t < nt; t++) {
                int32_t g;
                memcpy(&g, x + t * n_cols + k * 4, 4);
                const __m256i xv = _mm256_set1_epi32(g);
                s[0][t] = _mm256_dpbusd_epi32(s[0][t], xv, w0);
                s[1][t] = _mm256_dpbusd_epi32(s[1][t], xv, w1);
            }
        }
        const __m256 d0 = _mm256_load_ps((const float *)(p + 8 * VNNI__ROWS * 4 + VNNI__ROWS * 4));
        const __m256 d1 = _mm256_load_ps((const float *)(p + 8 * VNNI__ROWS * 4 + VNNI__ROWS * 4 + 32));
        VNNI__UNROLL for (int t = 0; t < nt; t++) {
            const __m256 dx = _mm256_broadcast_ss(xd + (t0 + t) * nb + b);
            acc[0][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[0][t]), _mm256_mul_ps(d0, dx), acc[0][t]);
            acc[1][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[1][t]), _mm256_mul_ps(d1, dx), acc[1][t]);
        }
    }
    const __mmask8 m0 = nr >= 8 ? 0xff : (__mmask8)((1u << nr) - 1);
    const __mmask8 m1 = nr >= 16 ? 0xff : nr > 8 ? (__mmask8)((1u << (nr - 8)) - 1) : 0;
    VNNI__UNROLL for (int t = 0; t < nt; t++) {
        float *y = Y + (t0 + t) * n_rows + r0;
        _mm256_mask_storeu_ps(y, m0, acc[0][t]);
        _mm256_mask_storeu_ps(y + 8, m1, acc[1][t]);
    }
}

void wisp__matmul_q_vnni(bool q4, const void *W, size_t n_rows, size_t n_cols, size_t n_tok, const uint8_t *xq,
                         const float *xd, float *Y, void *panel) {
    const size_t nb = n_cols / QK8_0;
    const size_t row_bytes = nb * (q4 ? sizeof(block_q4_0) : sizeof(block_q8_0));
    size_t chunk = VNNI__X_BYTES / n_cols / VNNI__T * VNNI__T;
    if (chunk < VNNI__T) chunk = VNNI__T;
    for (size_t tc = 0; tc < n_tok; tc += chunk) {
        const size_t tc_end = n_tok - tc < chunk ? n_tok : tc + chunk;
        for (size_t r0 = 0; r0 < n_rows; r0 += VNNI__ROWS) {
            const size_t nr = n_rows - r0 < VNNI__ROWS ? n_rows - r0 : VNNI__ROWS;
            vnni__pack(q4, W, row_bytes, r0, nr, nb, panel);
            /* the next panel's weights come from memory while this one is multiplied (packing
             * waited on each first touch: a third of the kernel's time on a 100M model) */
            const uint8_t *next = (const uint8_t *)W + (r0 + VNNI__ROWS) * row_bytes;
            const size_t next_bytes = (n_rows - r0 - nr < VNNI__ROWS ? n_rows - r0 - nr : VNNI__ROWS) * row_bytes;
            for (size_t off = 0; off < next_bytes; off += 64) _mm_prefetch((const char *)next + off, _MM_HINT_T1);
            for (size_t t = tc; t < tc_end;) {
                const size_t left = tc_end - t;
#define VNNI__TILE(NT) vnni__tile(panel, nb, xq, xd, n_cols, t, NT, Y, n_rows, r0, nr)
                switch (left >= VNNI__T ? VNNI__T : left) {
                case 6: VNNI__TILE(6); break;
                case 5: VNNI__TILE(5); break;
                case 4: VNNI__TILE(4); break;
                case 3: VNNI__TILE(3); break;
                case 2: VNNI__TILE(2); break;
                default: VNNI__TILE(1); break;
                }
#undef VNNI__TILE
                t += left >= VNNI__T ? VNNI__T : left;
            }
        }
    }
}

#endif
