#include "fm_card.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Index one past the last non-blank byte of card[from, to). */
static int rtrim(const char *card, int from, int to)
{
    while (to > from && card[to - 1] == ' ')
        to--;
    return to;
}

static int skip_blanks(const char *card, int p)
{
    while (p < FM_CARD_LEN && card[p] == ' ')
        p++;
    return p;
}

static void set_key_span(const char *card, int start, int stop,
                         fm_card_key *out)
{
    while (start < stop && card[start] == ' ')
        start++;
    stop = rtrim(card, start, stop);
    out->key_start = start;
    out->key_len = stop - start;
}

/* Character checks for a standard (8-column) keyword. */
static int key_flags(const char *card, int start, int len)
{
    int flags = 0;
    for (int i = start; i < start + len; i++) {
        char c = card[i];
        if (c >= 'a' && c <= 'z')
            flags |= FM_KF_LOWER;
        else if (!((c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_'))
            flags |= FM_KF_BADCHAR;
    }
    return flags;
}

/* Whether the keyword field (columns 1-8) holds name, blank-padded; with
 * fold, lower-case letters in the field match too. */
static int keyword_field_is(const char *card, const char *name, int fold)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < 8; i++) {
        char c = card[i];
        if (fold && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != (i < n ? name[i] : ' '))
            return 0;
    }
    return 1;
}

static int is_hierarch(const char *card)
{
    return keyword_field_is(card, "HIERARCH", 1) && card[8] == ' '
           && memchr(card + 9, '=', FM_CARD_LEN - 9) != NULL;
}

/* Position of the first "= " in the card, or -1. */
static int find_value_indicator(const char *card)
{
    for (int i = 0; i + 1 < FM_CARD_LEN; i++)
        if (card[i] == '=' && card[i + 1] == ' ')
            return i;
    return -1;
}

/* Whether the keyword field may be one of the special names (END,
 * COMMENT, HISTORY, CONTINUE, HIERARCH, blank): a cheap first-letter test
 * that spares ordinary cards the full comparisons. */
static int may_be_special(const char *card)
{
    switch (card[0]) {
    case ' ': case 'C': case 'E': case 'H': case 'c': case 'h':
        return 1;
    default:
        return 0;
    }
}

void fm_card_keyword(const char *card, fm_card_key *out)
{
    out->flags = 0;
    out->val_start = 8;
    if (!may_be_special(card))
        goto standard;
    if (keyword_field_is(card, "END", 0)) {
        out->kind = FM_CARD_END;
        set_key_span(card, 0, 8, out);
        if (rtrim(card, 8, FM_CARD_LEN) > 8)
            out->flags |= FM_KF_JUNK;
        return;
    }
    if (keyword_field_is(card, "COMMENT", 1) || keyword_field_is(card, "HISTORY", 1)
        || keyword_field_is(card, "", 0)) {
        out->kind = FM_CARD_COMMENTARY;
        set_key_span(card, 0, 8, out);
        out->flags |= key_flags(card, out->key_start, out->key_len);
        return;
    }
    if (keyword_field_is(card, "CONTINUE", 1)) {
        out->kind = FM_CARD_CONTINUE;
        set_key_span(card, 0, 8, out);
        out->flags |= key_flags(card, out->key_start, out->key_len);
        return;
    }
    if (is_hierarch(card)) {
        const char *eq = memchr(card + 9, '=', FM_CARD_LEN - 9);
        int e = (int)(eq - card);
        out->kind = FM_CARD_HIERARCH;
        set_key_span(card, 9, e, out);
        out->val_start = e + 1;
        /* any printable character but '=' may appear: only case matters */
        out->flags |= key_flags(card, out->key_start, out->key_len) & FM_KF_LOWER;
        return;
    }
standard:;
    int vi = find_value_indicator(card);
    if (vi >= 0 && vi <= 8) {
        out->kind = FM_CARD_VALUE;
        set_key_span(card, 0, vi, out);
        out->val_start = vi + 2;
        if (vi < 8)
            out->flags |= FM_KF_EQPOS;
    } else {
        out->kind = FM_CARD_NOVALUE;
        set_key_span(card, 0, 8, out);
    }
    out->flags |= key_flags(card, out->key_start, out->key_len);
    if (out->key_start > 0 && out->key_len > 0)
        out->flags |= FM_KF_BADCHAR;   /* keywords start in column 1 */
}

static int is_exponent_letter(char c)
{
    return c == 'E' || c == 'e' || c == 'D' || c == 'd';
}

/* Index of the first non-blank at or after p, flagging skipped blanks as a
 * number with blanks inside. */
static int skip_inner_blanks(const char *card, int p, int *vflags)
{
    int q = skip_blanks(card, p);
    if (q > p)
        *vflags |= FM_VF_SPACES;
    return q;
}

/* Scan a number [+-](digits[.digits]|.digits)[(E|D)[+-]digits] at p, also
 * accepting blanks after the signs and around the exponent letter as
 * readers commonly do (flagged).  Returns the index after it, or -1.
 * *is_float tells whether it has a decimal point or exponent. */
static int scan_number(const char *card, int p, int *is_float, int *vflags)
{
    int digits = 0;
    *is_float = 0;
    if (p < FM_CARD_LEN && (card[p] == '+' || card[p] == '-'))
        p = skip_inner_blanks(card, p + 1, vflags);
    while (p < FM_CARD_LEN && is_digit(card[p])) {
        p++;
        digits++;
    }
    if (p < FM_CARD_LEN && card[p] == '.') {
        *is_float = 1;
        p++;
        while (p < FM_CARD_LEN && is_digit(card[p])) {
            p++;
            digits++;
        }
    }
    if (!digits)
        return -1;
    int e = skip_blanks(card, p);
    if (e < FM_CARD_LEN && is_exponent_letter(card[e])) {
        int exp_digits = 0;
        if (e > p)
            *vflags |= FM_VF_SPACES;
        if (card[e] == 'D' || card[e] == 'd')
            *vflags |= FM_VF_DEXP;
        if (card[e] == 'e' || card[e] == 'd')
            *vflags |= FM_VF_LOWEXP;
        *is_float = 1;
        p = skip_inner_blanks(card, e + 1, vflags);
        if (p < FM_CARD_LEN && (card[p] == '+' || card[p] == '-'))
            p = skip_inner_blanks(card, p + 1, vflags);
        while (p < FM_CARD_LEN && is_digit(card[p])) {
            p++;
            exp_digits++;
        }
        if (!exp_digits)
            return -1;
    }
    return p;
}

/* Parse the complex value "(re, im)" starting at the '(' at p. */
static int scan_complex(const char *card, int p, fm_card_fields *out)
{
    int is_float;
    p = skip_blanks(card, p + 1);
    out->v_start = p;
    p = scan_number(card, p, &is_float, &out->vflags);
    if (p < 0)
        return -1;
    out->v_len = p - out->v_start;
    if (is_float)
        out->vflags |= FM_VF_REAL_FLOAT;
    p = skip_blanks(card, p);
    if (p >= FM_CARD_LEN || card[p] != ',')
        return -1;
    p = skip_blanks(card, p + 1);
    out->v2_start = p;
    p = scan_number(card, p, &is_float, &out->vflags);
    if (p < 0)
        return -1;
    out->v2_len = p - out->v2_start;
    if (is_float)
        out->vflags |= FM_VF_IMAG_FLOAT;
    p = skip_blanks(card, p);
    if (p >= FM_CARD_LEN || card[p] != ')')
        return -1;
    return p + 1;
}

/* Whether only blanks, or blanks and a comment, follow position p. */
static int value_ends_at(const char *card, int p)
{
    p = skip_blanks(card, p);
    return p >= FM_CARD_LEN || card[p] == '/';
}

/* Parse the quoted string starting at the quote at p.  Doubled quotes are
 * part of the string; failing that (a lone quote inside), the string ends
 * at the first quote followed by nothing but blanks or a comment, as
 * lenient readers take it (flagged).  Returns the index after the closing
 * quote, or -1. */
static int scan_string(const char *card, int p, fm_card_fields *out)
{
    int q = p + 1;
    while (q < FM_CARD_LEN) {
        if (card[q] == '\'') {
            if (q + 1 < FM_CARD_LEN && card[q + 1] == '\'') {
                q += 2;
                continue;
            }
            break;
        }
        q++;
    }
    if (q >= FM_CARD_LEN || !value_ends_at(card, q + 1)) {
        for (q = p + 1; q < FM_CARD_LEN; q++)
            if (card[q] == '\'' && value_ends_at(card, q + 1))
                break;
        if (q >= FM_CARD_LEN)
            return -1;
        out->vflags |= FM_VF_LONEQUOTE;
    }
    out->v_start = p + 1;
    out->v_len = q - (p + 1);
    int last = rtrim(card, out->v_start, q);
    out->str_amp = last > out->v_start && card[last - 1] == '&';
    return q + 1;
}

static void set_comment(const char *card, int slash, fm_card_fields *out)
{
    int p = skip_blanks(card, slash + 1);
    out->c_start = p;
    out->c_len = rtrim(card, p, FM_CARD_LEN) - p;
}

/* The whole value field is unparsable: keep it as one span and take what
 * follows its first '/' as the comment, the best guess there is. */
static void set_bad(const char *card, int from, fm_card_fields *out)
{
    from = skip_blanks(card, from);
    out->vtype = FM_VAL_BAD;
    out->v_start = from;
    out->v_len = rtrim(card, from, FM_CARD_LEN) - from;
    out->v2_start = out->v2_len = 0;
    out->c_start = -1;
    out->c_len = 0;
    out->str_amp = 0;
    out->vflags = 0;   /* flags of a token that did not parse mean nothing */
    const char *slash = memchr(card + from, '/', (size_t)(FM_CARD_LEN - from));
    if (slash)
        set_comment(card, (int)(slash - card), out);
}

static void parse_value(const char *card, int from, fm_card_fields *out)
{
    int p = skip_blanks(card, from);
    int after;
    if (p >= FM_CARD_LEN || card[p] == '/') {
        out->vtype = FM_VAL_UNDEFINED;
        out->v_start = p;
        after = p;
    } else if (card[p] == '\'') {
        out->vtype = FM_VAL_STRING;
        after = scan_string(card, p, out);
    } else if (card[p] == 'T' || card[p] == 'F') {
        out->vtype = FM_VAL_LOGICAL;
        out->v_start = p;
        out->v_len = 1;
        after = p + 1;
    } else if (card[p] == '(') {
        out->vtype = FM_VAL_COMPLEX;
        after = scan_complex(card, p, out);
    } else {
        int is_float;
        out->v_start = p;
        after = scan_number(card, p, &is_float, &out->vflags);
        out->v_len = after - p;
        out->vtype = is_float ? FM_VAL_FLOAT : FM_VAL_INT;
    }
    if (after < 0) {
        set_bad(card, from, out);
        return;
    }
    p = skip_blanks(card, after);
    if (p < FM_CARD_LEN) {
        if (card[p] != '/') {
            set_bad(card, from, out);
            return;
        }
        set_comment(card, p, out);
    }
}

void fm_card_split(const char *card, fm_card_fields *out)
{
    memset(out, 0, sizeof *out);
    out->c_start = -1;
    fm_card_keyword(card, &out->key);
    switch (out->key.kind) {
    case FM_CARD_VALUE:
    case FM_CARD_HIERARCH:
    case FM_CARD_CONTINUE:
        parse_value(card, out->key.val_start, out);
        break;
    default:
        out->vtype = FM_VAL_TEXT;
        out->v_start = 8;
        out->v_len = rtrim(card, 8, FM_CARD_LEN) - 8;
        break;
    }
}

/* The double of a scanned number span (blanks dropped, D exponents read as
 * E); 0 when strtod does not read all of it. */
static int span_to_double(const char *card, int start, int len, double *out)
{
    char buf[FM_CARD_LEN + 1];
    char *end;
    int n = 0;
    for (int i = start; i < start + len; i++) {
        char c = card[i];
        if (c == ' ')
            continue;
        buf[n++] = (c == 'D' || c == 'd') ? 'E' : c;
    }
    buf[n] = '\0';
    *out = strtod(buf, &end);
    return n > 0 && end == buf + n;
}

/* The integer of a scanned integer span; 0 when it does not fit. */
static int span_to_integer(const char *card, int start, int len, long long *out)
{
    unsigned long long v = 0;
    int i = start, neg = 0;
    if (card[i] == '+' || card[i] == '-')
        neg = card[i++] == '-';
    for (; i < start + len; i++) {
        if (card[i] == ' ')
            continue;
        unsigned digit = (unsigned)(card[i] - '0');
        if (v > (ULLONG_MAX - digit) / 10)
            return 0;
        v = v * 10 + digit;
    }
    if (v > (unsigned long long)LLONG_MAX)
        return 0;
    *out = neg ? -(long long)v : (long long)v;
    return 1;
}

int fm_card_number(const char *card, const fm_card_fields *f, long long *ival,
                   double *re, double *im)
{
    switch (f->vtype) {
    case FM_VAL_INT:
        return span_to_integer(card, f->v_start, f->v_len, ival);
    case FM_VAL_FLOAT:
        return span_to_double(card, f->v_start, f->v_len, re);
    case FM_VAL_COMPLEX:
        return span_to_double(card, f->v_start, f->v_len, re)
               && span_to_double(card, f->v2_start, f->v2_len, im);
    default:
        return 0;
    }
}

/* A string value ending in '&' that a CONTINUE card may carry on. */
static int opens_long_string(const char *card)
{
    fm_card_fields f;
    fm_card_split(card, &f);
    return f.vtype == FM_VAL_STRING && f.str_amp;
}

long fm_find_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + FM_CARD_LEN <= len; i += FM_CARD_LEN)
        if (keyword_field_is(buf + i, "END", 0))
            return (long)(i / FM_CARD_LEN);
    return -1;
}

