// A scripted provider for Broker tests: a real WebSocket client that speaks the provider side of
// docs/protocol.md §9 and records everything it sees.
//
// It connects to /api/provider/ws with either subprotocol (and configurable user agent, origin,
// token and name), announces ProviderResources, answers Filesystem.Listing with a configurable
// file list, answers Ping and Task.Cancel, and executes Task.Wasip1.Requests by a script the test
// supplies (echo, delay, hold until released, application error, Envelope error, disconnect
// mid-task, never answer). It records the raw bytes of every received WebSocket message, the
// decoded Envelopes, every task request, cancel and event, and the maximum number of tasks that
// ran at the same time.
//
// It runs on its own thread with its own io_context, so tests drive it synchronously: every
// public member function is thread-safe and never blocks longer than its stated timeout.
// Commands (set_concurrency, add_files, release_tasks, ...) are executed on the provider thread
// in call order; their messages are queued for sending when the call returns.
#pragma once

#include <google/protobuf/any.pb.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "wasimoff/v1/extensions.pb.h"
#include "wasimoff/v1/messages.pb.h"

namespace wasimoff::testing {

// What the provider does with one Task.Wasip1.Request.
struct TaskAction {
  enum class Kind {
    kOk,             // answer Response{info, ok: output}
    kAppError,       // answer Response{info, error: error} (application-level failure)
    kEnvelopeError,  // answer with Envelope.error = error (call failed as a whole, retryable)
    kDisconnect,     // drop the TCP connection without a close frame (a crash)
    kNoAnswer,       // never answer the task, not even after a Task.Cancel
    kOversized,      // answer with one WebSocket message of `oversize` bytes (not an Envelope)
  };
  Kind kind = Kind::kOk;
  v1::Task::Wasip1::Output output;     // kOk
  std::string error;                   // kAppError, kEnvelopeError
  std::chrono::milliseconds delay{0};  // wait before acting; a Task.Cancel ends the wait early
  bool hold = false;                   // before acting, wait for release_tasks() or a Task.Cancel
  std::size_t oversize = 0;            // kOversized: size of the message

  // stdout = argv[1..] joined by ' ' plus "\n", status 0 (what `echo` would print).
  static TaskAction echo(const v1::Task::Wasip1::Request& request);
  static TaskAction ok(std::string stdout_text, int status = 0, std::string stderr_text = {});
  static TaskAction app_error(std::string text);
  static TaskAction envelope_error(std::string text);
  static TaskAction disconnect();
  static TaskAction no_answer();
  // A message larger than the Broker accepts (e.g. a result beyond WASIMOFF_MAX_MESSAGE_SIZE):
  // `bytes` filler bytes in a frame of the negotiated kind; the task itself is never answered.
  static TaskAction oversized(std::size_t bytes);
  TaskAction after(std::chrono::milliseconds d) const;
  TaskAction held() const;
};

using TaskScript = std::function<TaskAction(const v1::Task::Wasip1::Request&)>;

struct TestProviderOptions {
  // Endpoint without query, e.g. "ws://127.0.0.1:4080/api/provider/ws".
  std::string url;
  std::optional<std::string> name = "test-provider";  // ?id=<name>; nullopt = no id parameter
  std::vector<std::string> subprotocols = {"wasimoff_provider_v1_protobuf"};
  std::optional<std::string> user_agent = "wasimoff-test-provider/1";  // nullopt = no header
  std::optional<std::string> origin;                                   // Origin header
  std::optional<std::string> token;                                    // ?token=<token>
  std::optional<std::string> bearer;                         // Authorization: Bearer <bearer>
  std::vector<std::pair<std::string, std::string>> headers;  // further request headers
  std::vector<std::string> files;                            // answered to Filesystem.Listing
  std::uint32_t concurrency = 2;                             // announced workers
  bool announce_resources = true;  // send ProviderResources right after connecting
  bool announce_busy = true;       // re-announce {concurrency, tasks} when busy count changes
  bool answer_listing = true;      // false: Listing is never answered
  bool answer_pings = true;        // false: Ping is never answered
  std::string ping_error;          // non-empty: answer Ping with this Envelope error
  bool answer_cancels = true;      // false: Task.Cancel is never answered (task still stops)
  bool supports_pyodide = false;   // false: Pyodide requests get Envelope.error "not implemented"
  TaskScript script;               // empty = TaskAction::echo
  // Sent right after ProviderResources (before the Listing is answered); nullopt = a v1-style
  // provider that announces nothing.
  std::optional<v1::ProviderCapabilities> capabilities;
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(15);
};

// Thrown by the constructor when the Broker refuses the upgrade with an HTTP status.
class HandshakeRefused : public std::runtime_error {
 public:
  HandshakeRefused(unsigned status, std::string body);
  unsigned status;
  std::string body;
};

// One WebSocket message as it arrived from the Broker.
struct ReceivedMessage {
  std::string bytes;  // the exact payload of the WebSocket message
  bool text = false;  // text frame (JSON codec) or binary frame
  bool decoded = false;
  v1::Envelope envelope;  // valid when `decoded`
};

// The close frame the Broker sent, if any.
struct CloseFrame {
  int code = 0;
  std::string reason;
};

class TestProvider {
 public:
  // Connects and starts serving; returns after the WebSocket handshake. Throws HandshakeRefused
  // (HTTP status of a refused upgrade) or std::runtime_error (connection failure).
  explicit TestProvider(TestProviderOptions options);
  // Closes normally (1000 "bye!") if still connected and joins the provider thread.
  ~TestProvider();
  TestProvider(const TestProvider&) = delete;
  TestProvider& operator=(const TestProvider&) = delete;

