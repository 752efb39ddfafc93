/* fm_rows: placeholder, filled in by its owner. */
#ifndef FM_ROWS_H
#define FM_ROWS_H
#include "fm_status.h"
#endif
