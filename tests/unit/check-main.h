/* SPDX-License-Identifier: MIT */
#pragma once

/* The main() of every check suite: runs the suite and ends with the line
 * "N passed, N failed" that tests/run-tiers.sh adds up. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_MAIN(make_suite)                                                        \
        int main(void) {                                                              \
                SRunner *sr = srunner_create(make_suite());                           \
                srunner_run_all(sr, CK_NORMAL);                                       \
                int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr); \
                srunner_free(sr);                                                     \
                printf("%d passed, %d failed\n", run - failed, failed);               \
                return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                     \
        }
