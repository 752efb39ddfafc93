/* C-only tests of fm_render (run under ASan/UBSan by scripts/test.sh).
 *
 * Oracles: a full qsort of the finite values for every rank, min/max and
 * percentile, and the mapping formulas of fm_render.h evaluated directly,
 * one value at a time. */
#include "fm_render.h"
#include "fm_check.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 42;

/* Uniform in [0, 1): a small LCG, so the tests repeat exactly. */
static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The finite values of x, sorted; returns their number. */
static long long sorted_finite(const double *x, long long n, double *out)
{
    long long m = 0;
    for (long long i = 0; i < n; i++)
        if (isfinite(x[i]))
            out[m++] = x[i];
    qsort(out, (size_t)m, sizeof(double), cmp_double);
    return m;
}

static double ref_percentile(const double *sorted, long long m, double q)
{
    double pos = q * (double)(m - 1);
    long long r = (long long)pos;
    double t = pos - (double)r, lo = sorted[r], hi = sorted[r + 1 < m ? r + 1 : m - 1];
    double diff = hi - lo;
    return t >= 0.5 ? hi - diff * (1.0 - t) : lo + diff * t;
}

enum { NORMALISH, TIES, SORTED, REVERSED, CONSTANT, NAN_HEAVY, ALL_NAN, INFS, N_KINDS };

static void fill(double *x, long long n, int kind)
{
    for (long long i = 0; i < n; i++) {
        double u = uniform();
        switch (kind) {
        case NORMALISH: x[i] = (u + uniform() + uniform()) * 1000.0; break;
        case TIES: x[i] = floor(u * 3.0); break;
        case SORTED: x[i] = (double)i; break;
        case REVERSED: x[i] = (double)(n - i); break;
        case CONSTANT: x[i] = 7.5; break;
        case NAN_HEAVY: x[i] = u < 0.9 ? NAN : u; break;
        case ALL_NAN: x[i] = NAN; break;
        default: x[i] = u < 0.05 ? INFINITY : u < 0.1 ? -INFINITY : u < 0.15 ? NAN : u;
        }
    }
    if (kind == NORMALISH && n > 10)
        x[n / 3] = 1e30;   /* one hot pixel */
}

static void check_stats(const double *x, long long n)
{
    double *sorted = malloc((size_t)(n + 1) * sizeof(double));
    float *xf = malloc((size_t)(n + 1) * sizeof(float));
    CHECK(sorted && xf);
    if (!sorted || !xf)
        goto out;
    long long m = sorted_finite(x, n, sorted);
    for (long long i = 0; i < n; i++)
        xf[i] = (float)x[i];
    fm_error err;
    long long count = -1;
    double lo, hi;

    CHECK(fm_finite_range_f64(x, n, &count, &lo, &hi, &err) == FM_OK);
    CHECK(count == m);
    CHECK(m ? lo == sorted[0] && hi == sorted[m - 1] : isnan(lo) && isnan(hi));

    static const double qs[][2] = {{0.005, 0.995}, {0, 1}, {0.5, 0.5}, {0.1, 0.11},
                                   {0.99, 0.999}, {0.02, 0.98}};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        CHECK(fm_percentiles_f64(x, n, qs[k][0], qs[k][1], &count, &lo, &hi, &err)
              == FM_OK);
        CHECK(count == m);
        if (m == 0) {
            CHECK(isnan(lo) && isnan(hi));
        } else {
            CHECK(lo == ref_percentile(sorted, m, qs[k][0]));
            CHECK(hi == ref_percentile(sorted, m, qs[k][1]));
        }
    }

    long long ranks[6] = {0, m / 2, m - 1, 1, m / 200, m - 1 - m / 200};
    double values[6];
    if (m > 1) {
        CHECK(fm_select_ranks_f64(x, n, m, ranks, 6, values, &err) == FM_OK);
        for (int k = 0; k < 6; k++)
            CHECK(values[k] == sorted[ranks[k]]);
    }

    /* The float kernels on the same values (rounded to float first). */
    for (long long i = 0; i < n; i++)
        sorted[i] = (double)xf[i];
    double *xd = malloc((size_t)(n + 1) * sizeof(double));
    CHECK(xd != NULL);
    if (xd) {
        memcpy(xd, sorted, (size_t)n * sizeof(double));
        m = sorted_finite(xd, n, sorted);
        free(xd);
        CHECK(fm_percentiles_f32(xf, n, 0.005, 0.995, &count, &lo, &hi, &err) == FM_OK);
        CHECK(count == m);
        if (m) {
            CHECK(lo == ref_percentile(sorted, m, 0.005));
            CHECK(hi == ref_percentile(sorted, m, 0.995));
        }
        CHECK(fm_finite_range_f32(xf, n, &count, &lo, &hi, &err) == FM_OK);
        CHECK(count == m && (m == 0 || (lo == sorted[0] && hi == sorted[m - 1])));
    }
