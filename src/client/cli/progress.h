// Progress of a job for `wasimoff run`: a redrawn bar on a terminal, occasional plain lines
// otherwise (logs and CI output stay readable), nothing with --quiet.
//
// On a terminal the bar lives on the last line of stderr; call clear() before printing other
// output to the same terminal, the next update or tick() redraws it. Not thread-safe (used on
// the event loop).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace wasimoff::cli {

class Progress {
 public:
  enum class Mode { kBar, kLines, kQuiet };

  // kLines stays silent for jobs smaller than this (their summary line says it all).
  static constexpr std::size_t kMinTasksForLines = 20;

  // `total` tasks; output goes to `out` (stderr). kLines prints a line after every
  // ceil(total/10) finished tasks.
  Progress(std::size_t total, Mode mode, std::FILE* out);

  // kBar when `out` is a terminal, kLines otherwise, kQuiet when `quiet`.
  static Mode mode_for(std::FILE* out, bool quiet);

  void task_finished(bool failed);
  // Redraws the bar (elapsed time and ETA move even when no task finishes); at most 10 Hz.
  void tick();
  // Removes the bar from the terminal until the next redraw.
  void clear();
  // Final state: removes the bar; nothing is drawn afterwards.
  void finish();

  std::size_t done() const { return done_; }
  std::size_t failed() const { return failed_; }
  double elapsed_seconds() const;

  // The bar for a line of `width` columns, e.g.
  // "[##########..........]  532/1000  3 failed  120.3 tasks/s  ETA 4s".
  static std::string render_bar(std::size_t done, std::size_t failed, std::size_t total,
                                double elapsed_seconds, std::size_t width);
  // The plain line, e.g. "progress: 100/1000 tasks done, 0 failed, 4.1s elapsed, ETA 37s".
  static std::string render_line(std::size_t done, std::size_t failed, std::size_t total,
                                 double elapsed_seconds);
  // "850ms", "4.1s", "2m05s", "1h02m".
  static std::string format_seconds(double seconds);

 private:
  void draw(bool force);
  std::size_t terminal_width() const;

  std::size_t total_;
  Mode mode_;
  std::FILE* out_;
  std::size_t done_ = 0;
  std::size_t failed_ = 0;
  std::size_t line_step_;
  bool drawn_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace wasimoff::cli
