// TLS on the broker's TCP listener (docs/configuration.md §5.1, §8): the ephemeral certificate with
// WASIMOFF_HTTPS=true, PEM files with WASIMOFF_HTTP_CERT/KEY, and reloads on SIGHUP.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <filesystem>
#include <thread>

#include "broker_http_fixture.h"

namespace wasimoff::testing::broker_http {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string config_certhash(const BrokerProcess& broker) {
  auto r = http_get(broker.url("/api/broker/v1/config"));
  auto doc = boost::json::parse(r.body).as_object();
  if (!doc.contains("certhash")) return "";
  return std::string(doc.at("certhash").as_string());
}

// Polls until the certificate served to new connections has `hash` (bounded).
bool wait_for_served(std::uint16_t port, const std::string& hash) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    if (served_certificate_sha256(port) == hash) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void replace_file(const std::string& from, const std::string& to) {
  fs::copy_file(from, to + ".tmp", fs::copy_options::overwrite_existing);
  fs::rename(to + ".tmp", to);
}

TEST(Tls, HttpsWithEphemeralCertificateMatchesCerthash) {
  BrokerProcess broker(Env{{"WASIMOFF_HTTPS", "true"}});
  ASSERT_THAT(broker.url(), ::testing::StartsWith("https://"));
  auto r = http_get(broker.url("/healthz"));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "OK\n");
  EXPECT_THAT(header(r, "Server"), ::testing::StartsWith("wasimoff-broker/"));

  const std::string certhash = config_certhash(broker);
  ASSERT_TRUE(is_lower_hex64(certhash)) << certhash;
  EXPECT_EQ(served_certificate_sha256(broker.port()), certhash);
  // A warning about page loads with the ephemeral certificate is logged.
  EXPECT_THAT(broker.process().stderr_text(), HasSubstr("WASIMOFF_HTTPS"));
  // Uploads and downloads work over TLS as well.
  const std::string wasm = wasm_bytes("over tls");
  auto up = http_request("POST", broker.url("/api/storage/upload?name=tls.wasm"), {}, wasm);
  EXPECT_EQ(up.status, 200u);
  EXPECT_EQ(http_get(broker.url("/api/storage/tls.wasm")).body, wasm);
  // Plain HTTP on the TLS port gets no HTTP response.
  auto plain = raw_exchange(broker.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                            std::chrono::seconds(5));
  EXPECT_EQ(raw_status(plain), 0u) << plain;
  EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);
}

TEST(Tls, HttpsWithLoadedQuicCertificateServesThatCertificateAndReloadsIt) {
  TempDir dir;
  auto first = make_certificate(dir, "quic1");
  auto second = make_certificate(dir, "quic2");
  const std::string cert = dir.file("quic.crt"), key = dir.file("quic.key");
  fs::copy_file(first.cert, cert);
  fs::copy_file(first.key, key);
  BrokerProcess broker(
      Env{{"WASIMOFF_HTTPS", "true"}, {"WASIMOFF_QUIC_CERT", cert}, {"WASIMOFF_QUIC_KEY", key}});
  EXPECT_EQ(served_certificate_sha256(broker.port()), pem_certificate_sha256(first.cert));
  EXPECT_EQ(config_certhash(broker), "");
  // SIGHUP re-reads the QUIC pair; the TCP listener reuses it for new connections.
  replace_file(second.cert, cert);
  replace_file(second.key, key);
  broker.process().signal(SIGHUP);
  EXPECT_TRUE(wait_for_served(broker.port(), pem_certificate_sha256(second.cert)));
  EXPECT_EQ(config_certhash(broker), "");
}

TEST(Tls, HttpCertificateTakesPrecedenceOverHttps) {
  TempDir dir;
  auto http_pair = make_certificate(dir, "http");
  BrokerProcess broker(Env{{"WASIMOFF_HTTPS", "true"},
                           {"WASIMOFF_HTTP_CERT", http_pair.cert},
                           {"WASIMOFF_HTTP_KEY", http_pair.key}});
  EXPECT_EQ(served_certificate_sha256(broker.port()), pem_certificate_sha256(http_pair.cert));
  EXPECT_NE(served_certificate_sha256(broker.port()), config_certhash(broker));
}

