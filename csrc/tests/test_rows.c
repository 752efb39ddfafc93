/* C-only tests of fm_rows (run under ASan/UBSan by scripts/test.sh).
 *
 * The oracle is a deliberately naive block mean: every pixel is decoded on
 * its own from its big-endian bytes and the block is summed in long double,
 * with no shared code with the kernel's vertical/horizontal split. */
#define _DEFAULT_SOURCE  /* mkstemp */
#include "fm_rows.h"
#include "fm_check.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const int SIZES[FM_PIX_NTYPES] = {1, 1, 2, 2, 4, 4, 8, 4, 8};

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Decode one pixel byte by byte; *valid says whether it counts. */
static long double decode(int type, const unsigned char *p, int has_blank,
                          long long blank, int *valid)
{
    uint64_t u = 0;
    for (int i = 0; i < SIZES[type]; i++)
        u = (u << 8) | p[i];
    long long iv = 0;
    switch (type) {
    case FM_PIX_U8: iv = (long long)u; break;
    case FM_PIX_I8: iv = (int8_t)u; break;
    case FM_PIX_I16: iv = (int16_t)u; break;
    case FM_PIX_U16: iv = (long long)u; break;
    case FM_PIX_I32: iv = (int32_t)u; break;
    case FM_PIX_U32: iv = (long long)u; break;
    case FM_PIX_I64: iv = (long long)u; break;
    case FM_PIX_F32: {
        uint32_t w = (uint32_t)u;
        float f;
        memcpy(&f, &w, sizeof f);
        *valid = !isnan(f);
        return f;
    }
    default: {
        double d;
        memcpy(&d, &u, sizeof d);
        *valid = !isnan(d);
        return d;
    }
    }
    *valid = !(has_blank && iv == blank);
    return (long double)iv;
}

static void reference(const fm_rows_spec *s, const unsigned char *raw,
                      long long height, float *out)
{
    long long ow = fm_rows_out_width(s), sz = SIZES[s->pixtype];
    for (long long by = 0; by * s->factor < height; by++)
        for (long long bx = 0; bx < ow; bx++) {
            long double sum = 0;
            long long n = 0;
            for (long long y = by * s->factor; y < height && y < (by + 1) * s->factor; y++)
                for (long long x = bx * s->factor; x < s->width && x < (bx + 1) * s->factor; x++) {
                    int valid;
                    long double v = decode(s->pixtype, raw + (y * s->width + x) * sz,
                                           s->has_blank, s->blank, &valid);
                    if (valid) {
                        sum += v;
                        n++;
                    }
                }
            out[by * ow + bx] = n ? (float)(sum / n * s->bscale + s->bzero) : NAN;
        }
}

static int close_enough(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return fabsf(a - b) <= 1e-5f * (fabsf(a) + fabsf(b)) + 1e-6f;
}

/* Random bytes, with a sprinkling of BLANK values and NaNs. */
static void fill(int type, unsigned char *raw, long long npix, long long blank)
{
    long long sz = SIZES[type];
    for (long long i = 0; i < npix * sz; i++)
        raw[i] = (unsigned char)rng();
    for (long long i = 0; i < npix; i++) {
        unsigned char *p = raw + i * sz;
        if (type == FM_PIX_F32 || type == FM_PIX_F64) {
            /* keep floats in a sane range: exponent near 1, sometimes NaN */
            p[0] = (rng() % 7 == 0) ? 0x7f : (p[0] & 0x80) | 0x3f;
            if (p[0] == 0x7f)
                p[1] = 0xff;
            else
                p[1] = (unsigned char)(type == FM_PIX_F32 ? 0x80 | (p[1] & 0x7f) : 0xf0 | (p[1] & 0x0f));
        } else if (rng() % 5 == 0) {
            uint64_t u = (uint64_t)blank;
            for (long long k = sz - 1; k >= 0; k--, u >>= 8)
                p[k] = (unsigned char)u;
        }
    }
}

/* Feed h rows in calls of `chunk` rows (bands then straddle calls, or
 * come whole); return the number of output rows written. */
