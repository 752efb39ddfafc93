#include "fm_rows.h"
