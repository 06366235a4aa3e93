// CGI-style execution POST /api/client/run/{wasm} (docs/http-api.md §5).
#include "broker_tasks_fixture.h"
#include "common/strings.h"

namespace wasimoff::testing {
namespace {

std::vector<std::string> args_of(const v1::Task::Wasip1::Request& r) {
  return {r.params().args().begin(), r.params().args().end()};
}

class Cgi : public BrokerTasks {
 protected:
  ClientResponse run(const std::string& wasm, const HeaderList& headers,
                     const std::string& body = "") {
    return http_request("POST", broker().url("/api/client/run/" + wasm), make_headers(headers),
                        body);
  }
};

TEST_F(Cgi, HeadersBecomeArgvEnvArtifactsAndRootfs) {
  start_broker();
  std::string empty_zip("PK\x05\x06", 4);
  empty_zip += std::string(18, '\0');
  std::string zip_ref = upload(empty_zip, "root.zip");
  auto o = provider_options("cgi", 1);
  o.script = [](const v1::Task::Wasip1::Request&) {
    auto a = TaskAction::ok("out\n", 7, "err\n");
    a.output.mutable_artifacts()->set_media("application/zip");
    a.output.mutable_artifacts()->set_blob("PK-artifacts");
    return a;
  };
  auto p = connect_provider(o);
  HeaderList h{{"X-Args", R"(rand "8" 'a b' c\ d)"},
               {"X-Env-Mode", "demo"},
               {"X-Env-mode", "ignored: first value wins"},
               {"x-env-other_var", "v=1"},
               {"X-Artifact", "out.txt"},
               {"X-Artifact", "dir/b.txt"},
               {"X-RootFS-Ref", "root.zip"},
               {"Content-Type", "text/plain"}};
  auto r = run("echo.wasm", h, "the stdin");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "err\nout\n");  // stderr first, then stdout
  EXPECT_EQ(r.headers.get("Content-Type"), "application/octet-stream");
  EXPECT_EQ(r.headers.get("X-Wasimoff-Result"), "Ok");
  EXPECT_EQ(r.headers.get("X-Wasimoff-Status"), "7");
  EXPECT_EQ(r.headers.get("X-Wasimoff-Provider"), "cgi");
  EXPECT_EQ(r.headers.get("X-Wasimoff-Task-Id"), "1");
  EXPECT_EQ(r.headers.get("X-Wasimoff-Artifacts"), base64_encode("PK-artifacts"));

  auto requests = p->requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& params = requests[0].params();
  EXPECT_EQ(args_of(requests[0]),
            (std::vector<std::string>{"echo.wasm", "rand", "8", "a b", "c d"}));
  std::vector<std::string> envs(params.envs().begin(), params.envs().end());
  EXPECT_EQ(envs, (std::vector<std::string>{"MODE=demo", "OTHER_VAR=v=1", "CONTENT_LENGTH=9",
                                            "CONTENT_TYPE=text/plain"}));
  std::vector<std::string> artifacts(params.artifacts().begin(), params.artifacts().end());
  EXPECT_EQ(artifacts, (std::vector<std::string>{"out.txt", "dir/b.txt"}));
  EXPECT_EQ(params.rootfs().ref(), zip_ref);
  EXPECT_EQ(params.stdin(), "the stdin");
  EXPECT_EQ(params.binary().ref(), echo_ref);
}

TEST_F(Cgi, WithoutXArgsArgvIsTheBinaryName) {
  start_broker();
  auto p = connect_provider("cgi", 1);
  auto r = run("echo.wasm", {});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body, "\n");
  EXPECT_EQ(r.headers.get("X-Wasimoff-Status"), "0");
  EXPECT_FALSE(r.headers.has("X-Wasimoff-Artifacts"));
  EXPECT_EQ(args_of(p->requests()[0]), std::vector<std::string>{"echo.wasm"});
  // The path segment is percent-decoded; a ref works as well as an alias.
  auto by_ref = run(echo_ref, {{"X-Args", "x"}});
  EXPECT_EQ(by_ref.status, 200u);
  EXPECT_EQ(args_of(p->requests()[1]).front(), echo_ref);
}

TEST_F(Cgi, MalformedXArgsIs400) {
  start_broker();
  auto p = connect_provider("cgi", 1);
  for (std::string bad : {"'open", "\"open", "trailing\\", "\"esc\\"}) {
    auto r = run("echo.wasm", {{"X-Args", bad}});
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_TRUE(r.body.starts_with("malformatted X-Args: ")) << r.body;
  }
  EXPECT_EQ(p->requests().size(), 0u);
}

TEST_F(Cgi, ApplicationErrorIs200WithErrorResult) {
  start_broker();
  auto o = provider_options("cgi", 1);
  o.script = [](const auto&) { return TaskAction::app_error("trap: out of bounds memory access"); };
  auto p = connect_provider(o);
  auto r = run("echo.wasm", {});
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.headers.get("X-Wasimoff-Result"), "Error");
  EXPECT_EQ(r.headers.get("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.headers.get("X-Wasimoff-Provider"), "cgi");
  EXPECT_TRUE(r.headers.has("X-Wasimoff-Task-Id"));
  EXPECT_FALSE(r.headers.has("X-Wasimoff-Status"));
  EXPECT_EQ(trim(r.body), "trap: out of bounds memory access");
}

TEST_F(Cgi, RpcErrorsCarryTheCodeHeader) {
  start_broker({{"WASIMOFF_QUEUE_SIZE", "1"}});
  auto missing = run("nope.wasm", {});
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.headers.get("X-Wasimoff-Error-Code"), "not_found");
  EXPECT_EQ(trim(missing.body), "file not found in storage: nope.wasm");

  auto rootfs = run("echo.wasm", {{"X-RootFS-Ref", "echo.wasm"}});  // not a ZIP
  EXPECT_EQ(rootfs.status, 400u);
  EXPECT_EQ(rootfs.headers.get("X-Wasimoff-Error-Code"), "invalid_argument");

  auto queued = std::async(std::launch::async, [&] { return run("echo.wasm", {}); });
  ASSERT_TRUE(wait_queue(1));
  auto full = run("echo.wasm", {});
  EXPECT_EQ(full.status, 429u);
  EXPECT_EQ(full.headers.get("X-Wasimoff-Error-Code"), "resource_exhausted");
  EXPECT_EQ(full.headers.get("Retry-After"), "1");
  EXPECT_EQ(trim(full.body), "queue full");

  auto p = connect_provider("drain", 1);
  EXPECT_EQ(queued.get().status, 200u);
}

TEST_F(Cgi, ClientDisconnectCancelsTheTask) {
  start_broker();
  auto p = connect_provider("cgi", 1);
  p->set_script([](const auto& r) { return TaskAction::echo(r).held(); });
  std::string req =
      "POST /api/client/run/echo.wasm HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  RawRequest raw(broker().port(), req);
  ASSERT_TRUE(p->wait_running(1));
  raw.disconnect();
  ASSERT_TRUE(p->wait_for([&] { return p->cancels().size() == 1; }));
  EXPECT_EQ(p->cancels()[0].reason(), "context canceled");
}

}  // namespace
}  // namespace wasimoff::testing
