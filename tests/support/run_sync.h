// Runs a coroutine to completion from plain (test) code. Header-only (target wasimoff_test_util).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>
#include <utility>

namespace wasimoff::testing {

// Awaits `work` and keeps its value in `out`: co_spawn needs a default-constructible result type,
// which Result<T> is not, so the helpers below spawn this void coroutine instead.
template <typename T>
boost::asio::awaitable<void> store_result(boost::asio::awaitable<T> work, std::optional<T>& out) {
  out.emplace(co_await std::move(work));
}

// Spawns `work` on `ioc` and runs the context until it is out of work (restarting it first if a
// previous run stopped it). Returns the result of `work` or rethrows its exception. Everything
// else queued on `ioc` runs too, so the context must not hold work that never ends.
template <typename T>
T run_sync(boost::asio::io_context& ioc, boost::asio::awaitable<T> work) {
  std::optional<T> out;
  std::exception_ptr error;
  boost::asio::co_spawn(ioc, store_result(std::move(work), out),
                        [&](std::exception_ptr e) { error = e; });
  ioc.restart();
  ioc.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

inline void run_sync(boost::asio::io_context& ioc, boost::asio::awaitable<void> work) {
  std::exception_ptr error;
  boost::asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr e) { error = e; });
  ioc.restart();
  ioc.run();
  if (error) std::rethrow_exception(error);
}

// Spawns `work` on `ioc` and runs the context only until `work` has finished (restarting it first
// if it was stopped): unlike run_sync, other work on `ioc` may remain, e.g. a reader that never
// ends. Returns the result of `work` or rethrows its exception.
template <typename T>
T run_until_done(boost::asio::io_context& ioc, boost::asio::awaitable<T> work) {
  std::optional<T> out;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(ioc, store_result(std::move(work), out), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  if (ioc.stopped()) ioc.restart();
  while (!done) ioc.run_one();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

inline void run_until_done(boost::asio::io_context& ioc, boost::asio::awaitable<void> work) {
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  if (ioc.stopped()) ioc.restart();
  while (!done) ioc.run_one();
  if (error) std::rethrow_exception(error);
}

// The same on a fresh io_context of its own.
template <typename T>
T run_sync(boost::asio::awaitable<T> work) {
  boost::asio::io_context ioc;
  return run_sync(ioc, std::move(work));
}

}  // namespace wasimoff::testing
