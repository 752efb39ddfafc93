/* C-only tests of fm_checksum (run under ASan/UBSan by scripts/test.sh).
 *
 * The encoded strings and the 1024-byte sum below were produced by
 * astropy.io.fits (an independent implementation of the convention); the
 * other checks are algebraic properties that hold for any input. */
#include "fm_checksum.h"
#include "fm_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Plain reference: one word at a time with an explicit end-around carry. */
static uint32_t slow_sum(const unsigned char *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i < len; i += 4) {
        uint32_t w = ((uint32_t)p[i] << 24) | ((uint32_t)p[i + 1] << 16) |
                     ((uint32_t)p[i + 2] << 8) | p[i + 3];
        uint32_t s = sum + w;
        sum = s < w ? s + 1 : s;
    }
    return sum;
}

static void test_known_vectors(void)
{
    static const struct { uint32_t value; const char *text; } known[] = {
        {0x0u, "0000000000000000"},
        {0x1u, "0000100000000000"},
        {0xffffffffu, "orrrrooooooooooo"},
        {0x12345678u, "N6AGN49EN4AEN49E"},
        {0xdeadbeefu, "kiafngVZkgadkgUZ"},
        {0x33c0201du, "7Bf889Z87Af877Z8"},
        {0x9538da86u, "QVChSU9fQUCfQU9f"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        char out[17];
        fm_checksum_encode(known[i].value, out);
        CHECK(strcmp(out, known[i].text) == 0);
    }
    unsigned char buf[1024];
    for (int i = 0; i < 1024; i++)
        buf[i] = (unsigned char)(i & 0xff);
    uint32_t sum = 0;
    CHECK(fm_checksum_update(buf, sizeof buf, &sum, NULL) == FM_OK);
    CHECK(sum == 0x7f80817eu);
}

static void test_against_slow_and_pieces(void)
{
    size_t n = 4 * 10007;
    unsigned char *buf = malloc(n);
    CHECK(buf != NULL);
    if (!buf)
        return;
    srand(12345);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(rand() & 0xff);
    /* Make long runs of 0xff so carries happen on every word. */
    memset(buf + 400, 0xff, 4000);
    uint32_t whole = 0;
    CHECK(fm_checksum_update(buf, n, &whole, NULL) == FM_OK);
    CHECK(whole == slow_sum(buf, n, 0));
    for (size_t cut = 0; cut <= n; cut += 4 * 997) {
        uint32_t a = 0, b = 0, c = 0;
        CHECK(fm_checksum_update(buf, cut, &a, NULL) == FM_OK);
        CHECK(fm_checksum_update(buf + cut, n - cut, &b, NULL) == FM_OK);
        CHECK(fm_checksum_add(a, b) == whole);
        c = a;
        CHECK(fm_checksum_update(buf + cut, n - cut, &c, NULL) == FM_OK);
        CHECK(c == whole);
    }
    free(buf);
}

static void test_encoding_sums_back(void)
{
    /* The encoded text, placed where a CHECKSUM value sits (byte offset
     * 3 mod 4), adds exactly `value` beyond the sum of sixteen '0's; and it
     * is made of letters and digits only. */
    uint32_t values[] = {0u, 7u, 0x80000000u, 0xfffffffeu, 0xffffffffu,
                         0x01020304u, 0xa5a5a5a5u, 0x3f3f3f3fu};
    for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
        unsigned char zeros[20] = {0}, enc[20] = {0};
        char out[17];
        fm_checksum_encode(values[k], out);
        for (int i = 0; i < 16; i++) {
            int c = out[i];
            CHECK((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                  (c >= 'a' && c <= 'z'));
        }
        memcpy(enc + 3, out, 16);
        memset(zeros + 3, '0', 16);
        uint32_t se = 0, sz = 0;
        fm_checksum_update(enc, 20, &se, NULL);
        fm_checksum_update(zeros, 20, &sz, NULL);
        /* se = sz + value in ones'-complement arithmetic; compare modulo
         * 2^32 - 1, where 0 and 0xffffffff are the same number. */
        uint32_t expect = fm_checksum_add(sz, values[k]);
        CHECK(se % 0xffffffffu == expect % 0xffffffffu);
    }
}

static void test_bad_length(void)
{
    unsigned char buf[8] = {0};
    uint32_t sum = 5;
    fm_error err;
    CHECK(fm_checksum_update(buf, 6, &sum, &err) == FM_ERR_ARG);
    CHECK(err.code == FM_ERR_ARG);
    CHECK(strstr(err.message, "multiple of 4") != NULL);
    CHECK(sum == 5);
}

int main(void)
{
    test_known_vectors();
    test_against_slow_and_pieces();
    test_encoding_sums_back();
    test_bad_length();
    return fm_check_exit();
}
