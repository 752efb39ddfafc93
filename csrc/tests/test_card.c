/* C-only tests of fm_card: placeholder until its owner writes them. */
#include "fm_card.h"

int main(void) { return 0; }