size_t fm_plain_primary(const char *buf, size_t len, size_t *ncards)
{
    if (len < FM_CARD_LEN || !keyword_field_is(buf, "SIMPLE", 0) || buf[8] != '=')
        return 0;
    for (size_t i = 0; i + FM_CARD_LEN <= len; i += FM_CARD_LEN) {
        /* branch-free over the card, so it vectorises */
        unsigned bad = 0;
        for (int j = 0; j < FM_CARD_LEN; j++) {
            unsigned char c = (unsigned char)buf[i + j];
            bad |= (unsigned)(c < 32) | (unsigned)(c > 126);
        }
        if (bad)
            return 0;
        if (!keyword_field_is(buf + i, "END", 0))
            continue;
        size_t size = (i / FM_BLOCK_LEN + 1) * FM_BLOCK_LEN;
        if (size > len)
            return 0;
        for (size_t j = i + FM_CARD_LEN; j < size; j++) {
            unsigned char c = (unsigned char)buf[j];
            bad |= (unsigned)(c == 0) | (unsigned)(c > 127);
        }
        if (bad)
            return 0;
        *ncards = i / FM_CARD_LEN;
        return size;
    }
    return 0;
}

void fm_keyword_fields(const char *buf, size_t ncards, char *out)
{
    for (size_t i = 0; i < ncards; i++)
        memcpy(out + i * FM_KEY_FIELD, buf + i * FM_CARD_LEN, FM_KEY_FIELD);
}

