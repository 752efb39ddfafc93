/* Preview rendering kernels (see fm_render.h).  The type-independent
 * helpers live here; the kernels themselves are written once in
 * fm_render_typed.h and instantiated below for float and double. */
#include "fm_render.h"
#include "fm_simd.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Below this many values selection copies all finite values instead of
 * bracketing the ranks with a sample. */
#define FM_SMALL 4096
/* The sample that brackets the wanted ranks has one value per FM_STRATUM
 * values, at least FM_SAMPLE_MIN and at most FM_SAMPLE_MAX: selecting in
 * the sample costs more as it grows, the pass over all values less, since
 * its brackets get tighter (measured on 171x171 to 1024x1024 previews). */
#define FM_STRATUM 64
#define FM_SAMPLE_MIN 512
#define FM_SAMPLE_MAX 4096
/* Seed of the sample's jitter: fixed, so timings repeat (results never
 * depend on the sample). */
#define FM_SAMPLE_SEED 20240101u
/* Values per chunk of the bracketing pass's flags and of the table
 * mapping's index buffer. */
#define FM_CHUNK 256

/* One wanted rank: its position as a fraction of the finite values (what
 * the sample can bracket before the count is known), the rank itself, and
 * where its value goes in the output. */
typedef struct {
    double frac;
    long long rank;
    int index;
} fm_want;

/* Turns the finite count found by a selection pass into ranks (want[]
 * stays sorted by rank), or rejects the count. */
typedef int (*fm_resolver)(void *ctx, long long count, fm_want *want, int nw,
                           fm_error *err);

typedef struct {
    double q[2];   /* lower, upper fractions */
    double t[2];   /* interpolation weights, set by fm_percentile_ranks */
} fm_percentile_ctx;

/* NumPy's linear interpolation, written the same way (from the nearer end)
 * so the result agrees with np.percentile to the last bit. */
static double fm_lerp(double lo, double hi, double t)
{
    double diff = hi - lo;
    return t >= 0.5 ? hi - diff * (1.0 - t) : lo + diff * t;
}

static int fm_percentile_ranks(void *ctx, long long count, fm_want *want, int nw,
                               fm_error *err)
{
    fm_percentile_ctx *p = ctx;
    (void)nw;
    (void)err;
    if (count == 0)
        return FM_OK;
    for (int k = 0; k < 2; k++) {
        double pos = p->q[k] * (double)(count - 1);
        long long r = (long long)pos;
        p->t[k] = pos - (double)r;
        want[2 * k].rank = r;
        want[2 * k + 1].rank = r + 1 < count ? r + 1 : count - 1;
    }
    return FM_OK;
}

static int fm_check_count(void *ctx, long long count, fm_want *want, int nw,
                          fm_error *err)
{
    long long expected = *(const long long *)ctx;
    (void)want;
    (void)nw;
    if (count != expected)
        return fm_fail(err, FM_ERR_ARG, -1, "found %lld finite values, not %lld",
                       count, expected);
    return FM_OK;
}

static int fm_want_order(const void *a, const void *b)
{
    long long ra = ((const fm_want *)a)->rank, rb = ((const fm_want *)b)->rank;
    return (ra > rb) - (ra < rb);
}

static int fm_wants_from_ranks(const long long *ranks, int nranks, long long count,
                               fm_want *want, fm_error *err)
{
    for (int i = 0; i < nranks; i++) {
        if (ranks[i] < 0 || ranks[i] >= count)
            return fm_fail(err, FM_ERR_ARG, -1, "rank %lld outside [0, %lld)",
                           ranks[i], count);
        want[i].frac = (double)ranks[i] / (double)count;
        want[i].rank = ranks[i];
        want[i].index = i;
    }
    qsort(want, (size_t)nranks, sizeof(fm_want), fm_want_order);
    return FM_OK;
}

/* How many values to sample out of n (more than FM_SMALL). */
static int fm_sample_size(long long n)
{
    long long m = n / FM_STRATUM;
    return m < FM_SAMPLE_MIN ? FM_SAMPLE_MIN : m > FM_SAMPLE_MAX ? FM_SAMPLE_MAX : (int)m;
}

