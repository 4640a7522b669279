/* harness: shared helpers for the test suites. */
#ifndef FCA_TEST_HARNESS_H
#define FCA_TEST_HARNESS_H
#endif
