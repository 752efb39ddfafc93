/* Preview rendering kernels: display limits from the finite pixel values
 * and the mapping of pixel values to 8- or 16-bit grey levels.
 *
 * Every function exists for float (_f32) and double (_f64) values.  Non-finite
 * values (NaN, +-inf) never enter a statistic and are painted in a given
 * level.  The arithmetic of each mapping is spelt out below because the
 * Python layer promises the same levels as its NumPy reference.
 */
#ifndef FM_RENDER_H
#define FM_RENDER_H

#include "fm_status.h"

/* How fm_map_* turns values into levels 0..top (top = 2^bits - 1). */
enum {
    /* From raw values.  vmax > vmin: with s = top / (vmax - vmin),
     * level = trunc(clip(v * s + (0.5 - vmin * s), 0, top + 0.5)), or
     * trunc(clip(v * -s + (top + 0.5 + vmin * s), 0, top + 0.5)) when
     * inverting; s and the offset are computed in double, the product in
     * the value's type, the rest in float for 8 bits and in double for 16.
     * vmax == vmin: top for values above vmin, 0 otherwise (swapped when
     * inverting). */
    FM_MAP_LINEAR = 0,
    /* From raw values, 8 bits only, in float: u = clip((v - vmin) *
     * (1 / (vmax - vmin)), 0, 1) (u = v > vmin ? 1 : 0 when vmax == vmin),
     * level = table[trunc(sqrt(u) * (table_size - 1) + 0.5)].  The table
     * holds the stretched (and inverted) level of each sqrt(u) sample. */
    FM_MAP_TABLE = 1,
    /* From values already in [0, 1] (clipped), in the values' type:
     * u = 1 - u when inverting, level = trunc(u * top + 0.5). */
    FM_MAP_UNIT = 2
};

typedef struct {
    int mode;                    /* FM_MAP_* */
    int bits;                    /* 8: out is unsigned char, 16: unsigned short */
    int invert;                  /* bright values dark */
    int nan_level;               /* level of non-finite values, 0..top */
    double vmin, vmax;           /* LINEAR, TABLE: finite, vmin <= vmax */
    const unsigned char *table;  /* TABLE: table_size levels */
    long long table_size;        /* TABLE: 2..65536 */
} fm_map_spec;

/* Number of finite values among x[0..n) and their minimum and maximum
 * (NaN when there are none). */
int fm_finite_range_f32(const float *x, long long n, long long *count,
                        double *lo, double *hi, fm_error *err);
int fm_finite_range_f64(const double *x, long long n, long long *count,
                        double *lo, double *hi, fm_error *err);

/* Percentiles of the finite values with linear interpolation between
 * ranks (NumPy's default method): lower and upper are fractions with
 * 0 <= lower <= upper <= 1.  Exact: the ranks are selected, never
 * estimated.  count receives the number of finite values; without any,
 * lo and hi are NaN. */
int fm_percentiles_f32(const float *x, long long n, double lower, double upper,
                       long long *count, double *lo, double *hi, fm_error *err);
int fm_percentiles_f64(const double *x, long long n, double lower, double upper,
                       long long *count, double *lo, double *hi, fm_error *err);

/* values[k] = the finite value at 0-based rank ranks[k] in sorted order.
 * count is the number of finite values the caller expects; a different
 * count or a rank outside [0, count) is FM_ERR_ARG. */
int fm_select_ranks_f32(const float *x, long long n, long long count,
                        const long long *ranks, int nranks, double *values,
                        fm_error *err);
int fm_select_ranks_f64(const double *x, long long n, long long count,
                        const long long *ranks, int nranks, double *values,
                        fm_error *err);

/* Levels of x[0..n) into out[0..n) (see the FM_MAP_* modes). */
int fm_map_f32(const float *x, long long n, const fm_map_spec *spec, void *out,
               fm_error *err);
int fm_map_f64(const double *x, long long n, const fm_map_spec *spec, void *out,
               fm_error *err);

#endif
