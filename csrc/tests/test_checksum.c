/* C-only tests of fm_checksum: placeholder until its owner writes them. */
#include "fm_checksum.h"

int main(void) { return 0; }
