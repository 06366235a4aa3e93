// hello: a small WASI command that shows everything a wasimoff task can see and produce.
//
//   hello [--cat <path>]... [--exit <n>] [args...]
//
// In this order it prints argv and the environment, lists the preopened directory `/` recursively
// (directories, then files with their sizes; entries sorted by name so the output does not depend
// on the host's directory order), prints the files named by `--cat`, copies stdin to stdout with
// every line prefixed by "stdin> ", writes `/hello.txt` (so artifact collection can be tested),
// writes one line to stderr and exits with the status given by `--exit` (default 0).
//
// The output is deterministic: no timestamps, inode numbers, directory sizes or other host details.
// Usage errors go to stderr with exit status 2; I/O failures are reported and give exit status 1.

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

extern char** environ;

enum { kMaxCat = 16, kMaxDepth = 32, kMaxEntries = 4096, kMaxPath = 1024 };

static int g_failures = 0;

static int compare_names(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

// Lists `path` (a directory) and everything below it. Directories are shown with a trailing '/'.
static void list_tree(const char* path, int depth) {
  if (depth > kMaxDepth) {
    printf("%s: not descending further (more than %d levels)\n", path, kMaxDepth);
    return;
  }
  DIR* dir = opendir(path);
  if (dir == NULL) {
    fprintf(stderr, "hello: cannot list %s: %s\n", path, strerror(errno));
    g_failures++;
    return;
  }
  char** names = NULL;
  size_t count = 0, capacity = 0;
  struct dirent* entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (count == kMaxEntries) {
      printf("%s: more than %d entries, listing truncated\n", path, kMaxEntries);
      break;
    }
    if (count == capacity) {
      capacity = capacity ? capacity * 2 : 16;
      char** grown = realloc(names, capacity * sizeof(char*));
      if (grown == NULL) break;
      names = grown;
    }
    char* copy = strdup(entry->d_name);
    if (copy == NULL) break;
    names[count++] = copy;
  }
  closedir(dir);
  qsort(names, count, sizeof(char*), compare_names);

  for (size_t i = 0; i < count; i++) {
    char child[kMaxPath];
    int n =
        snprintf(child, sizeof child, "%s%s%s", path, strcmp(path, "/") == 0 ? "" : "/", names[i]);
    if (n < 0 || (size_t)n >= sizeof child) {
      printf("%s/%s: path too long\n", path, names[i]);
      free(names[i]);
      continue;
    }
    struct stat st;
    if (stat(child, &st) != 0) {
      fprintf(stderr, "hello: cannot stat %s: %s\n", child, strerror(errno));
      g_failures++;
    } else if (S_ISDIR(st.st_mode)) {
      printf("  %s/\n", child);
      list_tree(child, depth + 1);
    } else {
      printf("  %s %lld bytes\n", child, (long long)st.st_size);
    }
    free(names[i]);
  }
  free(names);
}

static void cat_file(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "hello: cannot open %s: %s\n", path, strerror(errno));
    g_failures++;
    return;
  }
  printf("--- %s\n", path);
  char buf[4096];
  size_t n;
  int last = '\n';
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
    fwrite(buf, 1, n, stdout);
    last = buf[n - 1];
  }
  if (last != '\n') putchar('\n');
  printf("--- end of %s\n", path);
  fclose(f);
}

// Copies stdin to stdout, prefixing every line; returns the number of bytes read.
static long copy_stdin(void) {
  long total = 0;
  int at_line_start = 1;
  int c;
  while ((c = getchar()) != EOF) {
    if (at_line_start) fputs("stdin> ", stdout);
    putchar(c);
    at_line_start = (c == '\n');
    total++;
  }
  if (!at_line_start) putchar('\n');
  return total;
}

static int write_hello_txt(int argc, char** argv) {
  FILE* f = fopen("/hello.txt", "w");
  if (f == NULL) {
    fprintf(stderr, "hello: cannot create /hello.txt: %s\n", strerror(errno));
    return -1;
  }
  fprintf(f, "hello.txt written by %s with %d argument(s)\n", argc > 0 ? argv[0] : "hello", argc);
  for (int i = 1; i < argc; i++) fprintf(f, "arg %d: %s\n", i, argv[i]);
  long size = ftell(f);
  if (fclose(f) != 0) {
    fprintf(stderr, "hello: cannot write /hello.txt: %s\n", strerror(errno));
    return -1;
  }
  return (int)size;
}

static int parse_int(const char* text, long* out) {
  char* end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < INT_MIN || v > INT_MAX) return 0;
  *out = v;
  return 1;
}

int main(int argc, char** argv) {
  long exit_status = 0;
  const char* cat[kMaxCat];
  int ncat = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--exit") == 0) {
      if (i + 1 >= argc || !parse_int(argv[i + 1], &exit_status)) {
        fprintf(stderr, "hello: --exit needs an integer argument (e.g. --exit 3)\n");
        return 2;
      }
      i++;
    } else if (strcmp(argv[i], "--cat") == 0) {
      if (i + 1 >= argc || ncat == kMaxCat) {
        fprintf(stderr, "hello: --cat needs a path argument (at most %d of them)\n", kMaxCat);
        return 2;
      }
      cat[ncat++] = argv[++i];
    }
  }

  printf("hello from wasimoff\n");
  printf("argc: %d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]: %s\n", i, argv[i]);
  int envc = 0;
  while (environ != NULL && environ[envc] != NULL) envc++;
  printf("envc: %d\n", envc);
  for (int i = 0; i < envc; i++) printf("env[%d]: %s\n", i, environ[i]);

  printf("files under /:\n");
  list_tree("/", 0);
  for (int i = 0; i < ncat; i++) cat_file(cat[i]);

  long in = copy_stdin();
  printf("stdin: %ld bytes\n", in);

  int written = write_hello_txt(argc, argv);
  if (written < 0) {
    g_failures++;
  } else {
    printf("wrote /hello.txt: %d bytes\n", written);
  }
  fflush(stdout);
  fprintf(stderr, "hello: done, exit status %ld\n", g_failures ? 1L : exit_status);
  return g_failures ? 1 : (int)exit_status;
}
