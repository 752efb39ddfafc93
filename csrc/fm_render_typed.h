/* The typed half of fm_render.c, included there once per value type with
 * FM_T (float or double), FM_TMAX (its largest finite value) and FM_SFX
 * (f32 or f64) defined.  Not a public header. */

#define FM_CAT2(a, b) a##_##b
#define FM_CAT(a, b) FM_CAT2(a, b)
#define FM_(name) FM_CAT(name, FM_SFX)

/* True for finite values; one comparison of the magnitude, so loops
 * vectorise (NaN compares false). */
static inline int FM_(finite)(FM_T v)
{
    return FM_ABS(v) <= FM_TMAX;
}

/* Sift-down heap sort: the guaranteed O(n log n) escape of kth(). */
static void FM_(heap_sort)(FM_T *a, long long n)
{
    for (long long start = n / 2 - 1, end = n - 1; end > 0;) {
        long long root;
        FM_T v;
        if (start >= 0) {
            root = start--;
        } else {
            v = a[0];
            a[0] = a[end];
            a[end] = v;
            root = 0;
            end--;
        }
        v = a[root];
        for (long long child; (child = 2 * root + 1) <= end; root = child) {
            if (child < end && a[child + 1] > a[child])
                child++;
            if (!(a[child] > v))
                break;
            a[root] = a[child];
        }
        a[root] = v;
    }
}

/* Reorder a[0..n) (finite values) so that a[k] is the value of rank k,
 * smaller or equal values before it and larger or equal ones after. */
