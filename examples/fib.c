// fib: Fibonacci numbers, a small CPU-bound WASI command.
//
//   fib <n>        iterative, n <= 93 (the largest that fits into 64 bits)
//   fib iter <n>   the same
//   fib rec <n>    naive doubly-recursive version (exponential time: n = 30 needs ~1.6 M calls,
//                  n = 40 ~330 M), n <= 50, to generate CPU load of a chosen size
//
// Prints "fib(<n>) = <value>" and exits 0; usage errors go to stderr with exit status 2.

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fib_iter(unsigned n) {
  uint64_t a = 0, b = 1;
  for (unsigned i = 0; i < n; i++) {
    uint64_t next = a + b;
    a = b;
    b = next;
  }
  return a;
}

static uint64_t fib_rec(unsigned n) {
  return n < 2 ? n : fib_rec(n - 1) + fib_rec(n - 2);
}

static int usage(const char* why) {
  fprintf(stderr, "fib: %s\nusage: fib [iter|rec] <n>   (iter: n <= 93, rec: n <= 50)\n", why);
  return 2;
}

int main(int argc, char** argv) {
  int recursive = 0;
  int arg = 1;
  if (argc > 1 && strcmp(argv[1], "rec") == 0) {
    recursive = 1;
    arg = 2;
  } else if (argc > 1 && strcmp(argv[1], "iter") == 0) {
    arg = 2;
  }
  if (argc != arg + 1) return usage("expected exactly one number");

  char* end;
  errno = 0;
  long n = strtol(argv[arg], &end, 10);
  if (errno != 0 || end == argv[arg] || *end != '\0' || n < 0)
    return usage("n must be a non-negative integer");
  if (n > (recursive ? 50 : 93)) return usage("n is too large");

  uint64_t value = recursive ? fib_rec((unsigned)n) : fib_iter((unsigned)n);
  printf("fib(%ld) = %llu\n", n, (unsigned long long)value);
  return 0;
}