TEST(Tls, PemFilesAndSighupReload) {
  TempDir dir;
  auto first = make_certificate(dir, "first");
  auto second = make_certificate(dir, "second");
  const std::string cert = dir.file("http.crt"), key = dir.file("http.key");
  fs::copy_file(first.cert, cert);
  fs::copy_file(first.key, key);
  BrokerProcess broker(Env{{"WASIMOFF_HTTP_CERT", cert}, {"WASIMOFF_HTTP_KEY", key}});
  ASSERT_THAT(broker.url(), ::testing::StartsWith("https://"));
  const std::string first_hash = pem_certificate_sha256(first.cert);
  const std::string second_hash = pem_certificate_sha256(second.cert);
  ASSERT_NE(first_hash, second_hash);
  EXPECT_EQ(served_certificate_sha256(broker.port()), first_hash);
  EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);
  // The QUIC side keeps its own ephemeral certificate: certhash is not the HTTP certificate's.
  auto quic_hash = config_certhash(broker);
  EXPECT_TRUE(is_lower_hex64(quic_hash));
  EXPECT_NE(quic_hash, first_hash);

  // Replace both files, SIGHUP: new connections see the new certificate.
  replace_file(second.cert, cert);
  replace_file(second.key, key);
  broker.process().signal(SIGHUP);
  EXPECT_TRUE(wait_for_served(broker.port(), second_hash));
  EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);
  EXPECT_TRUE(
      broker.process().wait_for_stderr("reloaded the HTTP certificate", std::chrono::seconds(5)));
  // The QUIC certificate did not change.
  EXPECT_EQ(config_certhash(broker), quic_hash);

  // A broken certificate file: the old pair stays, an error is logged, the broker keeps serving.
  dir.write("http.crt.tmp", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  fs::rename(dir.file("http.crt.tmp"), cert);
  broker.process().signal(SIGHUP);
  EXPECT_TRUE(broker.process().wait_for_stderr("cannot reload the HTTP certificate",
                                               std::chrono::seconds(10)))
      << broker.process().stderr_text();
  EXPECT_TRUE(broker.process().running());
  EXPECT_EQ(served_certificate_sha256(broker.port()), second_hash);
  EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);

  // A key that does not match the certificate is refused the same way.
  replace_file(first.cert, cert);  // key is still the second one
  broker.process().signal(SIGHUP);
  auto errors = [&] {
    std::size_t n = 0;
    for (auto pos = broker.process().stderr_text().find("cannot reload the HTTP certificate");
         pos != std::string::npos;
         pos = broker.process().stderr_text().find("cannot reload the HTTP certificate", pos + 1))
      ++n;
    return n;
  };
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (errors() < 2 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(errors(), 2u) << broker.process().stderr_text();
  EXPECT_EQ(served_certificate_sha256(broker.port()), second_hash);

  // Fixing the files and reloading again works.
  replace_file(first.key, key);
  broker.process().signal(SIGHUP);
  EXPECT_TRUE(wait_for_served(broker.port(), first_hash));
  EXPECT_EQ(broker.stop(), 0) << broker.process().stderr_text();
}

TEST(Tls, AlpnOffersHttp11AndTlsErrorsDoNotHurtTheListener) {
  BrokerProcess broker(Env{{"WASIMOFF_HTTPS", "true"}});
  EXPECT_EQ(tls_handshake(broker.port(), std::string("\x02h2\x08http/1.1")).alpn, "http/1.1");
  EXPECT_EQ(tls_handshake(broker.port()).alpn, "");
  // A client that insists on HTTP/2 only cannot be served.
  EXPECT_THROW(tls_handshake(broker.port(), std::string("\x02h2")), std::runtime_error);
  // Garbage instead of a ClientHello, and a client that connects and says nothing but leaves.
  auto junk = raw_exchange(broker.port(), std::string(100, '\x16'), std::chrono::seconds(5));
  EXPECT_EQ(raw_status(junk), 0u);
  { HttpConnection silent(broker.port()); }
  EXPECT_EQ(http_get(broker.url("/healthz")).status, 200u);
}

}  // namespace
}  // namespace wasimoff::testing::broker_http
