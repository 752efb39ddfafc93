/* C-only tests of fm_card (run by CTest, also under ASan/UBSan). */
#include "fm_card.h"
#include "fm_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* An 80-byte card from a shorter text, blank padded (static buffer). */
static const char *card(const char *text)
{
    static char buf[FM_CARD_LEN];
    size_t n = strlen(text);
    memset(buf, ' ', sizeof buf);
    memcpy(buf, text, n < FM_CARD_LEN ? n : FM_CARD_LEN);
    return buf;
}

static int span_is(const char *c, int start, int len, const char *text)
{
    return start >= 0 && len == (int)strlen(text) && memcmp(c + start, text, (size_t)len) == 0;
}

static void test_split(void)
{
    fm_card_fields f;
    const char *c;

    c = card("NAXIS1  =                 1024 / width of the image");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_VALUE && span_is(c, f.key.key_start, f.key.key_len, "NAXIS1"));
    CHECK(f.vtype == FM_VAL_INT && span_is(c, f.v_start, f.v_len, "1024"));
    CHECK(span_is(c, f.c_start, f.c_len, "width of the image"));

    c = card("EXPTIME =               1.5D-3");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_FLOAT && span_is(c, f.v_start, f.v_len, "1.5D-3"));
    CHECK((f.vflags & FM_VF_DEXP) && f.c_start == -1);

    c = card("OBJECT  = 'it''s a test'  / quoted");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_STRING && span_is(c, f.v_start, f.v_len, "it''s a test"));
    CHECK(!(f.vflags & FM_VF_LONEQUOTE) && span_is(c, f.c_start, f.c_len, "quoted"));

    c = card("OBJECT  = 'it's'");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_STRING && span_is(c, f.v_start, f.v_len, "it's"));
    CHECK(f.vflags & FM_VF_LONEQUOTE);

    c = card("LONG    = 'abc&  '");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_STRING && f.str_amp);

    c = card("FLAG    =                    T / yes");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_LOGICAL && c[f.v_start] == 'T');

    c = card("Z       = (1.5, -2)");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_COMPLEX && span_is(c, f.v_start, f.v_len, "1.5"));
    CHECK(span_is(c, f.v2_start, f.v2_len, "-2"));
    CHECK((f.vflags & FM_VF_REAL_FLOAT) && !(f.vflags & FM_VF_IMAG_FLOAT));

    c = card("U       =  / nothing");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_UNDEFINED && span_is(c, f.c_start, f.c_len, "nothing"));

    c = card("N       =   -  12 e 3");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_FLOAT && (f.vflags & FM_VF_SPACES) && (f.vflags & FM_VF_LOWEXP));

    c = card("BAD     = 12 34 / two");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_BAD && span_is(c, f.v_start, f.v_len, "12 34 / two"));
    CHECK(span_is(c, f.c_start, f.c_len, "two"));

    c = card("BAD     = 'unterminated");
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_BAD);

    c = card("HIERARCH ESO DET CHIP = 'CCD' / chip");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_HIERARCH && span_is(c, f.key.key_start, f.key.key_len, "ESO DET CHIP"));
    CHECK(f.vtype == FM_VAL_STRING && span_is(c, f.v_start, f.v_len, "CCD"));

    c = card("COMMENT   some text / not a comment");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_COMMENTARY && f.vtype == FM_VAL_TEXT);
    CHECK(span_is(c, f.v_start, f.v_len, "  some text / not a comment") && f.c_start == -1);

    c = card("history lower case");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_COMMENTARY && (f.key.flags & FM_KF_LOWER));

    c = card("date    = '2020'");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_VALUE && (f.key.flags & FM_KF_LOWER));

    c = card("A= 5");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_VALUE && (f.key.flags & FM_KF_EQPOS) && f.vtype == FM_VAL_INT);

    c = card("  KEY   = 1");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_VALUE && (f.key.flags & FM_KF_BADCHAR));
    CHECK(span_is(c, f.key.key_start, f.key.key_len, "KEY"));

    c = card("NOEQUAL  free text");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_NOVALUE && span_is(c, f.v_start, f.v_len, " free text"));

    c = card("END     junk");
    fm_card_split(c, &f);
    CHECK(f.key.kind == FM_CARD_END && (f.key.flags & FM_KF_JUNK));
}