/* Position of sample i of m among n values: stratum i, at a pseudo-random
 * place inside it (jitter from a 64-bit LCG, top 53 bits). */
static long long fm_sample_position(int i, int m, long long n, uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    double jitter = (double)(*state >> 11) * (1.0 / 9007199254740992.0);
    long long p = (long long)(((double)i + jitter) * (double)n / m);
    return p < n ? p : n - 1;
}

/* Sample position safely beyond fraction q of m sorted sample values
 * (three binomial standard deviations plus slack), below it for direction
 * -1.  A rank outside its bracket is rare and costs time, never accuracy. */
static int fm_sample_bound(double q, int m, int direction)
{
    double centre = q * m;
    double margin = 3.0 * sqrt(centre * (1.0 - centre / m) + 1.0) + 3.0;
    double p = centre + direction * margin;
    return p < 0 ? 0 : p > m - 1 ? m - 1 : (int)p;
}

/* Offset of the first flagged byte (flags are 0 or 1) in the eight bytes
 * loaded into *w, which must not be 0; its flag is cleared. */
static inline int fm_next_flag(uint64_t *w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    int bit = 63 - __builtin_clzll(*w);
    *w &= ~((uint64_t)1 << bit);
    return (63 - bit) >> 3;
#else
    int bit = __builtin_ctzll(*w);
    *w &= *w - 1;
    return bit >> 3;
#endif
}

/* Room for the values a bracket of k of m sample values should catch out
 * of n, with ample slack (ties at the bound can overflow it; the selection
 * then falls back to all values). */
static long long fm_bracket_capacity(int k, int m, long long n)
{
    long long cap = (long long)(2.0 * k / m * (double)n) + 1024;
    return cap < n ? cap : n;
}

static int fm_check_spec(long long n, const fm_map_spec *s, fm_error *err)
{
    if (n < 0)
        return fm_fail(err, FM_ERR_ARG, -1, "negative length %lld", n);
    if (s->bits != 8 && s->bits != 16)
        return fm_fail(err, FM_ERR_ARG, -1, "bits must be 8 or 16, got %d", s->bits);
    int top = s->bits == 16 ? 65535 : 255;
    if (s->nan_level < 0 || s->nan_level > top)
        return fm_fail(err, FM_ERR_ARG, -1, "NaN level %d outside 0..%d",
                       s->nan_level, top);
    if (s->mode == FM_MAP_UNIT)
        return FM_OK;
    if (s->mode != FM_MAP_LINEAR && s->mode != FM_MAP_TABLE)
        return fm_fail(err, FM_ERR_ARG, -1, "unknown mapping mode %d", s->mode);
    if (!(isfinite(s->vmin) && isfinite(s->vmax) && s->vmin <= s->vmax))
        return fm_fail(err, FM_ERR_ARG, -1, "limits must be finite and ordered, got %g, %g",
                       s->vmin, s->vmax);
    if (s->mode == FM_MAP_TABLE
        && (s->bits != 8 || !s->table || s->table_size < 2 || s->table_size > 65536))
        return fm_fail(err, FM_ERR_ARG, -1,
                       "a table mapping needs 8 bits and 2..65536 entries");
    return FM_OK;
}

/* float32 previews (the common case) take two loops in AVX2 where the
 * processor has it; FM_FAST_* name them for fm_render_typed.h. */
#include "fm_render_avx2.h"
#if FM_HAVE_AVX2
#define FM_FAST_BRACKET fm_bracket_f32_avx2
#define FM_FAST_LINEAR8 fm_map_linear8_f32_avx2
#endif
#define FM_T float
#define FM_TMAX FLT_MAX
#define FM_ABS fabsf
#define FM_SFX f32
#include "fm_render_typed.h"
#undef FM_T
#undef FM_TMAX
#undef FM_ABS
#undef FM_SFX
#undef FM_FAST_BRACKET
#undef FM_FAST_LINEAR8

#define FM_T double
#define FM_TMAX DBL_MAX
#define FM_ABS fabs
#define FM_SFX f64
#include "fm_render_typed.h"
#undef FM_T
#undef FM_TMAX
#undef FM_ABS
#undef FM_SFX
