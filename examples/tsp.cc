// tsp: brute-force travelling salesman, a CPU-bound WASI command (also built natively as tsp-native
// so the benchmarks can compare WebAssembly with native code).
//
//   tsp rand <n> [seed]   n random cities (integer coordinates 0..999) from a deterministic PRNG
//                         (splitmix64, default seed 1)
//   tsp                   cities from stdin as CSV, one "x,y" per line; blank lines and lines
//                         starting with '#' are ignored
//
// It enumerates all n! orderings of the cities (deliberately naive: every tour length is computed
// from scratch), so the run time grows factorially: n = 8 is instantaneous, n = 10 takes about
// 0.1 s natively (0.2 s as wasm under Node), n = 11 about 1 s, n = 12 about 13 s. n is limited
// to 2..12. Prints the best closed tour's length (6 decimals) and the tour (from city 0 back to
// city 0); the result is identical on every IEEE-754 platform because the arithmetic is done in the
// same order everywhere. Usage and input errors: stderr, exit status 2.

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr int kMinCities = 2;
constexpr int kMaxCities = 12;

struct City {
  double x;
  double y;
};

// splitmix64: tiny, well-distributed and identical on every platform.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

int usage(const char* why) {
  std::fprintf(stderr,
               "tsp: %s\nusage: tsp rand <n> [seed]   (n random cities, %d <= n <= %d)\n"
               "       tsp < cities.csv        (one \"x,y\" per line)\n",
               why, kMinCities, kMaxCities);
  return 2;
}

bool parse_u64(const char* text, uint64_t* out) {
  if (*text == '-') return false;
  char* end;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') return false;
  *out = v;
  return true;
}

std::vector<City> random_cities(int n, uint64_t seed) {
  SplitMix64 rng{seed};
  std::vector<City> cities;
  for (int i = 0; i < n; i++) {
    double x = static_cast<double>(rng.next() % 1000);
    double y = static_cast<double>(rng.next() % 1000);
    cities.push_back({x, y});
  }
  return cities;
}

// Reads "x,y" lines; returns false (after printing the reason) on malformed input.
bool read_csv(FILE* in, std::vector<City>* cities) {
  char line[256];
  int lineno = 0;
  while (std::fgets(line, sizeof line, in) != nullptr) {
    lineno++;
    if (std::strchr(line, '\n') == nullptr && !std::feof(in)) {
      std::fprintf(stderr, "tsp: line %d is longer than %zu characters\n", lineno, sizeof line - 2);
      return false;
    }
    char* p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\0' || *p == '\n' || *p == '\r' || *p == '#') continue;
    char* end;
    double x = std::strtod(p, &end);
    if (end == p || *end != ',') {
      std::fprintf(stderr, "tsp: line %d: expected \"x,y\", got: %s", lineno, line);
      return false;
    }
    p = end + 1;
    double y = std::strtod(p, &end);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    if (end == p || *end != '\0' || !std::isfinite(x) || !std::isfinite(y)) {
      std::fprintf(stderr, "tsp: line %d: expected \"x,y\" with finite numbers, got: %s", lineno,
                   line);
      return false;
    }
    if (cities->size() == static_cast<size_t>(kMaxCities)) {
      std::fprintf(stderr, "tsp: more than %d cities (brute force would take too long)\n",
                   kMaxCities);
      return false;
    }
    cities->push_back({x, y});
  }
  return true;
}

double tour_length(const std::vector<City>& cities, const std::vector<int>& order) {
  double total = 0;
  for (size_t i = 0; i < order.size(); i++) {
    const City& a = cities[order[i]];
    const City& b = cities[order[(i + 1) % order.size()]];
    total += std::sqrt((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y));
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<City> cities;
  if (argc >= 2 && std::strcmp(argv[1], "rand") == 0) {
    uint64_t n = 0, seed = 1;
    if (argc < 3 || argc > 4) return usage("rand needs <n> and an optional seed");
    if (!parse_u64(argv[2], &n) || n < kMinCities || n > kMaxCities)
      return usage("n must be an integer in range");
    if (argc == 4 && !parse_u64(argv[3], &seed))
      return usage("seed must be a non-negative integer");
    cities = random_cities(static_cast<int>(n), seed);
    std::printf("cities: %d (random, seed %llu)\n", static_cast<int>(n),
                static_cast<unsigned long long>(seed));
  } else if (argc <= 1) {
    if (!read_csv(stdin, &cities)) return 2;
    if (cities.size() < static_cast<size_t>(kMinCities)) return usage("need at least 2 cities");
    std::printf("cities: %zu (from stdin)\n", cities.size());
  } else {
    return usage("unknown arguments");
  }

  std::vector<int> order(cities.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = static_cast<int>(i);
  std::vector<int> best = order;
  double best_length = tour_length(cities, order);
  uint64_t checked = 1;
  while (std::next_permutation(order.begin(), order.end())) {
    double length = tour_length(cities, order);
    checked++;
    if (length < best_length) {
      best_length = length;
      best = order;
    }
  }

  std::printf("tours checked: %llu\n", static_cast<unsigned long long>(checked));
  std::printf("best tour length: %.6f\n", best_length);
  // Print the closed tour starting (and ending) at city 0; rotation does not change the tour.
  size_t start = std::find(best.begin(), best.end(), 0) - best.begin();
  std::printf("tour:");
  for (size_t i = 0; i <= best.size(); i++) std::printf(" %d", best[(start + i) % best.size()]);
  std::printf("\n");
  return 0;
}
