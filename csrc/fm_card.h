/* fm_card: placeholder, filled in by its owner. */
#ifndef FM_CARD_H
#define FM_CARD_H
#include "fm_status.h"
#endif
