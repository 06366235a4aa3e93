#include "client/task_socket.h"

#include <charconv>

#include "net/websocket/websocket_transport.h"

namespace wasimoff::client {

namespace {

constexpr std::string_view kClosedError = "connection to the broker closed";

// websocket::connect reports a refused upgrade as "… refused by <origin>: HTTP <status> <body>".
std::optional<std::pair<unsigned, std::string>> refused_upgrade(std::string_view what) {
  auto pos = what.find(": HTTP ");
  if (what.find("upgrade refused") == std::string_view::npos || pos == std::string_view::npos)
    return std::nullopt;
  auto rest = what.substr(pos + 7);
  unsigned status = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), status);
  if (ec != std::errc()) return std::nullopt;
  std::string body(rest.substr(p - rest.data()));
  while (!body.empty() && body.front() == ' ') body.erase(body.begin());
  return std::make_pair(status, body);
}

}  // namespace

void set_deadline_within(v1::Task::QoS* qos, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::system_clock::now() + timeout;
  auto since_epoch =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch());
  std::int64_t seconds = since_epoch.count() / 1'000'000'000;
  std::int32_t nanos = static_cast<std::int32_t>(since_epoch.count() % 1'000'000'000);
  if (qos->has_deadline()) {
    const auto& d = qos->deadline();
    if (d.seconds() < seconds || (d.seconds() == seconds && d.nanos() <= nanos)) return;
  }
  qos->mutable_deadline()->set_seconds(seconds);
  qos->mutable_deadline()->set_nanos(nanos);
}

TaskSocket::TaskSocket(std::shared_ptr<protocol::Messenger> messenger, BrokerOptions options,
                       BrokerAddress address)
    : messenger_(std::move(messenger)),
      options_(std::move(options)),
      address_(std::move(address)) {}

TaskSocket::~TaskSocket() {
  close();
}

awaitable<std::unique_ptr<TaskSocket>> TaskSocket::connect(asio::any_io_executor ex,
                                                           BrokerOptions options) {
  BrokerAddress address = parse_broker_address(options.broker);
  websocket::ConnectOptions co;
  co.headers = standard_headers(options);
  co.headers.set("User-Agent", user_agent(options));
  co.connect_timeout = options.connect_timeout;
  co.transport.handshake_timeout = options.connect_timeout;
  co.ca_file = options.ca_file;
  co.insecure = options.insecure;
  std::unique_ptr<protocol::Transport> transport;
  try {
    transport = co_await websocket::connect(ex, address.websocket_url(), co);
  } catch (const std::exception& e) {
    if (auto refused = refused_upgrade(e.what()))
      throw http_error("opening the client WebSocket", refused->first, refused->second);
    // "cannot connect to ws://h:p: Connection refused" → the reason after the URL.
    std::string what = e.what();
    if (auto scheme = what.rfind("://"); scheme != std::string::npos)
      if (auto sep = what.find(": ", scheme); sep != std::string::npos) what = what.substr(sep + 2);
    throw unreachable(address.display(), what);
  }
  protocol::Messenger::Options mo;
  mo.name = "broker " + address.display();
  mo.disconnect_error = std::string(kClosedError);
  auto messenger = std::make_shared<protocol::Messenger>(ex, std::move(transport), mo);
  // The Broker sends no Events and no Requests to clients; the Messenger answers stray Requests
  // with "not implemented" and drops Events.
  messenger->on_event([](const google::protobuf::Message&) {});
  messenger->start();
  co_return std::unique_ptr<TaskSocket>(
      new TaskSocket(std::move(messenger), std::move(options), std::move(address)));
}

void TaskSocket::close() {
  if (messenger_ && !messenger_->is_closed())
    messenger_->close(protocol::CloseCode::kNormal, "bye!");
}

template <typename Resp>
awaitable<Resp> TaskSocket::call(const google::protobuf::Message& request) {
  // Keep the messenger alive while waiting, even if this TaskSocket is destroyed meanwhile.
  auto messenger = messenger_;
  auto timeout = options_.task_timeout
                     ? *options_.task_timeout + std::chrono::seconds(30)
                     : std::chrono::duration_cast<std::chrono::milliseconds>(kMaxTaskWait);
  protocol::CallResult result = co_await messenger->call(request, timeout);
  if (result.ok()) {
    Resp out;
    if (protocol::unpack_any(result.payload, &out) == protocol::UnpackStatus::kOk) co_return out;
    throw ClientError(
        ClientError::Kind::kProtocol, "",
        "unexpected response payload " + protocol::Messenger::describe_payload(result.payload));
  }
  // The Broker's own error answer, or a failure of the call here (transport gone, our time limit).
  const Status& status = result.status;
  if (result.answered) throw envelope_error(status);
  if (messenger->is_closed() && status.code() == StatusCode::kUnavailable) {
    std::string why = messenger->close_reason();
    throw ClientError(ClientError::Kind::kUnreachable, "",
                      "the connection to the broker at " + address_.display() + " closed" +
                          (why.empty() ? "" : ": " + why));
  }
  if (status.code() == StatusCode::kDeadlineExceeded)
    throw unreachable(address_.display(), "no answer from the broker: " + status.message());
  throw envelope_error(status);
}

void TaskSocket::apply_timeout(v1::Task::QoS* qos) const {
  if (!options_.task_timeout) return;
  set_deadline_within(qos, *options_.task_timeout);
}

awaitable<v1::Task::Wasip1::Response> TaskSocket::run(v1::Task::Wasip1::Request request) {
  apply_timeout(request.mutable_qos());
  co_return co_await call<v1::Task::Wasip1::Response>(request);
}

awaitable<v1::Task::Wasip1::JobResponse> TaskSocket::run_job(v1::Task::Wasip1::JobRequest request) {
  apply_timeout(request.mutable_qos());
  co_return co_await call<v1::Task::Wasip1::JobResponse>(request);
}

}  // namespace wasimoff::client
