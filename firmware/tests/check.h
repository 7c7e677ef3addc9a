/*
 * check.h — minimal assertions for the C unit tests (one executable per file, run by ctest).
 * A failed CHECK prints file:line and the expression and counts a failure; CHECK_DONE() prints
 * the summary line "N passed, M failed" and returns the process status.
 */
#ifndef HSM_TEST_CHECK_H
#define HSM_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned check_pass, check_fail;

#define CHECK(expr)                                                                 \
    do {                                                                            \
        if (expr) {                                                                 \
            check_pass++;                                                           \
        } else {                                                                    \
            check_fail++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
        }                                                                           \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                  \
    do {                                                                                    \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                     \
        if (check_a_ == check_b_) {                                                         \
            check_pass++;                                                                   \
        } else {                                                                            \
            check_fail++;                                                                   \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
                    #b, check_a_, check_b_);                                                \
        }                                                                                   \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define CHECK_DONE()                                                       \
    (printf("%u passed, %u failed\n", check_pass, check_fail), check_fail ? 1 : 0)

#endif