static void test_number(void)
{
    fm_card_fields f;
    long long i = 0;
    double re = 0, im = 0;
    const char *c;

    c = card("N       = -0042");
    fm_card_split(c, &f);
    CHECK(fm_card_number(c, &f, &i, &re, &im) && i == -42);
    c = card("N       = 9223372036854775807");
    fm_card_split(c, &f);
    CHECK(fm_card_number(c, &f, &i, &re, &im) && i == 9223372036854775807LL);
    c = card("N       = 9223372036854775808");   /* left to the caller */
    fm_card_split(c, &f);
    CHECK(f.vtype == FM_VAL_INT && !fm_card_number(c, &f, &i, &re, &im));
    c = card("N       = -  12");
    fm_card_split(c, &f);
    CHECK(fm_card_number(c, &f, &i, &re, &im) && i == -12);
    c = card("X       = 1.5D-3");
    fm_card_split(c, &f);
    CHECK(fm_card_number(c, &f, &i, &re, &im) && re == 1.5e-3);
    c = card("X       = 0.1");
    fm_card_split(c, &f);
    CHECK(fm_card_number(c, &f, &i, &re, &im) && re == 0.1);
    c = card("Z       = (1, -2.5E1)");
    fm_card_split(c, &f);
    CHECK(fm_card_number(c, &f, &i, &re, &im) && re == 1.0 && im == -25.0);
    c = card("S       = 'text'");
    fm_card_split(c, &f);
    CHECK(!fm_card_number(c, &f, &i, &re, &im));
}

static void test_scan(void)
{
    char buf[FM_BLOCK_LEN];
    fm_card_key keys[FM_BLOCK_LEN / FM_CARD_LEN];
    int group[FM_BLOCK_LEN / FM_CARD_LEN];
    size_t n = 0;
    fm_error err;
    const char *cards[] = {
        "SIMPLE  =                    T", "LONG    = 'abc&'", "CONTINUE  'def&'",
        "CONTINUE  'ghi' / end", "CONTINUE  'orphan'", "END",
    };
    memset(buf, ' ', sizeof buf);
    for (size_t i = 0; i < sizeof cards / sizeof *cards; i++)
        memcpy(buf + i * FM_CARD_LEN, cards[i], strlen(cards[i]));

    CHECK(fm_find_end(buf, sizeof buf) == 5);
    CHECK(fm_find_end(buf, 5 * FM_CARD_LEN + 79) == -1);
    CHECK(fm_header_scan(buf, sizeof buf, keys, group, &n, &err) == FM_OK);
    CHECK(n == 5 && group[0] == 0 && group[1] == 2 && group[4] == 0);
    CHECK(keys[4].kind == FM_CARD_CONTINUE && keys[5].kind == FM_CARD_END);
    CHECK(!(keys[5].flags & FM_KF_JUNK));

    /* no END within the bytes given: the error points at their end */
    CHECK(fm_header_scan(buf, 5 * FM_CARD_LEN, keys, group, &n, &err) == FM_ERR_FORMAT);
    CHECK(err.code == FM_ERR_FORMAT && err.offset == 5 * FM_CARD_LEN);
    CHECK(fm_header_scan(buf, 0, keys, group, &n, &err) == FM_ERR_FORMAT && err.offset == 0);
    CHECK(fm_header_scan(buf, 81, keys, group, &n, &err) == FM_ERR_FORMAT && err.offset == 81);
    /* checking only (no per-card output) gives the same answers */
    CHECK(fm_header_scan(buf, sizeof buf, NULL, NULL, &n, &err) == FM_OK && n == 5);
    CHECK(fm_header_scan(buf, 5 * FM_CARD_LEN, NULL, NULL, &n, &err) == FM_ERR_FORMAT);

    /* a control byte: the error points at it */
    buf[2 * FM_CARD_LEN + 17] = '\t';
    CHECK(fm_header_scan(buf, sizeof buf, keys, group, &n, &err) == FM_ERR_FORMAT);
    CHECK(err.offset == 2 * FM_CARD_LEN + 17 && strstr(err.message, "0x09"));
    buf[2 * FM_CARD_LEN + 17] = (char)0xe9;
    CHECK(fm_header_scan(buf, sizeof buf, keys, group, &n, &err) == FM_ERR_FORMAT);
    CHECK(err.offset == 2 * FM_CARD_LEN + 17 && strstr(err.message, "0xe9"));
    /* ... but bytes after the END card are not the header's */
    buf[2 * FM_CARD_LEN + 17] = ' ';
    buf[7 * FM_CARD_LEN] = 0;
    CHECK(fm_header_scan(buf, sizeof buf, keys, group, &n, &err) == FM_OK && n == 5);
}

