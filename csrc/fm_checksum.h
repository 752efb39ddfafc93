/* fm_checksum: the FITS checksum convention (FITS 4.0, appendix J).
 *
 * The HDU checksum is the 32-bit ones'-complement sum of the big-endian
 * 32-bit words of its header and data blocks.  Sums of pieces combine with
 * fm_checksum_add, so DATASUM can be reused when only the header changes.
 */
#ifndef FM_CHECKSUM_H
#define FM_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "fm_status.h"

/* Add the words of buf to *sum (ones'-complement, end-around carry).
 * len must be a multiple of 4, so pieces of a stream combine exactly. */
int fm_checksum_update(const unsigned char *buf, size_t len, uint32_t *sum,
                       fm_error *err);

/* Ones'-complement sum of two partial checksums. */
uint32_t fm_checksum_add(uint32_t a, uint32_t b);

/* The 16-character CHECKSUM value whose words sum to `value` (beyond the
 * "0000000000000000" it replaces); pass the complement of the HDU sum.
 * out receives 16 characters and a terminating NUL. */
void fm_checksum_encode(uint32_t value, char out[17]);

#endif
