// File sets announced by providers (Listing, FileSystemUpdate) are bounded by what the Broker's
// storage knows (security.md "Providers as seen by the Broker").
#include <random>

#include "broker_tasks_fixture.h"
#include "common/strings.h"

namespace wasimoff::testing {
namespace {

std::vector<std::string> fake_refs(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string bytes(32, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    out.push_back("sha256:" + hex_encode(bytes));
  }
  return out;
}

TEST_F(BrokerTasks, ProviderFileSetsHoldOnlyRefsTheBrokerKnows) {
  start_broker();
  pid_t pid = broker().process().pid();
  auto before = rss_bytes(pid);
  std::mt19937_64 rng(10);
  auto o = provider_options("hoarder", 1);
  o.files = fake_refs(100000, rng);
  o.files.push_back(echo_ref);
  o.files.push_back("not a ref\r\n");
  o.files.push_back("SHA256:" + echo_ref.substr(7));  // not canonical
  auto p = connect_provider(o);
  for (int i = 0; i < 10; ++i) {
    v1::Event::FileSystemUpdate u;
    for (auto& r : fake_refs(100000, rng)) u.add_added(std::move(r));
    p->send_event(u);
  }
  p->add_files({echo_ref});
  barrier(*p, 900);
  EXPECT_EQ(debug_provider("hoarder").at("files"), 1) << json::serialize(debug_provider("hoarder"));
#ifndef WASIMOFF_SANITIZED  // ASan keeps freed memory in quarantine (256 MiB) and adds shadow
  auto grown = rss_bytes(pid) - std::min(before, rss_bytes(pid));
  EXPECT_LT(grown, 96u << 20) << "the Broker grew by " << format_bytes(grown);
#else
  (void)before;
#endif
  EXPECT_TRUE(broker().process().wait_for_stderr("ignored", 5s));
}

}  // namespace
}  // namespace wasimoff::testing
