#include "broker_tasks_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/strings.h"
#include "protocol/any_payload.h"
#include "protocol/codec.h"

namespace wasimoff::testing {

void BrokerTasks::start_broker(std::map<std::string, std::string> env) {
  env.emplace("WASIMOFF_DEBUG", "true");
  if (auto it = env.find("WASIMOFF_CLIENT_TOKEN"); it != env.end()) client_token_ = it->second;
  broker_ = std::make_unique<BrokerProcess>(std::move(env));
  echo_ref = upload(tiny_wasm("echo"), "echo.wasm");
}

std::string BrokerTasks::provider_url() const {
  return "ws://127.0.0.1:" + std::to_string(broker_->port()) + "/api/provider/ws";
}

std::string BrokerTasks::client_ws_url() const {
  return "ws://127.0.0.1:" + std::to_string(broker_->port()) + "/api/client/ws";
}

TestProviderOptions BrokerTasks::provider_options(std::string name,
                                                  std::uint32_t concurrency) const {
  TestProviderOptions o;
  o.url = provider_url();
  o.name = std::move(name);
  o.concurrency = concurrency;
  return o;
}

std::unique_ptr<TestProvider> BrokerTasks::connect_provider(TestProviderOptions options) {
  auto p = std::make_unique<TestProvider>(std::move(options));
  if (!p->wait_registered())
    throw std::runtime_error("provider " + p->name() + " was not registered");
  return p;
}

std::unique_ptr<TestProvider> BrokerTasks::connect_provider(std::string name,
                                                            std::uint32_t concurrency) {
  return connect_provider(provider_options(std::move(name), concurrency));
}

std::string BrokerTasks::upload(const std::string& bytes, const std::string& name) {
  Headers h;
  if (!client_token_.empty()) h.add("Authorization", "Bearer " + client_token_);
  auto r = http_request("POST", broker_->url("/api/storage/upload?name=" + name), h, bytes);
  if (r.status != 200)
    throw std::runtime_error("upload failed: " + std::to_string(r.status) + " " + r.body);
  auto ref = r.headers.get("x-wasimoff-ref");
  if (!ref) throw std::runtime_error("upload: no x-wasimoff-ref header");
  return std::string(*ref);
}

Headers make_headers(const HeaderList& list) {
  Headers h;
  for (const auto& [k, v] : list) h.add(k, v);
  return h;
}

ClientResponse BrokerTasks::rpc(const std::string& method, const std::string& body,
                                const HeaderList& list, std::chrono::milliseconds timeout) {
  Headers headers = make_headers(list);
  if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  return http_request("POST", broker_->url("/api/client/wasimoff.v1.Tasks/" + method), headers,
                      body, timeout);
}

std::future<ClientResponse> BrokerTasks::rpc_async(const std::string& method,
                                                   const std::string& body,
                                                   const HeaderList& list) {
  Headers headers = make_headers(list);
  if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  std::string url = broker_->url("/api/client/wasimoff.v1.Tasks/" + method);
  return std::async(std::launch::async, [url, body, headers] {
    return http_request("POST", url, headers, body, std::chrono::seconds(90));
  });
}

std::string BrokerTasks::task_json(const std::vector<std::string>& args,
                                   const std::string& extra) const {
  json::array argv;
  argv.emplace_back("echo.wasm");
  for (const auto& a : args) argv.emplace_back(a);
  std::string s =
      R"({"params":{"binary":{"ref":"echo.wasm"},"args":)" + json::serialize(argv) + "}";
  if (!extra.empty()) s += "," + extra;
  return s + "}";
}

json::value BrokerTasks::parse(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) throw std::runtime_error("not JSON: " + body);
  return v;
}

std::string BrokerTasks::stdout_of(const json::value& response) {
  const auto* ok = response.as_object().if_contains("ok");
  if (!ok || !ok->as_object().contains("stdout")) return "";
  auto text = ok->at("stdout").as_string();
  return base64_decode(std::string_view(text.data(), text.size())).value_or("<bad base64>");
}

std::string BrokerTasks::provider_of(const json::value& response) {
  return std::string(response.at("info").at("provider").as_string());
}

json::value BrokerTasks::run_ok(const std::vector<std::string>& args, const std::string& extra) {
  auto r = rpc("RunWasip1", task_json(args, extra));
  EXPECT_EQ(r.status, 200u) << r.body;
  if (r.status != 200) throw std::runtime_error("RunWasip1 failed: " + r.body);
  return parse(r.body);
}

json::value BrokerTasks::debug_state() {
  auto r = http_get(broker_->url("/debug/state"));
  if (r.status != 200) throw std::runtime_error("/debug/state: " + std::to_string(r.status));
  return parse(r.body);
}

json::value BrokerTasks::debug_provider(const std::string& name) {
  auto state = debug_state();
  for (const auto& p : state.at("providers").as_array())
    if (p.at("name").as_string() == name) return p;
  return nullptr;
}

std::uint64_t BrokerTasks::debug_number(const std::string& key) {
  return debug_state().at(key).to_number<std::uint64_t>();
}

bool BrokerTasks::wait_until(const std::function<bool()>& condition,
                             std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool BrokerTasks::wait_queue(std::uint64_t queue, std::chrono::milliseconds timeout) {
  return wait_until([&] { return debug_number("queue") == queue; }, timeout);
}

RawRequest::RawRequest(std::uint16_t port, const std::string& bytes) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("RawRequest: connect failed");
  }
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("RawRequest: send failed");
    off += static_cast<std::size_t>(n);
  }
}

RawRequest::~RawRequest() {
  disconnect();
}

void RawRequest::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string RawRequest::read_all(std::chrono::milliseconds timeout) {
  std::string out;
  auto end = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (fd_ >= 0 && std::chrono::steady_clock::now() < end) {
    pollfd p{fd_, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) break;
    auto n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string raw_post(const std::string& path, const std::string& body, const Headers& headers) {
  std::string s = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!headers.has("Content-Type")) s += "Content-Type: application/json\r\n";
  for (const auto& [k, v] : headers) s += k + ": " + v + "\r\n";
  s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return s;
}

std::string rfc3339_from_now(std::chrono::milliseconds offset) {
  auto t = std::chrono::system_clock::now() + offset;
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

double metric_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

std::optional<v1::Envelope> response_for(const TestProvider& provider, std::uint64_t seq) {
  for (const auto& m : provider.received())
    if (m.decoded && m.envelope.type() == v1::Envelope::Response && m.envelope.sequence() == seq)
      return m.envelope;
  return std::nullopt;
}

void barrier(TestProvider& provider, std::uint64_t seq) {
  v1::Envelope env;
  env.set_sequence(seq);
  env.set_type(v1::Envelope::Request);
  protocol::pack_any(v1::Ping(), env.mutable_payload());
  bool json = provider.subprotocol() == "wasimoff_provider_v1_json";
  provider.send_raw(protocol::encode(env, json ? protocol::Codec::kJson : protocol::Codec::kBinary),
                    json);
  EXPECT_TRUE(provider.wait_for([&] { return response_for(provider, seq).has_value(); }))
      << "no answer to Ping " << seq;
}

}  // namespace wasimoff::testing
