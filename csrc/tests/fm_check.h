/* The checking harness shared by the C-only tests: CHECK counts failures
 * and goes on, so one run reports every broken case; fm_check_exit() is the
 * test program's exit status. */
#ifndef FM_CHECK_H
#define FM_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int failures;

#define CHECK(cond)                                                     \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,      \
                    __LINE__, #cond);                                   \
            failures++;                                                 \
        }                                                               \
    } while (0)

static int fm_check_exit(void)
{
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
