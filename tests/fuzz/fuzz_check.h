// FUZZ_CHECK: the property checks of our fuzzers. A failed check prints what was violated and
// aborts, which libFuzzer reports as a crash and saves the input (crash-<sha1>). Unlike assert()
// it does not depend on NDEBUG, so the checks hold in every build type.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, what)                                                                     \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  violated: %s\n", __FILE__, __LINE__, \
                   what, #cond);                                                                   \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)