out:
    free(sorted);
    free(xf);
}

static void test_statistics(void)
{
    static const long long sizes[] = {1, 2, 17, 100, 4096, 4097, 29241, 100003};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        long long n = sizes[s];
        double *x = malloc((size_t)n * sizeof(double));
        CHECK(x != NULL);
        if (!x)
            return;
        for (int kind = 0; kind < N_KINDS; kind++) {
            fill(x, n, kind);
            check_stats(x, n);
        }
        free(x);
    }
}

static void test_selection_errors(void)
{
    double x[5] = {1, NAN, 3, 2, INFINITY};
    long long good[2] = {0, 2}, bad[1] = {3};
    double v[2];
    fm_error err;
    CHECK(fm_select_ranks_f64(x, 5, 3, good, 2, v, &err) == FM_OK);
    CHECK(v[0] == 1 && v[1] == 3);
    CHECK(fm_select_ranks_f64(x, 5, 3, bad, 1, v, &err) == FM_ERR_ARG);
    CHECK(fm_select_ranks_f64(x, 5, 4, good, 2, v, &err) == FM_ERR_ARG);   /* wrong count */
    CHECK(strstr(err.message, "finite") != NULL);
    CHECK(fm_select_ranks_f64(x, 5, 6, good, 2, v, &err) == FM_ERR_ARG);
    long long count;
    double lo, hi;
    CHECK(fm_percentiles_f64(x, 5, 0.6, 0.4, &count, &lo, &hi, &err) == FM_ERR_ARG);
    CHECK(fm_percentiles_f64(x, 5, -0.1, 0.4, &count, &lo, &hi, &err) == FM_ERR_ARG);
    CHECK(fm_percentiles_f64(x, 0, 0.1, 0.4, &count, &lo, &hi, &err) == FM_OK);
    CHECK(count == 0 && isnan(lo) && isnan(hi));
}

/* fm_render.h's LINEAR formula for one value. */
static int ref_linear(double v, int bits, int invert, double vmin, double vmax, int nan_level,
                      int is_float)
{
    int top = bits == 16 ? 65535 : 255;
    if (!isfinite(v))
        return nan_level;
    if (vmax == vmin)
        return (v > vmin) != !!invert ? top : 0;
    double s = top / (vmax - vmin);
    double offset = invert ? top + 0.5 + vmin * s : 0.5 - vmin * s;
    double scale = invert ? -s : s;
    double product = is_float ? (double)((float)v * (float)scale) : v * scale;
    if (bits == 8) {
        float w = (float)product + (float)offset;
        w = w > 0 ? w : 0;
        w = w < 255.5f ? w : 255.5f;
        return (int)w;
    }
    double w = product + offset;
    w = w > 0 ? w : 0;
    w = w < 65535.5 ? w : 65535.5;
    return (int)w;
}

static void test_map_linear(void)
{
    enum { N = 1000 };
    double x[N];
    float xf[N];
    unsigned char o8[N];
    unsigned short o16[N];
    for (int i = 0; i < N; i++) {
        x[i] = uniform() * 14.0 - 2.0;
        if (i % 97 == 0)
            x[i] = NAN;
        if (i % 101 == 0)
            x[i] = i % 2 ? INFINITY : -INFINITY;
        xf[i] = (float)x[i];
    }
    x[5] = 2.0;
    x[6] = 10.0;
    static const double limits[][2] = {{2.0, 10.0}, {-1.0, 3.3}, {4.0, 4.0}};
    fm_error err;
    for (int l = 0; l < 3; l++)
        for (int invert = 0; invert < 2; invert++)
            for (int bits = 8; bits <= 16; bits += 8) {
                fm_map_spec s = {FM_MAP_LINEAR, bits, invert, bits == 8 ? 17 : 4369,
                                 limits[l][0], limits[l][1], NULL, 0};
                void *out = bits == 8 ? (void *)o8 : (void *)o16;
                CHECK(fm_map_f64(x, N, &s, out, &err) == FM_OK);
                for (int i = 0; i < N; i++) {
                    int got = bits == 8 ? o8[i] : o16[i];
                    CHECK(got == ref_linear(x[i], bits, invert, s.vmin, s.vmax, s.nan_level, 0));
                }
                CHECK(fm_map_f32(xf, N, &s, out, &err) == FM_OK);
                for (int i = 0; i < N; i++) {
                    int got = bits == 8 ? o8[i] : o16[i];
                    CHECK(got == ref_linear(xf[i], bits, invert, s.vmin, s.vmax, s.nan_level, 1));
                }
            }
    /* The limits themselves are black and white. */
    fm_map_spec s = {FM_MAP_LINEAR, 8, 0, 0, 2.0, 10.0, NULL, 0};
    CHECK(fm_map_f64(x, N, &s, o8, &err) == FM_OK);
    CHECK(o8[5] == 0 && o8[6] == 255);
    s.invert = 1;
    CHECK(fm_map_f64(x, N, &s, o8, &err) == FM_OK);
    CHECK(o8[5] == 255 && o8[6] == 0);
}

