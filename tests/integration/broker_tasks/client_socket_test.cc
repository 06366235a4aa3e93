// The client WebSocket /api/client/ws (docs/protocol.md §10).
#include "broker_tasks_fixture.h"

namespace wasimoff::testing {
namespace {

v1::Task::Wasip1::Request echo_request(const std::string& arg,
                                       const std::string& binary = "echo.wasm") {
  v1::Task::Wasip1::Request r;
  r.mutable_params()->mutable_binary()->set_ref(binary);
  r.mutable_params()->add_args(binary);
  r.mutable_params()->add_args(arg);
  return r;
}

class ClientWs : public BrokerTasks, public ::testing::WithParamInterface<std::string> {};

TEST_P(ClientWs, ResponsesArriveOutOfOrderAndAreCorrelated) {
  start_broker();
  auto p = connect_provider("ooo", 2);
  p->set_script([](const v1::Task::Wasip1::Request& r) {
    auto a = TaskAction::echo(r);
    return r.params().args(1) == "slow" ? a.held() : a;
  });
  ClientSocket client(client_ws_url(), {GetParam()});
  auto slow = client.call(echo_request("slow"));
  ASSERT_TRUE(p->wait_running(1));
  auto fast = client.call(echo_request("fast"));
  ASSERT_EQ(fast.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(slow.wait_for(0s),
            std::future_status::timeout);  // the earlier request is still running
  auto f = fast.get();
  ASSERT_TRUE(f.ok()) << f.error();
  v1::Task::Wasip1::Response fr;
  ASSERT_EQ(protocol::unpack_any(f.payload, &fr), protocol::UnpackStatus::kOk);
  EXPECT_EQ(fr.ok().stdout(), "fast\n");
  EXPECT_TRUE(fr.info().requester().starts_with("127.0.0.1:"));
  p->release_tasks();
  ASSERT_EQ(slow.wait_for(30s), std::future_status::ready);
  v1::Task::Wasip1::Response sr;
  auto s = slow.get();
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(protocol::unpack_any(s.payload, &sr), protocol::UnpackStatus::kOk);
  EXPECT_EQ(sr.ok().stdout(), "slow\n");
}

INSTANTIATE_TEST_SUITE_P(Subprotocols, ClientWs,
                         ::testing::Values("wasimoff_provider_v1_protobuf",
                                           "wasimoff_provider_v1_json"));

TEST_F(BrokerTasks, ClientSocketErrorsCarryTheConnectCode) {
  start_broker({{"WASIMOFF_QUEUE_SIZE", "1"}});
  ClientSocket client(client_ws_url());
  auto missing = client.call_as<v1::Task::Wasip1::Response>(echo_request("x", "nope.wasm"));
  ASSERT_EQ(missing.index(), 1u);
  EXPECT_EQ(std::get<1>(missing), "not_found: file not found in storage: nope.wasm");

  v1::Task::Wasip1::Request no_params;
  auto invalid = client.call_as<v1::Task::Wasip1::Response>(no_params);
  ASSERT_EQ(invalid.index(), 1u);
  EXPECT_TRUE(std::get<1>(invalid).starts_with("invalid_argument: ")) << std::get<1>(invalid);

  // Queue of one, no provider: the second task finds the queue full.
  auto queued = client.call(echo_request("1"));
  ASSERT_TRUE(wait_queue(1));
  auto full = client.call_as<v1::Task::Wasip1::Response>(echo_request("2"));
  ASSERT_EQ(full.index(), 1u);
  EXPECT_EQ(std::get<1>(full), "resource_exhausted: queue full");

  // Requests of types the socket does not serve, and Ping.
  auto listing =
      client.call_as<v1::Filesystem::Listing::Response>(v1::Filesystem::Listing::Request());
  ASSERT_EQ(listing.index(), 1u);
  EXPECT_EQ(std::get<1>(listing), "not implemented");
  EXPECT_EQ(client.call_as<v1::Ping>(v1::Ping()).index(), 0u);

  auto p = connect_provider("late", 1);
  ASSERT_EQ(queued.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(queued.get().ok());
}

TEST_F(BrokerTasks, ClosingTheClientSocketCancelsItsTasks) {
  start_broker();
  auto p = connect_provider("held", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  auto client = std::make_unique<ClientSocket>(client_ws_url());
  auto running = client->call(echo_request("running"));
  ASSERT_TRUE(p->wait_running(1));
  auto queued = client->call(echo_request("queued"));
  ASSERT_TRUE(wait_queue(1));
  client->close();
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 1; }));
  EXPECT_EQ(p->cancels()[0].reason(), "context canceled");
  EXPECT_EQ(p->cancels()[0].id(), p->requests()[0].info().id());
  ASSERT_TRUE(wait_queue(0));  // the queued task was dropped, not sent
  ASSERT_TRUE(wait_until([&] { return debug_number("active") == 0; }));
  EXPECT_EQ(p->requests().size(), 1u);
  // Another client gets the provider's slot.
  p->set_script({});
  EXPECT_EQ(stdout_of(run_ok({"next"})), "next\n");
}

TEST_F(BrokerTasks, ClientSocketRunsJobsAndUploads) {
  start_broker();
  auto p = connect_provider("jobber", 2);
  ClientSocket client(client_ws_url());
  v1::Filesystem::Upload::Request up;
  up.mutable_upload()->set_blob(tiny_wasm("uploaded-over-ws"));
  up.mutable_upload()->set_ref("ws.wasm");
  auto uploaded = client.call_as<v1::Filesystem::Upload::Response>(up);
  ASSERT_EQ(uploaded.index(), 0u) << std::get<1>(uploaded);
  EXPECT_TRUE(std::get<0>(uploaded).ref().starts_with("sha256:"));

  v1::Task::Wasip1::JobRequest job;
  job.mutable_parent()->mutable_binary()->set_ref("ws.wasm");
  for (int i = 0; i < 5; ++i) {
    auto* t = job.add_tasks();
    t->add_args("ws.wasm");
    t->add_args(std::to_string(i));
  }
  auto r = client.call_as<v1::Task::Wasip1::JobResponse>(job);
  ASSERT_EQ(r.index(), 0u) << std::get<1>(r);
  const auto& jr = std::get<0>(r);
  ASSERT_EQ(jr.tasks_size(), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(jr.tasks(i).ok().stdout(), std::to_string(i) + "\n");
  for (const auto& req : p->requests())
    EXPECT_EQ(req.params().binary().ref(), std::get<0>(uploaded).ref());
}

TEST_F(BrokerTasks, ClientSocketNeedsTheClientToken) {
  start_broker({{"WASIMOFF_CLIENT_TOKEN", "c-token"}});
  EXPECT_THROW({ ClientSocket refused(client_ws_url()); }, std::runtime_error);
  ClientSocket ok(client_ws_url() + "?token=c-token");
  EXPECT_EQ(ok.call_as<v1::Ping>(v1::Ping()).index(), 0u);
  ClientSocket bearer(client_ws_url(), {"wasimoff_provider_v1_protobuf"},
                      make_headers({{"Authorization", "Bearer c-token"}}));
  EXPECT_EQ(bearer.call_as<v1::Ping>(v1::Ping()).index(), 0u);
}

}  // namespace
}  // namespace wasimoff::testing