static FM_T FM_(kth)(FM_T *a, long long n, long long k)
{
    long long lo = 0, hi = n - 1;
    /* Median-of-three quickselect; data that defeat it (more rounds than a
     * balanced split needs, with slack) are heap-sorted instead. */
    int budget = 16;
    for (long long m = n; m > 1; m >>= 1)
        budget += 2;
    while (hi - lo > 16) {
        if (--budget < 0) {
            FM_(heap_sort)(a + lo, hi - lo + 1);
            return a[k];
        }
        long long mid = lo + (hi - lo) / 2;
        FM_T t;
        if (a[mid] < a[lo]) { t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
        if (a[hi] < a[lo]) { t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
        if (a[hi] < a[mid]) { t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
        FM_T pivot = a[mid];
        long long i = lo, j = hi;
        /* Hoare partition: a[lo..j] <= pivot <= a[i..hi] afterwards. */
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (pivot < a[j])
                j--;
            if (i <= j) {
                t = a[i]; a[i] = a[j]; a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    /* Insertion sort of the last small range. */
    for (long long i = lo + 1; i <= hi; i++) {
        FM_T v = a[i];
        long long j = i;
        for (; j > lo && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
    return a[k];
}

/* out[w->index] = rank w->rank of a[0..n), for want[0..nw) sorted by rank.
 * Each selection leaves the larger values behind its rank, so the next one
 * only searches from there. */
static void FM_(select_sorted)(FM_T *a, long long n, const fm_want *want, int nw,
                               long long shift, double *out)
{
    long long base = 0;
    for (int i = 0; i < nw; i++) {
        long long r = want[i].rank - shift;
        out[want[i].index] = (double)FM_(kth)(a + base, n - base, r - base);
        base = r;
    }
}

static long long FM_(copy_finite)(const FM_T *x, long long n, FM_T *dst)
{
    long long m = 0;
    for (long long i = 0; i < n; i++)
        if (FM_(finite)(x[i]))
            dst[m++] = x[i];
    return m;
}

FM_SIMD
int FM_(fm_finite_range)(const FM_T *x, long long n, long long *count, double *lo,
                         double *hi, fm_error *err)
{
    if (n < 0)
        return fm_fail(err, FM_ERR_ARG, -1, "negative length %lld", n);
    /* NaN fails both comparisons; infinities are taken here and, in the
     * rare images that have them, dropped by a second pass. */
    FM_T mn = INFINITY, mx = -INFINITY;
    long long c = 0;
    for (long long i = 0; i < n; i++) {
        FM_T v = x[i];
        c += FM_(finite)(v);
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    if (!FM_(finite)(mn) || !FM_(finite)(mx)) {
        mn = FM_TMAX;
        mx = -FM_TMAX;
        for (long long i = 0; i < n; i++) {
            FM_T v = x[i];
            if (FM_(finite)(v)) {
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
        }
    }
    *count = c;
    *lo = c ? (double)mn : NAN;
    *hi = c ? (double)mx : NAN;
    return FM_OK;
}

/* Sample the finite values at fm_sample_size(n) jittered positions (one
 * per stratum: a strided sample would alias with the image's row length). */
static int FM_(sample)(const FM_T *x, long long n, FM_T *s)
{
    int m = 0, size = fm_sample_size(n);
    uint64_t state = FM_SAMPLE_SEED;
    for (int i = 0; i < size; i++) {
        FM_T v = x[fm_sample_position(i, size, n, &state)];
        if (FM_(finite)(v))
            s[m++] = v;
    }
    return m;
}

/* The pass that fills the brackets: every finite value at or below lb goes
 * to low, at or above hb (> lb) to high.  A chunk at a time, a vectorised
 * loop counts the finite values and flags the bracketed ones (one byte
 * each); the flags are then read eight at a time, so only the few flagged
 * values cost a branch.  Returns the number of finite values, or -1 when a
 * bracket would exceed its capacity. */
FM_SIMD
static long long FM_(bracket)(const FM_T *restrict x, long long n, FM_T lb, FM_T hb,
                              FM_T *restrict low, long long cap_low, long long *n_low,
                              FM_T *restrict high, long long cap_high, long long *n_high)
{
    long long c = 0, a = 0, b = 0;
    unsigned char flag[FM_CHUNK + 8];
    for (long long i = 0; i < n; i += FM_CHUNK) {
        int len = n - i < FM_CHUNK ? (int)(n - i) : FM_CHUNK, finite = 0;
        const FM_T *restrict xi = x + i;
        /* Two loops: each vectorises better than the two jobs in one. */
        for (int j = 0; j < len; j++)
            finite += FM_(finite)(xi[j]);
        for (int j = 0; j < len; j++)
            flag[j] = (unsigned char)((xi[j] <= lb) | (xi[j] >= hb));
        memset(flag + len, 0, 8);
        c += finite;
        for (int j = 0; j < len; j += 8) {
            uint64_t w;
            memcpy(&w, flag + j, 8);
            while (w) {
                FM_T v = xi[j + fm_next_flag(&w)];
                if (!FM_(finite)(v))
                    continue;   /* an infinity */
                /* Branch-free: written to both (each has a spare slot),
                 * kept where it belongs. */
                low[a] = v;
                a += v <= lb;
                high[b] = v;
                b += v > lb;
                if (a > cap_low || b > cap_high)
                    return -1;
            }
        }
    }
    *n_low = a;
    *n_high = b;
    return c;
}

/* Selection over the finite values of x: the values at want[0..nw) (sorted
 * by rank) go to out.  The count of finite values is found on the way and
 * handed to resolve(), which sets the ranks (or rejects the count); before
 * that only want[].frac is known.  Large inputs are bracketed by a sample:
 * one pass keeps the values at or below a low bound and at or above a high
 * bound, and only those are searched; ranks the brackets miss are found in
 * a copy of all finite values, so the result is always exact. */
static int FM_(select)(const FM_T *x, long long n, long long *count,
                       fm_want *want, int nw, fm_resolver resolve, void *ctx,
                       double *out, fm_error *err)
{
    FM_T *buf = NULL, *low = NULL, *high = NULL, *all = NULL;
    long long n_low = 0, n_high = 0, n_all = 0, c = -1;
    int status = FM_OK;
    if (n > FM_SMALL) {
        FM_T s[FM_SAMPLE_MAX];
        int m = FM_(sample)(x, n, s);
        double qlow = -1.0, qhigh = 2.0;
        for (int i = 0; i < nw; i++) {
            if (want[i].frac < 0.5 && want[i].frac > qlow)
                qlow = want[i].frac;
            if (want[i].frac >= 0.5 && want[i].frac < qhigh)
                qhigh = want[i].frac;
        }
        FM_T lb = -INFINITY, hb = INFINITY;
        long long cap_low = 0, cap_high = 0;
        if (m > 0 && qlow >= 0.0) {
            int p = fm_sample_bound(qlow, m, +1);
            lb = FM_(kth)(s, m, p);
            cap_low = fm_bracket_capacity(p + 1, m, n);
        }
        if (m > 0 && qhigh <= 1.0) {
            int p = fm_sample_bound(qhigh, m, -1);
            hb = FM_(kth)(s, m, p);
            cap_high = fm_bracket_capacity(m - p, m, n);
        }
        if (m > 0 && lb < hb) {
            buf = malloc((size_t)(cap_low + cap_high + 2) * sizeof(FM_T));
            if (!buf)
                return fm_fail(err, FM_ERR_NOMEM, -1, "no memory for %lld values",
                               cap_low + cap_high);
            low = buf;
            high = buf + cap_low + 1;
#ifdef FM_FAST_BRACKET
            if (__builtin_cpu_supports("avx2"))
                c = FM_FAST_BRACKET(x, n, lb, hb, low, cap_low, &n_low, high,
                                    cap_high, &n_high);
            else
#endif
            c = FM_(bracket)(x, n, lb, hb, low, cap_low, &n_low, high, cap_high,
                             &n_high);
        }
    }
    if (c < 0) {
        /* Small input, a useless sample or an overflowing bracket. */
        n_low = n_high = 0;
        all = malloc((size_t)(n + 1) * sizeof(FM_T));
        if (!all) {
            status = fm_fail(err, FM_ERR_NOMEM, -1, "no memory for %lld values", n);
            goto done;
        }
        c = n_all = FM_(copy_finite)(x, n, all);
    }
    status = resolve(ctx, c, want, nw, err);
    if (status != FM_OK || c == 0)
        goto done;
    /* want is sorted by rank: a head in the low bracket, a tail in the high
     * one, and between them ranks only the copy of all values can give. */
    int a = 0, b = nw;
    while (a < nw && want[a].rank < n_low)
        a++;
    while (b > a && want[b - 1].rank >= c - n_high)
        b--;
    FM_(select_sorted)(low, n_low, want, a, 0, out);
    FM_(select_sorted)(high, n_high, want + b, nw - b, c - n_high, out);
    if (a < b && !all) {
        all = malloc((size_t)(c + 1) * sizeof(FM_T));
        if (!all) {
            status = fm_fail(err, FM_ERR_NOMEM, -1, "no memory for %lld values", c);
            goto done;
        }
        n_all = FM_(copy_finite)(x, n, all);
    }
    FM_(select_sorted)(all, n_all, want + a, b - a, 0, out);
done:
    free(buf);
    free(all);
    *count = c;
    return status;
}

int FM_(fm_percentiles)(const FM_T *x, long long n, double lower, double upper,
                        long long *count, double *lo, double *hi, fm_error *err)
{
    if (n < 0)
        return fm_fail(err, FM_ERR_ARG, -1, "negative length %lld", n);
    if (!(0.0 <= lower && lower <= upper && upper <= 1.0))
        return fm_fail(err, FM_ERR_ARG, -1,
                       "need 0 <= lower <= upper <= 1, got %g, %g", lower, upper);
    fm_percentile_ctx ctx = {{lower, upper}, {0.0, 0.0}};
    fm_want want[4];
    for (int i = 0; i < 4; i++) {
        want[i].frac = ctx.q[i / 2];
        want[i].rank = 0;
        want[i].index = i;
    }
    double v[4];
    int status = FM_(select)(x, n, count, want, 4, fm_percentile_ranks, &ctx, v, err);
    if (status != FM_OK)
        return status;
    if (*count == 0) {
        *lo = *hi = NAN;
        return FM_OK;
    }
    *lo = fm_lerp(v[0], v[1], ctx.t[0]);
    *hi = fm_lerp(v[2], v[3], ctx.t[1]);
    return FM_OK;
}

int FM_(fm_select_ranks)(const FM_T *x, long long n, long long count,
                         const long long *ranks, int nranks, double *values,
                         fm_error *err)
{
    if (n < 0 || count < 0 || count > n || nranks < 0)
        return fm_fail(err, FM_ERR_ARG, -1, "bad sizes: n %lld, count %lld, %d ranks",
                       n, count, nranks);
    fm_want *want = malloc((size_t)(nranks + 1) * sizeof(fm_want));
    if (!want)
        return fm_fail(err, FM_ERR_NOMEM, -1, "no memory for %d ranks", nranks);
    int status = fm_wants_from_ranks(ranks, nranks, count, want, err);
    long long found = 0;
    if (status == FM_OK)
        status = FM_(select)(x, n, &found, want, nranks, fm_check_count, &count,
                             values, err);
    free(want);
    return status;
}

/* FM_MAP_UNIT: values in [0, 1] (clipped) to levels, in the values' type. */
static inline int FM_(unit_level)(FM_T u, FM_T top, int invert, int nan_level)
{
    int ok = u == u;
    u = u > 0 ? u : 0;
    u = u < 1 ? u : 1;
    u = invert ? 1 - u : u;
    int level = (int)(u * top + (FM_T)0.5);
    return ok ? level : nan_level;
}

FM_SIMD
static void FM_(map_unit)(const FM_T *restrict x, long long n, int top, int invert,
                          int nan_level, unsigned char *restrict o8,
                          unsigned short *restrict o16)
{
    if (o16)
        for (long long i = 0; i < n; i++)
            o16[i] = (unsigned short)FM_(unit_level)(x[i], (FM_T)top, invert, nan_level);
    else
        for (long long i = 0; i < n; i++)
            o8[i] = (unsigned char)FM_(unit_level)(x[i], (FM_T)top, invert, nan_level);
}

/* vmin == vmax: a threshold, so a flat sky with a few stars stays readable. */
FM_SIMD
static void FM_(map_threshold)(const FM_T *restrict x, long long n, FM_T vmin,
                               int above, int rest, int nan_level,
                               unsigned char *restrict o8, unsigned short *restrict o16)
{
    for (long long i = 0; i < n; i++) {
        FM_T v = x[i];
        int level = v > vmin ? above : rest;
        level = FM_(finite)(v) ? level : nan_level;
        if (o16)
            o16[i] = (unsigned short)level;
        else
            o8[i] = (unsigned char)level;
    }
}

/* Table indices are computed a chunk at a time into a small buffer, so the
 * arithmetic vectorises apart from the look-ups. */
FM_SIMD
static void FM_(map_table)(const FM_T *restrict x, long long n, double vmin, double vmax,
                           const unsigned char *restrict table, long long size,
                           int nan_level, unsigned char *restrict out)
{
    const FM_T lo = (FM_T)vmin;
    const float inv = (float)(1.0 / (vmax - vmin)), last = (float)(size - 1);
    int index[FM_CHUNK];
    for (long long i = 0; i < n; i += FM_CHUNK) {
        int len = n - i < FM_CHUNK ? (int)(n - i) : FM_CHUNK;
        const FM_T *restrict xi = x + i;
        for (int j = 0; j < len; j++) {
            float u = (float)(xi[j] - lo) * inv;
            u = u > 0.0f ? u : 0.0f;
            u = u < 1.0f ? u : 1.0f;
            index[j] = (int)(sqrtf(u) * last + 0.5f);
        }
        for (int j = 0; j < len; j++)
            out[i + j] = FM_(finite)(xi[j]) ? table[index[j]] : (unsigned char)nan_level;
    }
}

FM_SIMD
static void FM_(map_linear8)(const FM_T *restrict x, long long n, FM_T scale,
                             float offset, int nan_level, unsigned char *restrict out)
{
    for (long long i = 0; i < n; i++) {
        FM_T v = x[i];
        float w = (float)(v * scale) + offset;
        w = w > 0.0f ? w : 0.0f;
        w = w < 255.5f ? w : 255.5f;
        int level = (int)w;
        out[i] = (unsigned char)(FM_(finite)(v) ? level : nan_level);
    }
}

static void FM_(map_linear16)(const FM_T *restrict x, long long n, FM_T scale,
                              double offset, int nan_level, unsigned short *restrict out)
{
    for (long long i = 0; i < n; i++) {
        FM_T v = x[i];
        double w = (double)(v * scale) + offset;
        w = w > 0.0 ? w : 0.0;
        w = w < 65535.5 ? w : 65535.5;
        int level = (int)w;
        out[i] = (unsigned short)(FM_(finite)(v) ? level : nan_level);
    }
}

int FM_(fm_map)(const FM_T *x, long long n, const fm_map_spec *spec, void *out,
                fm_error *err)
{
    int status = fm_check_spec(n, spec, err);
    if (status != FM_OK)
        return status;
    const int top = spec->bits == 16 ? 65535 : 255;
    unsigned char *o8 = spec->bits == 8 ? out : NULL;
    unsigned short *o16 = spec->bits == 16 ? out : NULL;
    const double vmin = spec->vmin, vmax = spec->vmax;
    if (spec->mode == FM_MAP_UNIT) {
        FM_(map_unit)(x, n, top, spec->invert, spec->nan_level, o8, o16);
    } else if (vmax == vmin) {
        int above = spec->invert ? 0 : top, rest = top - above;
        if (spec->mode == FM_MAP_TABLE) {
            above = spec->table[spec->table_size - 1];
            rest = spec->table[0];
        }
        FM_(map_threshold)(x, n, (FM_T)vmin, above, rest, spec->nan_level, o8, o16);
    } else if (spec->mode == FM_MAP_TABLE) {
        FM_(map_table)(x, n, vmin, vmax, spec->table, spec->table_size, spec->nan_level,
                       o8);
    } else {
        double scale = top / (vmax - vmin), offset;
        if (spec->invert) {
            offset = top + 0.5 + vmin * scale;
            scale = -scale;
        } else {
            offset = 0.5 - vmin * scale;
        }
        if (o16)
            FM_(map_linear16)(x, n, (FM_T)scale, offset, spec->nan_level, o16);
#ifdef FM_FAST_LINEAR8
        else if (__builtin_cpu_supports("avx2"))
            FM_FAST_LINEAR8(x, n, (FM_T)scale, (float)offset, spec->nan_level, o8);
#endif
        else
            FM_(map_linear8)(x, n, (FM_T)scale, (float)offset, spec->nan_level, o8);
    }
    return FM_OK;
}

#undef FM_
#undef FM_CAT
#undef FM_CAT2
