/* fm_checksum: placeholder, filled in by its owner. */
#ifndef FM_CHECKSUM_H
#define FM_CHECKSUM_H
#include "fm_status.h"
#endif