int fm_header_scan(const char *buf, size_t len, fm_card_key *keys,
                   int *group, size_t *ncards, fm_error *err)
{
    size_t n = len / FM_CARD_LEN;
    long head = -1;   /* card whose long string is still open, or -1 */
    for (size_t i = 0; i < n; i++) {
        const char *card = buf + i * FM_CARD_LEN;
        /* branch-free over the card so the compiler vectorises it; the
         * offending byte is looked for only when there is one */
        unsigned bad = 0;
        for (int j = 0; j < FM_CARD_LEN; j++) {
            unsigned char c = (unsigned char)card[j];
            bad |= (unsigned)(c < 32) | (unsigned)(c > 126);
        }
        for (int j = 0; bad && j < FM_CARD_LEN; j++) {
            unsigned char c = (unsigned char)card[j];
            if (c < 32 || c > 126)
                return fm_fail(err, FM_ERR_FORMAT,
                               (long long)(i * FM_CARD_LEN + (size_t)j),
                               "byte 0x%02x in header card %zu is not printable ASCII",
                               c, i + 1);
        }
        fm_card_key own, *k = keys ? &keys[i] : &own;
        fm_card_keyword(card, k);
        if (k->kind == FM_CARD_END) {
            *ncards = i;
            return FM_OK;
        }
        if (!keys)
            continue;
        group[i] = 0;
        if (k->kind == FM_CARD_CONTINUE && head >= 0) {
            fm_card_fields f;
            fm_card_split(card, &f);
            if (f.vtype == FM_VAL_STRING) {
                group[head]++;
                if (!f.str_amp)
                    head = -1;
                continue;
            }
        }
        head = -1;
        if ((k->kind == FM_CARD_VALUE || k->kind == FM_CARD_HIERARCH)
            && i + 1 < n
            && keyword_field_is(card + FM_CARD_LEN, "CONTINUE", 1)
            && opens_long_string(card))
            head = (long)i;
    }
    if (len % FM_CARD_LEN)
        return fm_fail(err, FM_ERR_FORMAT, (long long)len,
                       "header of %zu bytes has no END card and is not a whole number of 80-byte cards",
                       len);
    return fm_fail(err, FM_ERR_FORMAT, (long long)len,
                   "no END card in %zu bytes of header", len);
}