static void test_map_table_and_unit(void)
{
    enum { N = 2000, SIZE = 4096 };
    unsigned char table[SIZE], o8[N];
    unsigned short o16[N];
    double x[N];
    for (int i = 0; i < SIZE; i++)
        table[i] = (unsigned char)(i % 251);
    for (int i = 0; i < N; i++)
        x[i] = i % 50 == 0 ? NAN : uniform() * 1.4 - 0.2;
    fm_error err;
    fm_map_spec s = {FM_MAP_TABLE, 8, 0, 9, 0.0, 1.0, table, SIZE};
    CHECK(fm_map_f64(x, N, &s, o8, &err) == FM_OK);
    for (int i = 0; i < N; i++) {
        float u = (float)(x[i] - 0.0) * (float)(1.0 / 1.0);
        u = u > 0 ? u : 0;
        u = u < 1 ? u : 1;
        int want = isnan(x[i]) ? 9 : table[(int)(sqrtf(u) * (float)(SIZE - 1) + 0.5f)];
        CHECK(o8[i] == want);
    }
    s.vmin = s.vmax = 0.5;   /* a threshold between the table's ends */
    CHECK(fm_map_f64(x, N, &s, o8, &err) == FM_OK);
    for (int i = 0; i < N; i++)
        CHECK(o8[i] == (isnan(x[i]) ? 9 : x[i] > 0.5 ? table[SIZE - 1] : table[0]));

    for (int invert = 0; invert < 2; invert++) {
        fm_map_spec u = {FM_MAP_UNIT, 16, invert, 65535, 0, 0, NULL, 0};
        CHECK(fm_map_f64(x, N, &u, o16, &err) == FM_OK);
        for (int i = 0; i < N; i++) {
            double c = x[i] > 0 ? (x[i] < 1 ? x[i] : 1) : 0;
            c = invert ? 1 - c : c;
            CHECK(o16[i] == (isnan(x[i]) ? 65535 : (int)(c * 65535 + 0.5)));
        }
    }
}

static void test_map_rejects(void)
{
    double x[2] = {0, 1};
    unsigned char out[2], table[2] = {0, 255};
    fm_error err;
    fm_map_spec bad[] = {
        {FM_MAP_LINEAR, 12, 0, 0, 0, 1, NULL, 0},
        {FM_MAP_LINEAR, 8, 0, 256, 0, 1, NULL, 0},
        {FM_MAP_LINEAR, 8, 0, 0, 1, 0, NULL, 0},
        {FM_MAP_LINEAR, 8, 0, 0, NAN, 1, NULL, 0},
        {FM_MAP_TABLE, 8, 0, 0, 0, 1, NULL, 0},
        {FM_MAP_TABLE, 16, 0, 0, 0, 1, table, 2},
        {7, 8, 0, 0, 0, 1, NULL, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(fm_map_f64(x, 2, &bad[i], out, &err) == FM_ERR_ARG);
    fm_map_spec ok = {FM_MAP_TABLE, 8, 0, 0, 0, 1, table, 2};
    CHECK(fm_map_f64(x, 2, &ok, out, &err) == FM_OK);
    CHECK(out[0] == 0 && out[1] == 255);
}

int main(void)
{
    test_statistics();
    test_selection_errors();
    test_map_linear();
    test_map_table_and_unit();
    test_map_rejects();
    return fm_check_exit();
}