static long long run_binner(const fm_rows_spec *s, const unsigned char *raw,
                            long long h, long long chunk, float *got, long long oh)
{
    long long ow = fm_rows_out_width(s), rowbytes = s->width * SIZES[s->pixtype];
    fm_binner *b = NULL;
    fm_error err;
    long long written = 0, n;
    CHECK(fm_binner_new(s, &b, &err) == FM_OK);
    for (long long y = 0; y < h; y += chunk) {
        long long k = h - y < chunk ? h - y : chunk;
        CHECK(fm_binner_add(b, raw + y * rowbytes, k, got + written * ow, oh - written,
                            &n, &err) == FM_OK);
        written += n;
    }
    CHECK(fm_binner_flush(b, got + written * ow, oh - written, &n, &err) == FM_OK);
    fm_binner_free(b);
    return written + n;
}

static void test_against_reference(void)
{
    /* width, height, factor: every spelled-out small factor, generic ones,
     * partial bands of 1-3 rows beyond groups of four, factors past the
     * 32-bit block sums (182, 200) and past the 32-bit column sums; for the
     * int16 pair sums (even factors), odd widths and edge blocks of every
     * parity, rows of fewer and more than 16 pixels, the largest pair
     * factor and the next even one. */
    static const long long shapes[][3] = {
        {1, 1, 1}, {7, 5, 2}, {12, 23, 5}, {33, 9, 4}, {5, 40, 7}, {64, 3, 64}, {17, 17, 1},
        {25, 14, 3}, {61, 13, 6}, {70, 17, 8}, {50, 22, 9}, {47, 31, 13}, {19, 11, 11},
        {400, 3, 182}, {401, 5, 200}, {33000, 2, 32769},
        {1, 3, 2}, {3, 7, 2}, {45, 9, 6}, {47, 10, 10}, {91, 6, 12}, {100, 5, 16},
        {16390, 2, 16384}, {16390, 2, 16386},
    };
    static const long long chunks[] = {1, 3, 1 << 30};
    static const long long blanks[FM_PIX_NTYPES] = {0, -128, -32768, 7, -99, 3, -1, 0, 0};
    for (int type = 0; type < FM_PIX_NTYPES; type++)
        for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
            for (int has_blank = 0; has_blank < 2; has_blank++)
                for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
                    long long w = shapes[k][0], h = shapes[k][1], f = shapes[k][2];
                    fm_rows_spec s = {type, w, f, has_blank, blanks[type], 1.5, -3.0};
                    long long ow = fm_rows_out_width(&s), oh = (h + f - 1) / f;
                    unsigned char *raw = malloc((size_t)(w * h * SIZES[type]));
                    float *got = malloc(sizeof(float) * (size_t)(ow * oh));
                    float *want = malloc(sizeof(float) * (size_t)(ow * oh));
                    fill(type, raw, w * h, blanks[type]);
                    reference(&s, raw, h, want);
                    CHECK(run_binner(&s, raw, h, chunks[c], got, oh) == oh);
                    for (long long i = 0; i < ow * oh; i++)
                        if (!close_enough(got[i], want[i])) {
                            fprintf(stderr, "type %d shape %lldx%lld f %lld blank %d chunk %lld "
                                    "pixel %lld: %g != %g\n", type, w, h, f, has_blank,
                                    chunks[c], i, got[i], want[i]);
                            failures++;
                            break;
                        }
                    free(raw);
                    free(got);
                    free(want);
                }
}

