// CGI-style execution: POST /api/client/run/{wasm} (docs/http-api.md §5). The request body is
// stdin, headers carry argv, environment, artifacts and the rootfs; the response body is stderr
// followed by stdout, the result travels in X-Wasimoff-* headers.
#pragma once

#include "broker/api/access_policy.h"
#include "broker/tasks/task_service.h"
#include "net/http/router.h"

namespace wasimoff::broker {

struct CgiRouteOptions {
  TaskService& tasks;
  const AccessPolicy& access;
  std::uint64_t max_upload_size;
};

void register_cgi_route(http::Router& router, CgiRouteOptions options);

}  // namespace wasimoff::broker
