#include "client/connect_client.h"

#include "common/file_ref.h"
#include "common/strings.h"
#include "contract/contract.h"
#include "protocol/codec.h"

namespace wasimoff::client {

namespace {

constexpr std::string_view kServicePath = "/api/client/wasimoff.v1.Tasks/";

// "POST http://h:1/x: Connection refused" → "Connection refused".
std::string transport_reason(const std::string& what) {
  auto pos = what.find(": ");
  return pos == std::string::npos ? what : what.substr(pos + 2);
}

std::chrono::milliseconds task_io_timeout(const BrokerOptions& o) {
  // The Broker answers deadline_exceeded when the timeout passes; the socket waits a little
  // longer so that this answer, not a socket timeout, reaches the user.
  if (o.task_timeout) return *o.task_timeout + std::chrono::seconds(30);
  return kMaxTaskWait;
}

}  // namespace

ConnectClient::ConnectClient(asio::any_io_executor ex, BrokerOptions options,
                             std::size_t max_connections)
    : ex_(ex),
      options_(std::move(options)),
      address_(parse_broker_address(options_.broker)),
      task_slots_(ex, max_connections),
      storage_slot_(ex, 1) {}

ConnectClient::~ConnectClient() = default;

void ConnectClient::close() {
  for (auto& c : idle_) c->close();
  idle_.clear();
  if (storage_) storage_->close();
}

awaitable<std::string> ConnectClient::call(std::string method, std::string body) {
  auto permit = co_await task_slots_.acquire();
  std::unique_ptr<http::HttpClient> conn;
  if (!idle_.empty()) {
    conn = std::move(idle_.back());
    idle_.pop_back();
  } else {
    conn = std::make_unique<http::HttpClient>(ex_, address_.origin(),
                                              http_options(options_, task_io_timeout(options_)));
  }
  http::Headers headers = standard_headers(options_);
  headers.set("Content-Type", "application/proto");
  headers.set("Connect-Protocol-Version", "1");
  if (options_.task_timeout)
    headers.set("Connect-Timeout-Ms",
                std::to_string(std::max<std::int64_t>(1, options_.task_timeout->count())));
  std::string target = address_.target(std::string(kServicePath) + method);
  http::ClientResponse res;
  try {
    res = co_await conn->request("POST", target, std::move(headers), std::move(body));
  } catch (const http::HttpClientError& e) {
    throw unreachable(address_.display(), transport_reason(e.what()));
  }
  idle_.push_back(std::move(conn));
  if (res.status != 200) throw connect_error(res.status, res.body, method);
  co_return std::move(res.body);
}

awaitable<v1::Task::Wasip1::Response> ConnectClient::run(v1::Task::Wasip1::Request request) {
  std::string body =
      co_await call("RunWasip1", protocol::encode(request, protocol::Codec::kBinary));
  v1::Task::Wasip1::Response out;
  if (auto err = protocol::decode(body, protocol::Codec::kBinary, &out); !err.empty())
    throw ClientError(ClientError::Kind::kProtocol, "",
                      "undecodable RunWasip1 response from " + address_.display() + ": " + err);
  co_return out;
}

awaitable<v1::Task::Wasip1::JobResponse> ConnectClient::run_job(
    v1::Task::Wasip1::JobRequest request) {
  std::string body =
      co_await call("RunWasip1Job", protocol::encode(request, protocol::Codec::kBinary));
  v1::Task::Wasip1::JobResponse out;
  if (auto err = protocol::decode(body, protocol::Codec::kBinary, &out); !err.empty())
    throw ClientError(ClientError::Kind::kProtocol, "",
                      "undecodable RunWasip1Job response from " + address_.display() + ": " + err);
  co_return out;
}

awaitable<http::ClientResponse> ConnectClient::storage_request(std::string method,
                                                               std::string target,
                                                               std::string body) {
  auto permit = co_await storage_slot_.acquire();
  if (!storage_)
    storage_ = std::make_unique<http::HttpClient>(ex_, address_.origin(),
                                                  http_options(options_, options_.io_timeout));
  http::Headers headers = standard_headers(options_);
  if (method == "POST") headers.set("Content-Type", "application/octet-stream");
  try {
    co_return co_await storage_->request(std::move(method), std::move(target), std::move(headers),
                                         std::move(body));
  } catch (const http::HttpClientError& e) {
    throw unreachable(address_.display(), transport_reason(e.what()));
  }
}

awaitable<std::string> ConnectClient::upload(std::string bytes, std::string name) {
  std::string target = address_.target("/api/storage/upload");
  if (!name.empty()) target += "?name=" + percent_encode(name);
  auto res = co_await storage_request("POST", std::move(target), std::move(bytes));
  if (res.status != 200)
    throw http_error(name.empty() ? "upload" : "upload of " + name, res.status, res.body);
  std::string ref;
  if (auto h = res.headers.get("x-wasimoff-ref")) ref = std::string(trim(*h));
  if (ref.empty()) ref = std::string(trim(res.body));
  if (!normalize_ref(ref))
    throw ClientError(ClientError::Kind::kProtocol, "",
                      "the broker answered the upload without a ref: " + truncate_utf8(ref, 100));
  co_return ref;
}

awaitable<bool> ConnectClient::exists(std::string ref_or_name) {
  auto res = co_await storage_request(
      "HEAD", address_.target(std::string(contract::paths::kStorage) + percent_encode(ref_or_name)),
      {});
  if (res.status == 200) co_return true;
  if (res.status == 404) co_return false;
  throw http_error("looking up " + ref_or_name, res.status, res.body);
}

}  // namespace wasimoff::client
