/* harness: shared helpers for the test suites (placeholder). */
#include "harness.h"
