#include "client/broker_options.h"

#include <stdexcept>

#include "common/build_info.h"

namespace wasimoff::client {

BrokerAddress parse_broker_address(std::string_view broker) {
  std::string text(broker);
  if (text.find("://") == std::string::npos) text = "http://" + text;
  auto url = http::Url::parse(text);
  if (!url || (url->scheme != "http" && url->scheme != "https"))
    throw std::invalid_argument("invalid broker address \"" + std::string(broker) +
                                "\": expected http://host:port or https://host[:port][/path]");
  BrokerAddress out;
  std::string path = url->target;
  if (auto q = path.find('?'); q != std::string::npos)
    throw std::invalid_argument("invalid broker address \"" + std::string(broker) +
                                "\": a query string is not allowed");
  while (!path.empty() && path.back() == '/') path.pop_back();
  out.base_path = path;
  out.url = std::move(*url);
  out.url.target = "/";
  return out;
}

std::string BrokerAddress::websocket_url() const {
  std::string scheme = url.tls() ? "wss" : "ws";
  return scheme + "://" + url.authority() + base_path + "/api/client/ws";
}

std::string user_agent(const BrokerOptions& options) {
  if (!options.user_agent.empty()) return options.user_agent;
  return "wasimoff-cli/" + std::string(build_version());
}

http::Headers standard_headers(const BrokerOptions& options) {
  http::Headers h;
  if (!options.token.empty()) h.set("Authorization", "Bearer " + options.token);
  return h;
}

http::ClientOptions http_options(const BrokerOptions& options,
                                 std::chrono::milliseconds io_timeout) {
  http::ClientOptions o;
  o.connect_timeout = options.connect_timeout;
  o.io_timeout = io_timeout;
  o.ca_file = options.ca_file;
  o.insecure = options.insecure;
  o.user_agent = user_agent(options);
  return o;
}

}  // namespace wasimoff::client
