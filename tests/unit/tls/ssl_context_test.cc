#include "net/tls/ssl_context.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace wasimoff::tls {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

struct ClientOptions {
  std::string alpn_wire;  // length-prefixed ALPN list; empty = no ALPN
  int max_version = 0;    // 0 = library default
};

struct HandshakeResult {
  bool server_ok = false;
  bool client_ok = false;
  std::string alpn;        // selected protocol as seen by the client
  int version = 0;         // negotiated protocol version
  std::string server_der;  // leaf presented by the server
};

std::string peer_der(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return {};
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  std::string out(reinterpret_cast<char*>(der), n > 0 ? n : 0);
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

// One TLS handshake over 127.0.0.1 between a server using `server_ctx` and an OpenSSL client.
// The io_context runs with a deadline so a broken handshake cannot hang the test.
HandshakeResult handshake(std::shared_ptr<ssl::context> server_ctx, const ClientOptions& opts) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = acceptor.local_endpoint().port();
  HandshakeResult r;

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        tcp::socket s =
            co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        ssl::stream<tcp::socket> stream(std::move(s), *server_ctx);
        co_await stream.async_handshake(ssl::stream_base::server,
                                        asio::redirect_error(asio::use_awaitable, ec));
        r.server_ok = !ec;
      },
      asio::detached);

  ssl::context client_ctx(ssl::context::tls_client);
  client_ctx.set_verify_mode(ssl::verify_none);  // the test compares the certificate itself
  if (opts.max_version) {
    SSL_CTX_set_min_proto_version(client_ctx.native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(client_ctx.native_handle(), opts.max_version);
    SSL_CTX_set_cipher_list(client_ctx.native_handle(), "DEFAULT:@SECLEVEL=0");
  }
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        ssl::stream<tcp::socket> stream(io, client_ctx);
        if (!opts.alpn_wire.empty())
          SSL_set_alpn_protos(stream.native_handle(),
                              reinterpret_cast<const unsigned char*>(opts.alpn_wire.data()),
                              static_cast<unsigned>(opts.alpn_wire.size()));
        co_await stream.next_layer().async_connect(
            tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
            asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        co_await stream.async_handshake(ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
        r.client_ok = !ec;
        if (ec) co_return;
        const unsigned char* proto = nullptr;
        unsigned len = 0;
        SSL_get0_alpn_selected(stream.native_handle(), &proto, &len);
        r.alpn.assign(reinterpret_cast<const char*>(proto), len);
        r.version = SSL_version(stream.native_handle());
        r.server_der = peer_der(stream.native_handle());
      },
      asio::detached);

  io.run_for(std::chrono::seconds(20));
  return r;
}

const std::string kH2AndHttp11 = std::string("\x02h2\x08http/1.1", 12);
const std::string kOnlyH2 = std::string("\x02h2", 3);

TEST(ServerSslContext, HandshakeSelectsHttp11AndPresentsTheLeaf) {
  auto pair = generate_ephemeral_certificate();
  auto r = handshake(make_server_ssl_context(pair), {.alpn_wire = kH2AndHttp11});
  EXPECT_TRUE(r.server_ok);
  ASSERT_TRUE(r.client_ok);
  EXPECT_EQ(r.alpn, "http/1.1");
  EXPECT_GE(r.version, TLS1_2_VERSION);
  EXPECT_EQ(r.server_der, pair.leaf_der);
}

TEST(ServerSslContext, ClientWithoutAlpnIsServed) {
  auto pair = generate_ephemeral_certificate();
  auto r = handshake(make_server_ssl_context(pair), {});
  EXPECT_TRUE(r.server_ok);
  EXPECT_TRUE(r.client_ok);
  EXPECT_EQ(r.alpn, "");
}

TEST(ServerSslContext, ClientOfferingOnlyH2IsRefused) {
  auto r =
      handshake(make_server_ssl_context(generate_ephemeral_certificate()), {.alpn_wire = kOnlyH2});
  EXPECT_FALSE(r.server_ok);
  EXPECT_FALSE(r.client_ok);
}

TEST(ServerSslContext, Tls11IsRefusedTls12Accepted) {
  auto ctx = make_server_ssl_context(generate_ephemeral_certificate());
  auto old = handshake(ctx, {.max_version = TLS1_1_VERSION});
  EXPECT_FALSE(old.server_ok);
  EXPECT_FALSE(old.client_ok);
  auto v12 = handshake(ctx, {.max_version = TLS1_2_VERSION});
  EXPECT_TRUE(v12.server_ok);
  EXPECT_TRUE(v12.client_ok);
  EXPECT_EQ(v12.version, TLS1_2_VERSION);
}

TEST(ServerSslContext, MismatchedPairIsRejected) {
  auto a = generate_ephemeral_certificate();
  auto b = generate_ephemeral_certificate();
  CertificatePair broken = a;
  broken.key_pem = b.key_pem;
  EXPECT_THROW(make_server_ssl_context(broken), TlsError);
  CertificatePair garbage = a;
  garbage.cert_pem = "not pem";
  EXPECT_THROW(make_server_ssl_context(garbage), TlsError);
}

TEST(ServerSslContexts, OneContextPerSnapshot) {
  ServerSslContexts cache;
  auto first = std::make_shared<const CertificatePair>(generate_ephemeral_certificate());
  auto c1 = cache.get(first);
  EXPECT_EQ(cache.get(first), c1);
  auto second = std::make_shared<const CertificatePair>(generate_ephemeral_certificate());
  auto c2 = cache.get(second);
  EXPECT_NE(c2, c1);
  // New connections with the new context present the new certificate.
  auto r = handshake(c2, {.alpn_wire = kH2AndHttp11});
  ASSERT_TRUE(r.client_ok);
  EXPECT_EQ(r.server_der, second->leaf_der);
  EXPECT_THROW(cache.get(nullptr), TlsError);
}

}  // namespace
}  // namespace wasimoff::tls
