/* fm_rows: big-endian FITS image rows -> block means (downscaling).
 *
 * Each output pixel is the mean of the valid pixels of a factor x factor
 * block: pixels equal to BLANK (integer types, when has_blank) and NaN
 * (float types) are left out, edge blocks average the pixels present, a
 * block without valid pixels is NaN.  BSCALE/BZERO are applied once per
 * output pixel to the mean, in double precision (exact, since scaling is
 * linear).
 *
 * Rows are accumulated vertically into one wide row of column sums (and
 * counts of BLANK/NaN pixels when there can be any) and reduced
 * horizontally once per band of factor rows, so memory is O(width) and the
 * inner loops vectorise.
 */
#ifndef FM_ROWS_H
#define FM_ROWS_H

#include "fm_status.h"

/* Pixel types: FITS BITPIX plus the unsigned/signed-byte variants that
 * CFITSIO hands out after applying the conventional BZERO offsets.  Values
 * are always big-endian (FITS byte order). */
typedef enum {
    FM_PIX_U8 = 0,
    FM_PIX_I8,
    FM_PIX_I16,
    FM_PIX_U16,
    FM_PIX_I32,
    FM_PIX_U32,
    FM_PIX_I64,
    FM_PIX_F32,
    FM_PIX_F64,
    FM_PIX_NTYPES
} fm_pixtype;

typedef struct {
    int pixtype;          /* an fm_pixtype */
    long long width;      /* pixels per input row (NAXIS1), >= 1 */
    long long factor;     /* block edge in pixels, >= 1 */
    int has_blank;        /* integer types: leave out pixels equal to blank */
    long long blank;      /* compared with the raw (unscaled) value */
    double bscale;        /* output = mean * bscale + bzero */
    double bzero;
} fm_rows_spec;

/* Bytes per pixel of a pixel type, 0 for an unknown type. */
int fm_pixtype_size(int pixtype);

/* Output row length, ceil(width / factor); 0 when spec is invalid. */
long long fm_rows_out_width(const fm_rows_spec *spec);

/* A band accumulator fed with whole rows; caller-owned (one per stream). */
typedef struct fm_binner fm_binner;

/* Check spec and allocate a binner for it. */
int fm_binner_new(const fm_rows_spec *spec, fm_binner **out, fm_error *err);

void fm_binner_free(fm_binner *b);

/* Add nrows whole rows (nrows * width * pixel size bytes at raw).  Every
 * completed band of factor rows writes one output row of
 * fm_rows_out_width() floats to out; *nout says how many rows were written.
 * out must hold out_capacity rows; (pending + nrows) / factor is enough. */
int fm_binner_add(fm_binner *b, const unsigned char *raw, long long nrows,
                  float *out, long long out_capacity, long long *nout,
                  fm_error *err);

/* Emit the pending partial band (edge blocks), if any: 0 or 1 row. */
int fm_binner_flush(fm_binner *b, float *out, long long out_capacity,
                    long long *nout, fm_error *err);

/* Downscale rows [first_row, first_row + nrows) of an uncompressed image
 * whose data start at byte data_offset of the open file fd.  first_row
 * must be a multiple of factor; ceil(nrows / factor) rows go to out, which
 * must hold out_capacity rows.  A file too short for the requested rows is
 * FM_ERR_FORMAT (offset = file size).  Memory stays O(width x factor). */
int fm_rows_scale_fd(int fd, long long data_offset, long long first_row,
                     long long nrows, const fm_rows_spec *spec, float *out,
                     long long out_capacity, fm_error *err);

#endif
