#!/usr/bin/env python3
"""Writes a deterministic C program of N functions (loops, switches, calls, floating point,
snprintf) for the compile benchmark: ordinary compiled code, the kind of input whose compile time
the native provider's compile budget is sized for.

Usage: gen_program.py <functions> <out.c>
"""
import random
import sys

random.seed(1)
n = int(sys.argv[1])
out = ["#include <stdio.h>", "#include <stdlib.h>", "#include <string.h>"]
for i in range(n):
    ops = []
    for j in range(random.randint(5, 25)):
        k = random.randint(0, 5)
        if k == 0:
            ops.append(f"  for (int i = 0; i < n % {random.randint(3, 50)}; ++i) "
                       f"acc = acc * {random.randint(3, 99)} + a[i % 16] ^ (acc >> {random.randint(1, 9)});")
        elif k == 1:
            ops.append(f"  switch ((acc + {j}) % 7) {{ case 0: acc += {random.randint(1, 1000)}; break; "
                       f"case 1: acc ^= a[{j % 16}]; break; case 2: acc -= n; break; "
                       f"case 3: a[{j % 16}] = acc; break; default: acc = acc * 31 + {j}; }}")
        elif k == 2 and i > 0:
            ops.append(f"  acc += f{random.randint(0, i - 1)}(a, n + {j});")
        elif k == 3:
            ops.append(f"  if (acc & {1 << random.randint(0, 20)}) {{ double d = acc * 0.5 + {j}.25; "
                       f"acc = (long)(d * d) % 1000003; }}")
        elif k == 4:
            ops.append(f'  {{ char buf[32]; snprintf(buf, sizeof buf, "%ld-{j}", acc); acc += (long)strlen(buf); }}')
        else:
            ops.append(f"  while (acc > {random.randint(1000, 100000)}) acc /= 3;")
    out.append(f"long f{i}(long* a, long n) {{\n  long acc = n;\n" + "\n".join(ops) + "\n  return acc;\n}")
out.append("int main(int argc, char** argv) { long a[16] = {0}; long s = 0; "
           "for (int i = 0; i < 3; ++i) s += f%d(a, argc + i); printf(\"%%ld\\n\", s); return 0; }" % (n - 1))
with open(sys.argv[2], "w") as f:
    f.write("\n".join(out) + "\n")
