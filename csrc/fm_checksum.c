#include "fm_checksum.h"
