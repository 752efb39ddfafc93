#include "fm_card.h"
