/* C-only tests of fm_rows: placeholder until its owner writes them. */
#include "fm_rows.h"

int main(void) { return 0; }