static void test_known_numbers(void)
{
    /* 3x2 int16 with BZERO 32768 and BLANK -1, factor 2: blocks
     * {1,2,4,5} -> 3 and {3,BLANK} -> 3, plus BZERO. */
    const unsigned char raw[] = {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0xff, 0xff};
    fm_rows_spec s = {FM_PIX_I16, 3, 2, 1, -1, 1.0, 32768.0};
    float out[2];
    fm_binner *b;
    fm_error err;
    long long n;
    CHECK(fm_binner_new(&s, &b, &err) == FM_OK);
    CHECK(fm_binner_add(b, raw, 2, out, 1, &n, &err) == FM_OK);
    CHECK(n == 1);
    CHECK(out[0] == 32771.0f && out[1] == 32771.0f);
    fm_binner_free(b);

    /* An all-NaN block is NaN; a block with one finite value is that value. */
    const unsigned char nan2[] = {0x7f, 0xc0, 0, 0, 0x7f, 0xc0, 0, 0, 0x3f, 0x80, 0, 0, 0x7f, 0xc0, 0, 0};
    fm_rows_spec sf = {FM_PIX_F32, 2, 2, 0, 0, 1.0, 0.0};
    CHECK(fm_binner_new(&sf, &b, &err) == FM_OK);
    CHECK(fm_binner_add(b, nan2, 1, out, 0, &n, &err) == FM_OK && n == 0);
    CHECK(fm_binner_flush(b, out, 1, &n, &err) == FM_OK && n == 1);
    CHECK(isnan(out[0]));
    CHECK(fm_binner_add(b, nan2 + 8, 1, out, 0, &n, &err) == FM_OK && n == 0);
    CHECK(fm_binner_flush(b, out, 1, &n, &err) == FM_OK && n == 1);
    CHECK(out[0] == 1.0f);
    fm_binner_free(b);
}

static void test_bad_arguments(void)
{
    fm_binner *b = NULL;
    fm_error err;
    fm_rows_spec bad_type = {99, 4, 1, 0, 0, 1.0, 0.0};
    CHECK(fm_binner_new(&bad_type, &b, &err) == FM_ERR_ARG && b == NULL);
    fm_rows_spec bad_width = {FM_PIX_I16, 0, 1, 0, 0, 1.0, 0.0};
    CHECK(fm_binner_new(&bad_width, &b, &err) == FM_ERR_ARG);
    fm_rows_spec huge = {FM_PIX_I16, LLONG_MAX, 1, 0, 0, 1.0, 0.0};
    CHECK(fm_binner_new(&huge, &b, &err) == FM_ERR_ARG);
    CHECK(fm_rows_out_width(&bad_width) == 0);

    /* Output too small for the bands the rows complete. */
    fm_rows_spec s = {FM_PIX_U8, 2, 1, 0, 0, 1.0, 0.0};
    const unsigned char raw[4] = {1, 2, 3, 4};
    float out[2];
    long long n;
    CHECK(fm_binner_new(&s, &b, &err) == FM_OK);
    CHECK(fm_binner_add(b, raw, 2, out, 1, &n, &err) == FM_ERR_ARG);
    CHECK(strstr(err.message, "output") != NULL);
    fm_binner_free(b);
}

static void test_scale_fd(void)
{
    char name[] = "/tmp/fm_rows_testXXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    unlink(name);
    /* 100 bytes of header-like junk, then a 300 x 41 int32 image. */
    long long w = 300, h = 41, f = 4, off = 100;
    size_t bytes = (size_t)(w * h * 4);
    unsigned char *buf = calloc(1, (size_t)off + bytes);
    fill(FM_PIX_I32, buf + off, w * h, 0);
    CHECK(write(fd, buf, (size_t)off + bytes) == (ssize_t)(off + (long long)bytes));

    fm_rows_spec s = {FM_PIX_I32, w, f, 0, 0, 2.0, 10.0};
    long long ow = fm_rows_out_width(&s), oh = (h + f - 1) / f;
    float *got = malloc(sizeof(float) * (size_t)(ow * oh));
    float *want = malloc(sizeof(float) * (size_t)(ow * oh));
    fm_error err;
    reference(&s, buf + off, h, want);
    CHECK(fm_rows_scale_fd(fd, off, 0, h, &s, got, oh, &err) == FM_OK);
    for (long long i = 0; i < ow * oh; i++)
        CHECK(close_enough(got[i], want[i]));

    /* A later band range alone gives the same rows. */
    CHECK(fm_rows_scale_fd(fd, off, 8, h - 8, &s, got, oh - 2, &err) == FM_OK);
    for (long long i = 0; i < ow * (oh - 2); i++)
        CHECK(close_enough(got[i], want[2 * ow + i]));

    /* Misaligned first row, and a file too short for the image. */
    CHECK(fm_rows_scale_fd(fd, off, 3, 4, &s, got, oh, &err) == FM_ERR_ARG);
    CHECK(fm_rows_scale_fd(fd, off + 4, 0, h, &s, got, oh, &err) == FM_ERR_FORMAT);
    CHECK(err.offset == off + (long long)bytes);
    CHECK(strstr(err.message, "truncated") != NULL);
    CHECK(fm_rows_scale_fd(fd, 0, 0, LLONG_MAX / 2, &s, got, LLONG_MAX, &err) == FM_ERR_FORMAT);
    CHECK(fm_rows_scale_fd(-1, off, 0, h, &s, got, oh, &err) == FM_ERR_IO);
    close(fd);
    free(buf);
    free(got);
    free(want);
}

