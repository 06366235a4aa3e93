#include "broker/api/provider_admission.h"

#include "broker/providers/provider_name.h"
#include "common/strings.h"

namespace wasimoff::broker {

namespace {

constexpr std::size_t kMaxUserAgentBytes = 256;

bool origin_allowed(const http::Request& request, const AccessPolicy& access, ProviderLink link) {
  if (link == ProviderLink::kWebSocket) return access.origin_allowed(request);
  auto origin = request.header("origin");
  return !origin || access.origin_allowed_host_only(*origin, request.authority);
}

}  // namespace

Result<ProviderInfo> admit_provider(const http::Request& request, const AccessPolicy& access,
                                    ProviderLink link) {
  if (!access.provider_ok(request)) return Status{StatusCode::kUnauthenticated, "unauthorized"};
  ProviderInfo info;
  auto ua = request.header("User-Agent");
  bool has_ua = ua && !trim(*ua).empty();
  if (!has_ua && link == ProviderLink::kWebSocket) return invalid_argument("no user-agent");
  if (!origin_allowed(request, access, link))
    return Status{StatusCode::kPermissionDenied, "origin not allowed"};
  info.name = request.query_param("id").value_or("");
  if (auto why = check_provider_name(info.name))
    return invalid_argument("invalid provider name: " + *why);
  if (info.name.empty()) info.name = "anonymous";
  if (has_ua) info.user_agent = truncate_utf8(trim(*ua), kMaxUserAgentBytes);
  info.address = display_address(request);
  info.transport = link == ProviderLink::kWebSocket ? "websocket" : "webtransport";
  return info;
}

std::string display_address(const http::Request& request) {
  if (auto xff = request.header("X-Forwarded-For")) {
    auto first = trim(split(*xff, ',').front());
    if (!first.empty()) return std::string(first);
  }
  if (auto real = request.header("X-Real-IP"); real && !trim(*real).empty())
    return std::string(trim(*real));
  return request.remote;
}

}  // namespace wasimoff::broker
