#include "fm_checksum.h"

#include <string.h>

/* Fold a 64-bit accumulator of 32-bit words back to 32 bits; the carries
 * wrap around, which is what ones'-complement addition means. */
static uint32_t fold(uint64_t s)
{
    while (s >> 32)
        s = (s & 0xffffffffu) + (s >> 32);
    return (uint32_t)s;
}

static uint32_t load_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

uint32_t fm_checksum_add(uint32_t a, uint32_t b)
{
    return fold((uint64_t)a + b);
}

int fm_checksum_update(const unsigned char *buf, size_t len, uint32_t *sum,
                       fm_error *err)
{
    if (len % 4)
        return fm_fail(err, FM_ERR_ARG, -1,
                       "checksum input length %zu is not a multiple of 4", len);
    /* Two independent accumulators let the compiler overlap the loads; a
     * 64-bit accumulator of 32-bit words cannot overflow within 2^32 words,
     * so chunks are bounded to stay far below that. */
    uint64_t total = *sum;
    const size_t chunk = (size_t)1 << 30;
    while (len) {
        size_t n = len < chunk ? len : chunk;
        uint64_t a = 0, b = 0;
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            a += load_be32(buf + i);
            b += load_be32(buf + i + 4);
        }
        if (i < n)
            a += load_be32(buf + i);
        total = fold(total + fold(a) + fold(b));
        buf += n;
        len -= n;
    }
    *sum = (uint32_t)total;
    return FM_OK;
}

/* Characters between the digits and letters that the encoding must avoid. */
static int excluded(int c)
{
    return (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60);
}

void fm_checksum_encode(uint32_t value, char out[17])
{
    char spread[16];
    for (int i = 0; i < 4; i++) {
        int byte = (int)((value >> (24 - 8 * i)) & 0xff);
        int ch[4];
        /* Split each byte over four characters offset by '0'; moving one
         * unit between the two characters of a pair keeps the sum and steps
         * out of the punctuation range. */
        for (int j = 0; j < 4; j++)
            ch[j] = byte / 4 + '0';
        ch[0] += byte % 4;
        int moved = 1;
        while (moved) {
            moved = 0;
            for (int j = 0; j < 4; j += 2) {
                if (excluded(ch[j]) || excluded(ch[j + 1])) {
                    ch[j]++;
                    ch[j + 1]--;
                    moved = 1;
                }
            }
        }
        for (int j = 0; j < 4; j++)
            spread[4 * j + i] = (char)ch[j];
    }
    /* The value starts at byte 11 of its card (3 mod 4), so the characters
     * are rotated by one to land on the word positions they were built for. */
    for (int i = 0; i < 16; i++)
        out[i] = spread[(i + 15) % 16];
    out[16] = '\0';
}