/* Blocks of extreme values large enough that their sums overflow 32 bits
 * (factor^2 * 65535 >= 2^31 from factor 182): the means stay exact. */
static void test_large_blocks(void)
{
    static const struct { int type; unsigned char hi, lo; long long f; float mean; } cases[] = {
        {FM_PIX_U16, 0xff, 0xff, 182, 65535.0f}, {FM_PIX_U16, 0xff, 0xff, 200, 65535.0f},
        {FM_PIX_I16, 0x80, 0x00, 190, -32768.0f}, {FM_PIX_I16, 0x7f, 0xff, 181, 32767.0f},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long long f = cases[c].f, n = f * f;
        unsigned char *raw = malloc((size_t)(2 * n));
        for (long long i = 0; i < n; i++) {
            raw[2 * i] = cases[c].hi;
            raw[2 * i + 1] = cases[c].lo;
        }
        fm_rows_spec s = {cases[c].type, f, f, 0, 0, 1.0, 0.0};
        float out[1];
        CHECK(run_binner(&s, raw, f, f, out, 1) == 1);
        CHECK(out[0] == cases[c].mean);
        free(raw);
    }
}

/* float32 where NaN is rare (most groups of eight columns have none, as
 * in real images) and where infinities meet: blocks with +inf alone give
 * +inf, blocks with both signs NaN, blocks with NaN and other pixels the
 * mean of the others; widths around multiples of eight, bands of 1-9 rows
 * given whole and in pieces. */
static void put_f32(unsigned char *p, float v)
{
    union { float f; uint32_t u; } b = {v};
    for (int k = 3; k >= 0; k--, b.u >>= 8)
        p[k] = (unsigned char)b.u;
}

static void test_f32_sparse_specials(void)
{
    static const long long widths[] = {7, 8, 9, 16, 23, 37, 64};
    static const long long factors[] = {1, 2, 3, 4, 5, 8, 9};
    static const long long chunks[] = {1, 3, 1 << 30};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
        for (size_t fi = 0; fi < sizeof factors / sizeof *factors; fi++)
            for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
                long long w = widths[wi], f = factors[fi], h = 2 * f + 1;
                fm_rows_spec s = {FM_PIX_F32, w, f, 0, 0, 2.0, 1.0};
                long long ow = fm_rows_out_width(&s), oh = (h + f - 1) / f;
                unsigned char *raw = malloc((size_t)(w * h * 4));
                float *got = malloc(sizeof(float) * (size_t)(ow * oh));
                float *want = malloc(sizeof(float) * (size_t)(ow * oh));
                for (long long i = 0; i < w * h; i++) {
                    uint64_t r = rng() % 97;
                    put_f32(raw + 4 * i, r == 0 ? NAN : r == 1 ? INFINITY
                                         : r == 2 ? -INFINITY
                                         : (float)(rng() % 2001) / 64.0f - 15.0f);
                }
                reference(&s, raw, h, want);
                CHECK(run_binner(&s, raw, h, chunks[c], got, oh) == oh);
                for (long long i = 0; i < ow * oh; i++) {
                    int same = isinf(want[i]) || isinf(got[i]) ? got[i] == want[i]
                                                                : close_enough(got[i], want[i]);
                    if (!same) {
                        fprintf(stderr, "f32 specials: width %lld factor %lld chunk %lld "
                                "pixel %lld: %g != %g\n", w, f, chunks[c], i, got[i], want[i]);
                        failures++;
                        break;
                    }
                }
                free(raw);
                free(got);
                free(want);
            }
}

int main(void)
{
    test_against_reference();
    test_f32_sparse_specials();
    test_large_blocks();
    test_known_numbers();
    test_bad_arguments();
    test_scale_fd();
    return fm_check_exit();
}