  const std::string& name() const;
  // Subprotocol the Broker selected ("" = none).
  std::string subprotocol() const;

  // --- waiting (bounded polling; false on timeout) ---
  bool wait_for(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  // Registered = the Broker sent its first ClusterInfo (docs/protocol.md §8 step 3).
  bool wait_registered(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  bool wait_disconnected(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
  // Waits until at least `n` tasks are running (received and not yet answered).
  bool wait_running(std::size_t n,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

  // --- commands ---
  void set_script(TaskScript script);
  // Announces ProviderResources{concurrency, tasks: <running>}.
  void set_concurrency(std::uint32_t concurrency);
  // Announces FileSystemUpdate (and updates the list answered to a later Listing).
  void add_files(const std::vector<std::string>& refs);
  void remove_files(const std::vector<std::string>& refs);
  // Sends an arbitrary Event.
  void send_event(const google::protobuf::Message& event);
  // Sends one raw WebSocket message (bypassing the codec).
  void send_raw(std::string bytes, bool text);
  // Lets up to `n` held tasks (TaskAction::hold) proceed, oldest first.
  void release_tasks(std::size_t n = std::numeric_limits<std::size_t>::max());
  // Closes the WebSocket with a close frame (a provider leaving).
  void close(int code = 1000, std::string reason = "bye!");
  // Drops the TCP connection without a close frame (a crashed provider).
  void kill();

  // --- recordings ---
  bool connected() const;
  std::optional<CloseFrame> close_frame() const;
  std::vector<ReceivedMessage> received() const;
  std::vector<v1::Task::Wasip1::Request> requests() const;
  std::vector<v1::Task::Pyodide::Request> pyodide_requests() const;  // also the refused ones
  std::vector<v1::Task::Cancel> cancels() const;
  std::vector<google::protobuf::Any> events() const;  // every Event payload in arrival order
  std::size_t listing_requests() const;
  std::size_t pings() const;
  std::size_t running() const;      // tasks received and not yet answered
  std::size_t max_running() const;  // highest value `running` ever had
  std::size_t answered() const;     // task Responses sent (any kind)
  std::size_t held() const;         // tasks currently waiting for release_tasks()
  std::size_t undecodable() const;  // received messages that did not decode as an Envelope
  // Tasks that arrived while `running` was already at the announced concurrency. A lowered
  // concurrency counts only for tasks dispatched after the Broker processed it (set_concurrency
  // waits for that), so any non-zero value is a Broker bug.
  std::size_t violations() const;

  // Events of type T in arrival order.
  template <typename T>
  std::vector<T> events_of() const {
    std::vector<T> out;
    for (const auto& any : events()) {
      auto name = any.type_url().substr(any.type_url().rfind('/') + 1);
      if (name != T::descriptor()->full_name()) continue;
      T msg;
      if (msg.ParseFromString(any.value())) out.push_back(std::move(msg));
    }
    return out;
  }

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// A tiny valid WebAssembly module (magic, version, one custom section named `tag`): distinct
// tags give distinct sha256 refs.
std::string tiny_wasm(const std::string& tag);

}  // namespace wasimoff::testing
