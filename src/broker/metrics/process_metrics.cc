#include "broker/metrics/process_metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace wasimoff::metrics {

namespace {

std::optional<std::string> read_small_file(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Boot time (Unix seconds) from the "btime" line of /proc/stat.
std::optional<double> boot_time() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  return std::nullopt;
}

double count_open_fds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return n;
}

}  // namespace

std::optional<ProcessStats> read_process_stats() {
  auto stat = read_small_file("/proc/self/stat");
  if (!stat) return std::nullopt;
  // The command name (field 2) is in parentheses and may contain spaces or ')'; the fields
  // after the last ')' start with field 3 (state).
  auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat->substr(close + 1));
  std::vector<std::string> fields;  // fields[0] is field 3 of proc(5)
  for (std::string f; rest >> f;) fields.push_back(std::move(f));
  auto field = [&](std::size_t number) -> double { return std::stod(fields.at(number - 3)); };

  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  ProcessStats s;
  try {
    s.cpu_seconds = (field(14) + field(15)) / ticks;  // utime + stime
    s.virtual_bytes = field(23);
    s.resident_bytes = field(24) * page;
    auto boot = boot_time();
    if (!boot) return std::nullopt;
    s.start_time_seconds = *boot + field(22) / ticks;
  } catch (const std::exception&) {  // std::out_of_range / std::invalid_argument from parsing
    return std::nullopt;
  }
  s.open_fds = count_open_fds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = static_cast<double>(limit.rlim_cur);
  return s;
}

void register_process_metrics(Registry& registry) {
  // A callback that throws makes render() leave the series out of this scrape.
  auto from_proc = [](double ProcessStats::*member) {
    return [member]() -> double {
      auto s = read_process_stats();
      if (!s) throw std::runtime_error("cannot read /proc/self");
      return (*s).*member;
    };
  };
  registry.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")
      .set_function({}, from_proc(&ProcessStats::cpu_seconds));
  registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
      .set_function({}, from_proc(&ProcessStats::resident_bytes));
  registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
      .set_function({}, from_proc(&ProcessStats::virtual_bytes));
  registry.gauge("process_open_fds", "Number of open file descriptors.")
      .set_function({}, from_proc(&ProcessStats::open_fds));
  registry.gauge("process_max_fds", "Maximum number of open file descriptors.")
      .set_function({}, from_proc(&ProcessStats::max_fds));
  registry
      .gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
      .set_function({}, from_proc(&ProcessStats::start_time_seconds));
}

}  // namespace wasimoff::metrics
