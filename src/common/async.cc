#include "common/async.h"

#include <spdlog/spdlog.h>

namespace wasimoff {

void spawn_logged(asio::any_io_executor ex, awaitable<void> work, const char* what) {
  asio::co_spawn(std::move(ex), std::move(work), [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{}: {}", what, ex.what());
    } catch (...) {
      spdlog::error("{}: unknown exception", what);
    }
  });
}

}  // namespace wasimoff
