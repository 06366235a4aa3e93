// The Connect RPC API `wasimoff.v1.Tasks` under /api/client/wasimoff.v1.Tasks/<Method>
// (docs/http-api.md §4): RunWasip1, RunWasip1Job, RunPyodide, Upload in application/json and
// application/proto, Connect errors, Connect-Timeout-Ms, client token and CORS.
#pragma once

#include "broker/api/access_policy.h"
#include "broker/tasks/task_service.h"
#include "net/http/router.h"

namespace wasimoff::broker {

struct ConnectRoutesOptions {
  TaskService& tasks;
  const AccessPolicy& access;
  std::uint64_t max_message_size;
};

void register_connect_routes(http::Router& router, ConnectRoutesOptions options);

}  // namespace wasimoff::broker
