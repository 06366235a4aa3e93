#include "net/tls/certificate_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <thread>

#include "tls_test_support.h"

namespace wasimoff::tls {
namespace {

using namespace std::chrono_literals;
using testing::KeyFormat;
using testing::TempDir;

// A store whose QUIC (and optionally HTTP) pair comes from files in a temp dir that the test
// can replace.
struct FileBacked {
  TempDir dir;
  FileBacked() {
    testing::make_self_signed(dir, "quic", KeyFormat::ec_sec1);
    testing::make_self_signed(dir, "http", KeyFormat::ec_pkcs8);
  }
  CertificateStore::Options options(bool with_http) const {
    CertificateStore::Options o;
    o.quic_cert_file = dir.file("quic.crt");
    o.quic_key_file = dir.file("quic.key");
    if (with_http) {
      o.http_cert_file = dir.file("http.crt");
      o.http_key_file = dir.file("http.key");
    }
    return o;
  }
  // Replaces <name>.crt/.key with a fresh pair.
  void replace(const std::string& name) {
    testing::make_self_signed(dir, "next", KeyFormat::ec_sec1);
    std::filesystem::rename(dir.file("next.crt"), dir.file(name + ".crt"));
    std::filesystem::rename(dir.file("next.key"), dir.file(name + ".key"));
  }
};

TEST(CertificateStore, EphemeralByDefault) {
  CertificateStore store({.extra_hosts = {"broker.example.org"}});
  auto quic = store.quic();
  ASSERT_TRUE(quic);
  EXPECT_TRUE(quic->ephemeral);
  EXPECT_NE(quic->cert_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_FALSE(store.quic_from_files());
  EXPECT_EQ(store.http(), nullptr);
  EXPECT_EQ(store.http_or_quic(), quic);
  // The transport host is a subjectAltName (a DNS name is stored verbatim in the DER).
  EXPECT_NE(quic->leaf_der.find("broker.example.org"), std::string::npos);
  EXPECT_EQ(CertificateStore({}).quic()->leaf_der.find("broker.example.org"), std::string::npos);
}

TEST(CertificateStore, LoadsPairsFromFiles) {
  FileBacked f;
  CertificateStore store(f.options(/*with_http=*/true));
  EXPECT_TRUE(store.quic_from_files());
  EXPECT_TRUE(store.http_from_files());
  EXPECT_FALSE(store.quic()->ephemeral);
  ASSERT_TRUE(store.http());
  EXPECT_NE(store.http()->certhash, store.quic()->certhash);
  EXPECT_EQ(store.http_or_quic(), store.http());
  EXPECT_EQ(store.quic()->certhash,
            load_certificate_files(f.dir.file("quic.crt"), f.dir.file("quic.key")).certhash);
  EXPECT_FALSE(store.rotate());  // loaded pairs are never replaced by ephemeral ones
}

TEST(CertificateStore, ConstructionFailsForBadOptions) {
  FileBacked f;
  auto only_cert = f.options(false);
  only_cert.quic_key_file.clear();
  EXPECT_THROW(CertificateStore{only_cert}, std::invalid_argument);
  auto only_http_key = f.options(true);
  only_http_key.http_cert_file.clear();
  EXPECT_THROW(CertificateStore{only_http_key}, std::invalid_argument);
  auto mismatched = f.options(false);
  mismatched.quic_key_file = f.dir.file("http.key");
  EXPECT_THROW(CertificateStore{mismatched}, TlsError);
}

TEST(CertificateStore, ReloadPicksUpNewFilesAndNotifies) {
  FileBacked f;
  CertificateStore store(f.options(/*with_http=*/true));
  auto old_quic = store.quic();
  auto old_http = store.http();
  int notified = 0;
  store.subscribe([&] { ++notified; });

  // Unchanged files: success, nothing changed, nobody notified.
  EXPECT_TRUE(store.reload());
  EXPECT_EQ(store.quic(), old_quic);
  EXPECT_EQ(notified, 0);

  f.replace("quic");
  EXPECT_TRUE(store.reload());
  EXPECT_EQ(notified, 1);
  EXPECT_NE(store.quic()->certhash, old_quic->certhash);
  EXPECT_EQ(store.quic()->certhash,
            load_certificate_files(f.dir.file("quic.crt"), f.dir.file("quic.key")).certhash);
  EXPECT_EQ(store.http(), old_http);  // untouched pair keeps its snapshot
  // Holders of the old snapshot (established connections) still have a complete pair.
  EXPECT_FALSE(old_quic->cert_pem.empty());
  EXPECT_FALSE(old_quic->key_pem.empty());

  f.replace("http");
  EXPECT_TRUE(store.reload());
  EXPECT_EQ(notified, 2);
  EXPECT_NE(store.http()->certhash, old_http->certhash);
}

TEST(CertificateStore, FailedReloadKeepsTheOldPair) {
  FileBacked f;
  CertificateStore store(f.options(/*with_http=*/true));
  auto quic = store.quic();
  auto http = store.http();
  int notified = 0;
  store.subscribe([&] { ++notified; });

  f.dir.write("quic.crt", "garbage\n");  // not PEM
  EXPECT_FALSE(store.reload());
  EXPECT_EQ(store.quic(), quic);
  EXPECT_EQ(store.http(), http);
  EXPECT_EQ(notified, 0);

  // Only the key replaced: it no longer matches the certificate.
  f.replace("quic");
  testing::make_self_signed(f.dir, "other", KeyFormat::ec_sec1);
  std::filesystem::rename(f.dir.file("other.key"), f.dir.file("quic.key"));
  EXPECT_FALSE(store.reload());
  EXPECT_EQ(store.quic(), quic);

  // Files gone.
  std::filesystem::remove(f.dir.file("quic.crt"));
  EXPECT_FALSE(store.reload());
  EXPECT_EQ(store.quic(), quic);

  // A failure of one pair does not block the other.
  f.replace("http");
  EXPECT_FALSE(store.reload());
  EXPECT_EQ(store.quic(), quic);
  EXPECT_NE(store.http(), http);
  EXPECT_EQ(notified, 1);
}

TEST(CertificateStore, RotateReplacesTheEphemeralCertificate) {
  CertificateStore store({});
  auto before = store.quic();
  std::vector<std::string> seen;
  auto id = store.subscribe([&] { seen.push_back(store.quic()->certhash); });
  EXPECT_TRUE(store.rotate());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0], before->certhash);
  EXPECT_EQ(seen[0], store.quic()->certhash);
  EXPECT_TRUE(store.quic()->ephemeral);
  store.unsubscribe(id);
  EXPECT_TRUE(store.rotate());
  EXPECT_EQ(seen.size(), 1u);
}

TEST(CertificateStore, TimedRotationChangesCerthashAndNotifies) {
  boost::asio::io_context io;
  CertificateStore store({.extra_hosts = {"example.org"}});
  std::vector<std::string> hashes{store.quic()->certhash};
  store.subscribe([&] {
    hashes.push_back(store.quic()->certhash);
    if (hashes.size() == 4) store.stop_rotation();  // the last timer is cancelled: run() returns
  });
  store.start_rotation(io.get_executor(), 20ms);
  io.run();  // returns only when no rotation is pending
  ASSERT_EQ(hashes.size(), 4u);
  for (std::size_t i = 1; i < hashes.size(); ++i) EXPECT_NE(hashes[i], hashes[i - 1]);
  EXPECT_EQ(hashes.back(), store.quic()->certhash);
}

TEST(CertificateStore, RotationIsANoOpForLoadedCertificates) {
  FileBacked f;
  boost::asio::io_context io;
  CertificateStore store(f.options(false));
  auto before = store.quic();
  store.start_rotation(io.get_executor(), 1ms);
  EXPECT_EQ(io.run(), 0u);  // nothing was scheduled
  EXPECT_EQ(store.quic(), before);
}

TEST(CertificateStore, DestructionStopsTheRotation) {
  boost::asio::io_context io;
  {
    CertificateStore store({});
    store.start_rotation(io.get_executor());  // 24 h
  }
  io.run();  // would block for a day if the timer were still pending
  SUCCEED();
}

TEST(CertificateStore, RejectsUselessRotationIntervals) {
  boost::asio::io_context io;
  CertificateStore store({});
  EXPECT_THROW(store.start_rotation(io.get_executor(), 0s), std::invalid_argument);
  EXPECT_THROW(store.start_rotation(io.get_executor(), -1s), std::invalid_argument);
  EXPECT_THROW(store.start_rotation(io.get_executor(), std::chrono::hours(24 * 10)),
               std::invalid_argument);
  EXPECT_NO_THROW(store.start_rotation(io.get_executor(), CertificateStore::kMaxRotationInterval));
  store.stop_rotation();
}

TEST(CertificateStore, SnapshotsAreSafeWhileRotating) {
  CertificateStore store({});
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i)
    readers.emplace_back([&] {
      while (!done) {
        auto s = store.quic();
        if (!s || s->certhash.size() != 64 || s->cert_pem.empty()) ++bad;
      }
    });
  for (int i = 0; i < 20; ++i) store.rotate();
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad, 0);
}

TEST(CertificateStore, SubscriberMayReadTheStore) {
  CertificateStore store({});
  std::shared_ptr<const CertificatePair> from_callback;
  store.subscribe([&] { from_callback = store.quic(); });  // would deadlock under the lock
  store.rotate();
  EXPECT_EQ(from_callback, store.quic());
}

}  // namespace
}  // namespace wasimoff::tls
