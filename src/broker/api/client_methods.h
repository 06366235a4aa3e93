// The client API's procedures (docs/http-api.md §2, docs/protocol.md §10) in one table: the
// Connect route finds a procedure by its name, the client WebSocket by its request type, and the
// CGI route builds a RunWasip1 request and calls that entry. Adding a procedure here adds it to
// every client API at once.
#pragma once

#include <string_view>
#include <tuple>

#include "broker/tasks/task_service.h"
#include "common/async.h"
#include "common/status.h"

namespace wasimoff::broker {

// One procedure: its Connect name (wasimoff.v1.Tasks/<name>), its message types, and the
// TaskService call that serves it.
template <typename Req, typename Resp>
struct ClientMethod {
  using Request = Req;
  using Response = Resp;
  std::string_view name;
  awaitable<Result<Resp>> (*call)(TaskService& tasks, Req request, const ClientContext& client);
};

namespace client_methods {

inline constexpr ClientMethod<v1::Task::Wasip1::Request, v1::Task::Wasip1::Response> kRunWasip1{
    "RunWasip1", [](TaskService& t, v1::Task::Wasip1::Request r, const ClientContext& c) {
      return t.run_wasip1(std::move(r), c);
    }};

inline constexpr ClientMethod<v1::Task::Wasip1::JobRequest, v1::Task::Wasip1::JobResponse>
    kRunWasip1Job{"RunWasip1Job",
                  [](TaskService& t, v1::Task::Wasip1::JobRequest r, const ClientContext& c) {
                    return t.run_wasip1_job(std::move(r), c);
                  }};

inline constexpr ClientMethod<v1::Task::Pyodide::Request, v1::Task::Pyodide::Response> kRunPyodide{
    "RunPyodide", [](TaskService& t, v1::Task::Pyodide::Request r, const ClientContext& c) {
      return t.run_pyodide(std::move(r), c);
    }};

// Uploads do not depend on the client (no deadline, nothing to cancel).
inline constexpr ClientMethod<v1::Filesystem::Upload::Request, v1::Filesystem::Upload::Response>
    kUpload{"Upload", [](TaskService& t, v1::Filesystem::Upload::Request r, const ClientContext&) {
              return t.upload(std::move(r));
            }};

}  // namespace client_methods

// Calls `visit(method)` for every procedure of the table, in the order above.
template <typename Visitor>
void for_each_client_method(Visitor&& visit) {
  visit(client_methods::kRunWasip1);
  visit(client_methods::kRunWasip1Job);
  visit(client_methods::kRunPyodide);
  visit(client_methods::kUpload);
}

// Whether `name` is a procedure of the table.
inline bool is_client_method(std::string_view name) {
  bool found = false;
  for_each_client_method([&](const auto& method) { found = found || method.name == name; });
  return found;
}

}  // namespace wasimoff::broker
