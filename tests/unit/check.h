/*  check.h: the few lines of test scaffolding gom's unit tests share. A
    failed CHECK prints where and what, and the test exits non-zero. */
#ifndef GOM_CHECK_H
#define GOM_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond)                                                            \
    do {                                                                       \
        check_count++;                                                         \
        if (!(cond)) {                                                         \
            fprintf (stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                     #cond);                                                   \
            check_failures++;                                                  \
        }                                                                      \
    } while (0)

#define CHECK_DONE()                                                           \
    do {                                                                       \
        printf ("%d checks, %d failed\n", check_count, check_failures);        \
        return check_failures ? 1 : 0;                                         \
    } while (0)

#endif
