#include "process_cpu.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace wasimoff::bench {

namespace {

struct Stat {
  pid_t ppid = 0;
  double cpu = 0;  // utime + stime + cutime + cstime, seconds
};

std::map<pid_t, Stat> snapshot() {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::map<pid_t, Stat> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // "pid (comm) state ppid … utime(14) stime(15) cutime(16) cstime(17) …"
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    Stat s;
    std::string skip;
    if (!(rest >> state >> s.ppid)) continue;
    for (int field = 5; field < 14; ++field) rest >> skip;
    long long utime = 0, stime = 0, cutime = 0, cstime = 0;
    if (!(rest >> utime >> stime >> cutime >> cstime)) continue;
    s.cpu = static_cast<double>(utime + stime + cutime + cstime) / ticks;
    out[static_cast<pid_t>(std::stol(name))] = s;
  }
  return out;
}

double seconds(const timeval& user, const timeval& sys) {
  return static_cast<double>(user.tv_sec + sys.tv_sec) +
         static_cast<double>(user.tv_usec + sys.tv_usec) / 1e6;
}

}  // namespace

double process_tree_cpu_seconds(pid_t root) {
  auto all = snapshot();
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, s] : all) children.emplace(s.ppid, pid);
  double total = 0;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t pid = todo.back();
    todo.pop_back();
    if (auto it = all.find(pid); it != all.end()) total += it->second.cpu;
    auto [b, e] = children.equal_range(pid);
    for (auto it = b; it != e; ++it) todo.push_back(it->second);
  }
  return total;
}

double reaped_children_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_CHILDREN, &u);
  return seconds(u.ru_utime, u.ru_stime);
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return seconds(u.ru_utime, u.ru_stime);
}

}  // namespace wasimoff::bench
