// Provider names across the trust boundary (security.md "Providers as seen by the Broker"):
// refused on the handshake when invalid, ignored in a legacy ProviderHello, escaped in headers.
#include "broker_tasks_fixture.h"
#include "common/strings.h"

namespace wasimoff::testing {
namespace {

TEST_F(BrokerTasks, InvalidProviderNamesAreRefusedOnTheHandshake) {
  start_broker();
  for (std::string bad : {std::string("evil\r\nX-Injected: 1"), std::string("tab\there"),
                          std::string(129, 'n'), std::string("\xff\xfe"),
                          std::string("\xe2\x80\xae"
                                      "reversed"),
                          std::string("nul\0x", 5)}) {
    SCOPED_TRACE(escape_untrusted(bad));
    auto o = provider_options(bad);
    try {
      TestProvider p(o);
      ADD_FAILURE() << "handshake accepted";
    } catch (const HandshakeRefused& e) {
      EXPECT_EQ(e.status, 400u);
      EXPECT_TRUE(e.body.starts_with("invalid provider name: ")) << e.body;
    }
  }
  EXPECT_TRUE(debug_state().at("providers").as_array().empty());
  // Printable Unicode up to 128 bytes is fine.
  for (std::string good : {std::string("Müller's laptop (8 cores) ✓"), std::string(128, 'n')}) {
    auto p = connect_provider(provider_options(good, 1));
    EXPECT_FALSE(debug_provider(good).is_null());
  }
}

// A legacy ProviderHello may name an anonymous provider, but not with a name that would be
// refused on the handshake: that name would end up in the CGI `X-Wasimoff-Provider` header.
TEST_F(BrokerTasks, InvalidHelloNameIsIgnoredAndNamesNeverBreakHeaders) {
  start_broker();
  auto o = provider_options("unused", 1);
  o.name = std::nullopt;  // no ?id=: "anonymous"
  auto p = connect_provider(o);
  v1::Event::ProviderHello hello;
  hello.set_name("evil\r\nX-Injected: yes");
  p->send_event(hello);
  barrier(*p, 900);
  EXPECT_EQ(debug_state().at("providers").as_array().at(0).at("name"), "anonymous");
  auto r = http_request("POST", broker().url("/api/client/run/echo.wasm"), {}, "");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.headers.get("X-Wasimoff-Provider"), "anonymous");
  EXPECT_FALSE(r.headers.has("X-Injected"));
  // A valid Hello name is taken (legacy behaviour).
  hello.set_name("Hallo ✓");
  p->send_event(hello);
  ASSERT_TRUE(wait_until([&] { return !debug_provider("Hallo ✓").is_null(); }));
  r = http_request("POST", broker().url("/api/client/run/echo.wasm"), {}, "");
  ASSERT_EQ(r.status, 200u) << r.body;
  // Header values are ASCII: the check mark is escaped, the text stays readable.
  EXPECT_EQ(r.headers.get("X-Wasimoff-Provider"), "Hallo \\xe2\\x9c\\x93");
}

}  // namespace
}  // namespace wasimoff::testing
