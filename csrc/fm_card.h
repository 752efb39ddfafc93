/* fm_card: scanning of FITS header cards (FITS 4.0, section 4).
 *
 * The kernels only locate things inside 80-byte card images: the END card,
 * each card's keyword, value token and comment.  They never allocate and
 * never convert text to numbers; the Python layer does that from the spans
 * reported here, so a card that is never looked at is never parsed.
 */
#ifndef FM_CARD_H
#define FM_CARD_H

#include <stddef.h>

#include "fm_status.h"

#define FM_CARD_LEN 80
#define FM_KEY_FIELD 8   /* columns 1-8: the keyword field */
#define FM_BLOCK_LEN 2880

/* What a card is, judged from its keyword field and value indicator. */
enum {
    FM_CARD_VALUE = 0,       /* KEYWORD = value / comment */
    FM_CARD_COMMENTARY = 1,  /* COMMENT, HISTORY or blank keyword: text */
    FM_CARD_HIERARCH = 2,    /* HIERARCH long keyword = value / comment */
    FM_CARD_CONTINUE = 3,    /* CONTINUE  'more of a long string&' */
    FM_CARD_NOVALUE = 4,     /* other keyword without "= ": kept as text */
    FM_CARD_END = 5
};

/* Flags of a card's keyword (fm_card_key.flags). */
enum {
    FM_KF_LOWER = 1,     /* keyword has lower-case letters (readers fold) */
    FM_KF_BADCHAR = 2,   /* keyword has characters outside A-Z 0-9 - _ */
    FM_KF_EQPOS = 4,     /* "= " found before column 9, not at it */
    FM_KF_JUNK = 8       /* END card with non-blank columns 9-80 */
};

/* Kinds of value token (fm_card_fields.vtype). */
enum {
    FM_VAL_TEXT = 0,       /* commentary text: the span is the text */
    FM_VAL_UNDEFINED = 1,  /* value indicator with an empty value field */
    FM_VAL_LOGICAL = 2,    /* span is the single T or F */
    FM_VAL_INT = 3,        /* span is [+-]digits */
    FM_VAL_FLOAT = 4,      /* span is a decimal number with . or exponent */
    FM_VAL_COMPLEX = 5,    /* span is the real part, span 2 the imaginary */
    FM_VAL_STRING = 6,     /* span is between the quotes, '' still doubled */
    FM_VAL_BAD = 7         /* unparsable value field; span is the field */
};

/* Flags of a value (fm_card_fields.vflags). */
enum {
    FM_VF_REAL_FLOAT = 1,  /* complex: real part is not an integer */
    FM_VF_IMAG_FLOAT = 2,  /* complex: imaginary part is not an integer */
    FM_VF_DEXP = 4,        /* a number uses a D (double) exponent */
    FM_VF_LOWEXP = 8,      /* a number uses a lower-case exponent letter */
    FM_VF_SPACES = 16,     /* a number has blanks inside (after its sign,
                              around its exponent letter) */
    FM_VF_LONEQUOTE = 32   /* a string has a quote that is not doubled; it
                              ends at the first quote followed by nothing
                              but blanks or a comment */
};

/* Where a card's keyword is (offsets within the card image). */
typedef struct {
    int kind;        /* FM_CARD_* */
    int key_start;   /* the keyword as readers report it; for HIERARCH the */
    int key_len;     /* name after "HIERARCH ", for others columns 1-8    */
    int val_start;   /* first byte after the value indicator (text: 8)   */
    int flags;       /* FM_KF_* */
} fm_card_key;

/* A card split into keyword, value token(s) and comment. */
typedef struct {
    fm_card_key key;
    int vtype;           /* FM_VAL_* */
    int v_start, v_len;  /* value token */
    int v2_start, v2_len;/* imaginary part of a complex value */
    int c_start, c_len;  /* comment after "/" and blanks, right-trimmed;
                            c_start is -1 when there is no "/" */
    int vflags;          /* FM_VF_* */
    int str_amp;         /* string value whose last non-blank is '&' */
} fm_card_fields;

/* Classify one 80-byte card and locate its keyword.  Never fails. */
void fm_card_keyword(const char *card, fm_card_key *out);

/* Split one 80-byte card into keyword, value token and comment.  Never
 * fails: an unparsable value field is reported as FM_VAL_BAD. */
void fm_card_split(const char *card, fm_card_fields *out);

/* Index of the first card of buf[0, len) whose keyword field is END, or
 * -1; only keyword fields are looked at, so this cheaply tells whether a
 * header read block by block is complete. */
long fm_find_end(const char *buf, size_t len);

/* The number of a split card: its integer (FM_VAL_INT) in *ival, or its
 * double (FM_VAL_FLOAT) or real and imaginary parts (FM_VAL_COMPLEX) in *re
 * and *im, correctly rounded.  Returns 1 when converted, 0 when the caller
 * must convert the text itself: an integer beyond 64 bits, or a C library
 * whose locale reads the decimal point differently. */
int fm_card_number(const char *card, const fm_card_fields *f, long long *ival,
                   double *re, double *im);

/* The size of the primary header at the start of buf when it is plain
 * enough for the writers' byte-level path: the first card is SIMPLE with
 * its value indicator ("=" in column 9), every byte up to and including
 * the END card is printable ASCII, and the padding after END to the end
 * of its 2880-byte block is ASCII without NUL.  Returns that size (whole blocks) with *ncards the number of cards
 * before END, or 0 (no END within len bytes, or any check fails: the
 * general reader then decides and reports). */
size_t fm_plain_primary(const char *buf, size_t len, size_t *ncards);

/* The keyword fields (columns 1-8) of the first ncards cards of buf, one
 * after the other in out (room for ncards * FM_KEY_FIELD bytes): a compact
 * index in which a caller finds cards by keyword with one substring
 * search. */
void fm_keyword_fields(const char *buf, size_t ncards, char *out);

/* Scan a header from the start of buf up to and including its END card.
 *
 * Cards are 80-byte aligned; every byte before the END card and the END
 * card itself must be printable ASCII (32-126).  keys must have room for
 * len / 80 entries; keys[i] describes card i, and group[i] (same size) is
 * the number of CONTINUE cards that follow card i and carry on its long
 * string (they keep their own keys entries too).  On success *ncards is the
 * number of cards before END and keys[*ncards] describes the END card
 * (FM_KF_JUNK set when its columns 9-80 are not blank).
 *
 * With keys and group NULL the cards are only checked (no output but
 * *ncards), so a caller can get the error for a long buffer without END
 * without allocating per-card arrays.
 *
 * Errors (FM_ERR_FORMAT, offset into buf): a non-printable byte, or no END
 * card within len bytes. */
int fm_header_scan(const char *buf, size_t len, fm_card_key *keys,
                   int *group, size_t *ncards, fm_error *err);

#endif