/* Deterministic fuzz: random cards from a small alphabet that makes the
 * parsers branch; every span must stay inside the card. */
static void test_keyword_fields(void)
{
    char buf[3 * FM_CARD_LEN + 1];
    char out[3 * FM_KEY_FIELD + 1] = {0};
    snprintf(buf, sizeof buf, "%-80s%-80s%-80s", "SIMPLE  =                    T",
             "        blank keyword", "HIERARCH ESO A = 1");
    fm_keyword_fields(buf, 3, out);
    CHECK(memcmp(out, "SIMPLE          HIERARCH", 3 * FM_KEY_FIELD) == 0);
    /* no cards: nothing written */
    out[0] = 'x';
    fm_keyword_fields(buf, 0, out);
    CHECK(out[0] == 'x');
}

static void test_fuzz(void)
{
    static const char alphabet[] = " '/=()+-.,&EDed0123456789TFHIERACONTUabc";
    unsigned long state = 12345;
    char c[FM_CARD_LEN];
    fm_card_fields f;
    for (int round = 0; round < 200000; round++) {
        for (int i = 0; i < FM_CARD_LEN; i++) {
            state = state * 6364136223846793005UL + 1442695040888963407UL;
            c[i] = alphabet[(state >> 33) % (sizeof alphabet - 1)];
        }
        if (round % 3 == 0)
            memcpy(c, "KEY     = ", 10);
        else if (round % 3 == 1)
            memcpy(c, "HIERARCH A B = ", 15);
        fm_card_split(c, &f);
        CHECK(f.key.key_start >= 0 && f.key.key_start + f.key.key_len <= FM_CARD_LEN);
        CHECK(f.v_start >= 0 && f.v_len >= 0 && f.v_start + f.v_len <= FM_CARD_LEN);
        CHECK(f.v2_start >= 0 && f.v2_start + f.v2_len <= FM_CARD_LEN);
        CHECK(f.c_start == -1 || (f.c_start + f.c_len <= FM_CARD_LEN && f.c_len >= 0));
        if (failures)
            return;
    }
}

/* The writers' plain-header check: sizes in whole blocks, cards counted,
 * and every reason to leave a header to the general reader. */
static void test_plain_primary(void)
{
    static char buf[3 * FM_BLOCK_LEN];
    size_t n = 0, end = 40;   /* END as card 41: the header takes two blocks */
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "SIMPLE  =                    T", 30);
    memcpy(buf + end * FM_CARD_LEN, "END", 3);
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 2 * FM_BLOCK_LEN && n == end);
    /* the header must lie within the bytes given */
    CHECK(fm_plain_primary(buf, 2 * FM_BLOCK_LEN - 1, &n) == 0);
    CHECK(fm_plain_primary(buf, end * FM_CARD_LEN, &n) == 0);
    /* bytes after the END block are not looked at */
    buf[2 * FM_BLOCK_LEN] = 0;
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 2 * FM_BLOCK_LEN);
    /* padding: NUL and 8-bit bytes refused, other control bytes allowed */
    buf[2 * FM_BLOCK_LEN - 1] = 0;
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 0);
    buf[2 * FM_BLOCK_LEN - 1] = (char)0xe9;
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 0);
    buf[2 * FM_BLOCK_LEN - 1] = '\n';
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 2 * FM_BLOCK_LEN);
    /* cards up to END (END included) must be printable */
    buf[3 * FM_CARD_LEN + 50] = '\t';
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 0);
    buf[3 * FM_CARD_LEN + 50] = ' ';
    buf[end * FM_CARD_LEN + 79] = 0x7f;
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 0);
    buf[end * FM_CARD_LEN + 79] = ' ';
    /* the first card must be SIMPLE with a value indicator */
    buf[8] = ' ';
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 0);
    buf[8] = '=';
    memcpy(buf, "XTENSION", 8);
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == 0);
    memcpy(buf, "SIMPLE  ", 8);
    /* END in the last card of a block: that block is the last one */
    memset(buf + end * FM_CARD_LEN, ' ', 3);
    memcpy(buf + 35 * FM_CARD_LEN, "END", 3);
    CHECK(fm_plain_primary(buf, sizeof buf, &n) == FM_BLOCK_LEN && n == 35);
}

int main(void)
{
    test_split();
    test_number();
    test_scan();
    test_keyword_fields();
    test_plain_primary();
    test_fuzz();
    return fm_check_exit();
}
