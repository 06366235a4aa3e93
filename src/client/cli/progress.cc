#include "client/cli/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace wasimoff::cli {

Progress::Progress(std::size_t total, Mode mode, std::FILE* out)
    : total_(total),
      mode_(mode),
      out_(out),
      line_step_(std::max<std::size_t>(1, (total + 9) / 10)),
      started_(std::chrono::steady_clock::now()) {}

Progress::Mode Progress::mode_for(std::FILE* out, bool quiet) {
  if (quiet) return Mode::kQuiet;
  return ::isatty(::fileno(out)) ? Mode::kBar : Mode::kLines;
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

std::string Progress::format_seconds(double s) {
  if (!(s >= 0)) s = 0;
  if (s < 1) return fmt::format("{}ms", static_cast<long>(std::lround(s * 1000)));
  if (s < 60) return fmt::format("{:.1f}s", s);
  long total = std::lround(s);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

std::string Progress::render_line(std::size_t done, std::size_t failed, std::size_t total,
                                  double elapsed) {
  std::string line = fmt::format("progress: {}/{} tasks done, {} failed, {} elapsed", done, total,
                                 failed, format_seconds(elapsed));
  if (done > 0 && done < total && elapsed > 0) {
    double eta = elapsed / static_cast<double>(done) * static_cast<double>(total - done);
    line += ", ETA " + format_seconds(eta);
  }
  return line;
}

std::string Progress::render_bar(std::size_t done, std::size_t failed, std::size_t total,
                                 double elapsed, std::size_t width) {
  std::string counts = fmt::format("  {}/{}", done, total);
  if (failed > 0) counts += fmt::format("  {} failed", failed);
  if (done > 0 && elapsed > 0) {
    counts += fmt::format("  {:.1f} tasks/s", static_cast<double>(done) / elapsed);
    if (done < total)
      counts += "  ETA " + format_seconds(elapsed / static_cast<double>(done) *
                                          static_cast<double>(total - done));
  } else {
    counts += "  " + format_seconds(elapsed);
  }
  // The bar takes what is left of the line, between 10 and 40 cells.
  std::size_t room = width > counts.size() + 2 ? width - counts.size() - 2 : 0;
  std::size_t cells = std::clamp<std::size_t>(room, 10, 40);
  std::size_t filled = total == 0 ? cells : cells * std::min(done, total) / total;
  return "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "]" + counts;
}

std::size_t Progress::terminal_width() const {
  winsize ws{};
  if (::ioctl(::fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void Progress::draw(bool force) {
  if (mode_ != Mode::kBar || finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  std::size_t width = terminal_width();
  std::string bar = render_bar(done_, failed_, total_, elapsed_seconds(), width);
  if (bar.size() >= width) bar.resize(width - 1);
  std::fprintf(out_, "\r\033[K%s", bar.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void Progress::task_finished(bool failed) {
  ++done_;
  if (failed) ++failed_;
  if (mode_ == Mode::kLines && total_ >= kMinTasksForLines &&
      (done_ % line_step_ == 0 || done_ == total_)) {
    std::fprintf(out_, "%s\n", render_line(done_, failed_, total_, elapsed_seconds()).c_str());
    std::fflush(out_);
  }
  draw(done_ == total_);
}

void Progress::tick() {
  draw(false);
}

void Progress::clear() {
  if (mode_ != Mode::kBar || !drawn_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  drawn_ = false;
}

void Progress::finish() {
  clear();
  finished_ = true;
}

}  // namespace wasimoff::cli
