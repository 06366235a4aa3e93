#include "net/tls/certificate.h"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <set>

#include "common/strings.h"
#include "tls_test_support.h"

namespace wasimoff::tls {
namespace {

using testing::KeyFormat;
using testing::TempDir;

// The first certificate of a PEM text, parsed by GnuTLS (independent of the OpenSSL code under
// test).
class GnutlsCert {
 public:
  explicit GnutlsCert(const std::string& pem) {
    gnutls_x509_crt_init(&crt_);
    gnutls_datum_t d{reinterpret_cast<unsigned char*>(const_cast<char*>(pem.data())),
                     static_cast<unsigned>(pem.size())};
    if (gnutls_x509_crt_import(crt_, &d, GNUTLS_X509_FMT_PEM) < 0)
      throw std::runtime_error("GnuTLS cannot parse the certificate");
  }
  ~GnutlsCert() { gnutls_x509_crt_deinit(crt_); }
  gnutls_x509_crt_t get() const { return crt_; }

  std::string der() const {
    gnutls_datum_t out{};
    gnutls_x509_crt_export2(crt_, GNUTLS_X509_FMT_DER, &out);
    std::string s(reinterpret_cast<char*>(out.data), out.size);
    gnutls_free(out.data);
    return s;
  }
  std::string dn() const {
    gnutls_datum_t out{};
    gnutls_x509_crt_get_dn3(crt_, &out, 0);
    std::string s(reinterpret_cast<char*>(out.data), out.size);
    gnutls_free(out.data);
    return s;
  }
  // "DNS:localhost", "IP:127.0.0.1", ...
  std::vector<std::string> sans() const {
    std::vector<std::string> out;
    for (unsigned i = 0;; ++i) {
      char buf[256];
      size_t size = sizeof buf;
      int type = gnutls_x509_crt_get_subject_alt_name(crt_, i, buf, &size, nullptr);
      if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
      if (type == GNUTLS_SAN_DNSNAME) {
        out.push_back("DNS:" + std::string(buf, size));
      } else if (type == GNUTLS_SAN_IPADDRESS) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, text, sizeof text);
        out.push_back(std::string("IP:") + text);
      } else {
        out.push_back("other:" + std::to_string(type));
      }
    }
    return out;
  }
  std::string serial() const {
    unsigned char buf[64];
    size_t size = sizeof buf;
    gnutls_x509_crt_get_serial(crt_, buf, &size);
    return std::string(reinterpret_cast<char*>(buf), size);
  }

 private:
  gnutls_x509_crt_t crt_ = nullptr;
};

std::string sha256_hex_gnutls(const std::string& data) {
  unsigned char digest[32];
  gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data(), data.size(), digest);
  return hex_encode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

// GnuTLS (the QUIC stack's TLS library) accepts the pair as server credentials.
bool gnutls_accepts(const CertificatePair& p) {
  gnutls_certificate_credentials_t cred;
  gnutls_certificate_allocate_credentials(&cred);
  gnutls_datum_t c{reinterpret_cast<unsigned char*>(const_cast<char*>(p.cert_pem.data())),
                   static_cast<unsigned>(p.cert_pem.size())};
  gnutls_datum_t k{reinterpret_cast<unsigned char*>(const_cast<char*>(p.key_pem.data())),
                   static_cast<unsigned>(p.key_pem.size())};
  int rc = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, nullptr, 0);
  gnutls_certificate_free_credentials(cred);
  return rc >= 0;
}

int count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (auto p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST(EphemeralCertificate, KeyIsEcdsaP256) {
  auto pair = generate_ephemeral_certificate();
  GnutlsCert c(pair.cert_pem);
  unsigned bits = 0;
  EXPECT_EQ(gnutls_x509_crt_get_pk_algorithm(c.get(), &bits), GNUTLS_PK_ECDSA);
  gnutls_ecc_curve_t curve{};
  gnutls_datum_t x{}, y{};
  ASSERT_EQ(gnutls_x509_crt_get_pk_ecc_raw(c.get(), &curve, &x, &y), 0);
  gnutls_free(x.data);
  gnutls_free(y.data);
  EXPECT_EQ(curve, GNUTLS_ECC_CURVE_SECP256R1);
  EXPECT_EQ(pair.key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  EXPECT_TRUE(pair.ephemeral);
}

TEST(EphemeralCertificate, ValidityIsExactlyTenDaysFromAnHourAgo) {
  std::time_t before = std::time(nullptr);
  auto pair = generate_ephemeral_certificate();
  std::time_t after = std::time(nullptr);
  GnutlsCert c(pair.cert_pem);
  std::time_t nb = gnutls_x509_crt_get_activation_time(c.get());
  std::time_t na = gnutls_x509_crt_get_expiration_time(c.get());
  EXPECT_EQ(na - nb, 10 * 86400);
  EXPECT_GE(nb, before - 3600);
  EXPECT_LE(nb, after - 3600);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(pair.not_before), nb);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(pair.not_after), na);
}

TEST(EphemeralCertificate, SerialIsRandomPositive128Bit) {
  std::set<std::string> serials;
  for (int i = 0; i < 5; ++i) {
    auto pair = generate_ephemeral_certificate();
    auto s = GnutlsCert(pair.cert_pem).serial();
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(static_cast<unsigned char>(s[0]) & 0x80, 0) << "DER INTEGER must be positive";
    // Strip the sign octet: 128 bits of magnitude, top bit set.
    while (s.size() > 1 && s[0] == 0) s.erase(0, 1);
    EXPECT_EQ(s.size(), 16u);
    EXPECT_NE(static_cast<unsigned char>(s[0]) & 0x80, 0);
    serials.insert(s);
  }
  EXPECT_EQ(serials.size(), 5u);
}

TEST(EphemeralCertificate, SubjectIssuerAndExtensions) {
  auto pair = generate_ephemeral_certificate();
  GnutlsCert c(pair.cert_pem);
  EXPECT_EQ(c.dn(), "CN=wasimoff webtransport,O=wasimoff");
  EXPECT_EQ(gnutls_x509_crt_get_version(c.get()), 3);

  unsigned usage = 0, critical = 0;
  ASSERT_GE(gnutls_x509_crt_get_key_usage(c.get(), &usage, &critical), 0);
  EXPECT_EQ(usage, static_cast<unsigned>(GNUTLS_KEY_DIGITAL_SIGNATURE));

  char oid[128];
  size_t size = sizeof oid;
  ASSERT_GE(gnutls_x509_crt_get_key_purpose_oid(c.get(), 0, oid, &size, nullptr), 0);
  EXPECT_STREQ(oid, GNUTLS_KP_TLS_WWW_SERVER);
  size = sizeof oid;
  EXPECT_EQ(gnutls_x509_crt_get_key_purpose_oid(c.get(), 1, oid, &size, nullptr),
            GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);

  unsigned ca = 1;
  int pathlen = 0;
  ASSERT_GE(gnutls_x509_crt_get_basic_constraints(c.get(), &critical, &ca, &pathlen), 0);
  EXPECT_EQ(ca, 0u);

  // Self-signed with a valid signature.
  unsigned status = 0;
  gnutls_x509_crt_t self = c.get();
  ASSERT_EQ(gnutls_x509_crt_verify(self, &self, 1, GNUTLS_VERIFY_DISABLE_CA_SIGN, &status), 0);
  EXPECT_EQ(status & GNUTLS_CERT_SIGNATURE_FAILURE, 0u);
}

TEST(EphemeralCertificate, SubjectAltNamesIncludeExtraHostsOnce) {
  auto pair = generate_ephemeral_certificate({"broker.example.org", "192.0.2.7", "[2001:db8::1]",
                                              "LOCALHOST", "127.0.0.1", "2001:db8:0::1"});
  EXPECT_EQ(GnutlsCert(pair.cert_pem).sans(),
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1",
                                      "DNS:broker.example.org", "IP:192.0.2.7", "IP:2001:db8::1"}));
  auto plain = generate_ephemeral_certificate();
  EXPECT_EQ(GnutlsCert(plain.cert_pem).sans(),
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1"}));
}

TEST(EphemeralCertificate, RejectsHostsThatAreNotNames) {
  for (auto bad : {"bad host", "", "a..b", "exa$mple.org", "[::1", ".example.org"})
    EXPECT_THROW(generate_ephemeral_certificate({bad}), TlsError) << bad;
  try {
    generate_ephemeral_certificate({"bad host"});
  } catch (const TlsError& e) {
    EXPECT_STREQ(e.what(),
                 "cannot put \"bad host\" into the certificate: not a DNS name or IP address");
  }
}

TEST(EphemeralCertificate, CerthashIsSha256OfTheDerLeaf) {
  auto pair = generate_ephemeral_certificate();
  GnutlsCert c(pair.cert_pem);
  EXPECT_EQ(c.der(), pair.leaf_der);
  EXPECT_EQ(pair.certhash, sha256_hex_gnutls(pair.leaf_der));
  EXPECT_EQ(pair.certhash.size(), 64u);
  EXPECT_EQ(pair.certhash, to_lower(pair.certhash));

  // The same as the command in docs/webtransport.md §4.
  TempDir dir;
  dir.write("cert.pem", pair.cert_pem);
  testing::run(dir, "openssl x509 -in cert.pem -outform der | openssl dgst -sha256 -hex > hash");
  EXPECT_NE(dir.read("hash").find(pair.certhash), std::string::npos) << dir.read("hash");
}

TEST(EphemeralCertificate, FreshKeyPerCertificateAndUsableByGnutls) {
  auto a = generate_ephemeral_certificate();
  auto b = generate_ephemeral_certificate();
  EXPECT_NE(a.key_pem, b.key_pem);
  EXPECT_NE(a.certhash, b.certhash);
  EXPECT_TRUE(gnutls_accepts(a));
  EXPECT_EQ(count(a.cert_pem, "-----BEGIN CERTIFICATE-----"), 1);
}

class LoadCertificate : public ::testing::TestWithParam<KeyFormat> {};

TEST_P(LoadCertificate, AcceptsEveryKeyFormat) {
  TempDir dir;
  testing::make_self_signed(dir, "s", GetParam());
  auto pair = load_certificate_files(dir.file("s.crt"), dir.file("s.key"));
  EXPECT_FALSE(pair.ephemeral);
  EXPECT_EQ(pair.key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);  // normalized to PKCS#8
  EXPECT_EQ(count(pair.cert_pem, "-----BEGIN CERTIFICATE-----"), 1);
  EXPECT_EQ(pair.leaf_der, GnutlsCert(pair.cert_pem).der());
  EXPECT_EQ(pair.certhash, sha256_hex_gnutls(pair.leaf_der));
  EXPECT_EQ(pair.not_after - pair.not_before, std::chrono::hours(24 * 30));
  EXPECT_TRUE(gnutls_accepts(pair));
}

INSTANTIATE_TEST_SUITE_P(KeyFormats, LoadCertificate,
                         ::testing::Values(KeyFormat::ec_sec1, KeyFormat::ec_pkcs8,
                                           KeyFormat::rsa_pkcs1, KeyFormat::rsa_pkcs8),
                         [](const auto& info) {
                           switch (info.param) {
                             case KeyFormat::ec_sec1:
                               return "EcSec1";
                             case KeyFormat::ec_pkcs8:
                               return "EcPkcs8";
                             case KeyFormat::rsa_pkcs1:
                               return "RsaPkcs1";
                             case KeyFormat::rsa_pkcs8:
                               return "RsaPkcs8";
                           }
                           return "unknown";
                         });

TEST(LoadCertificateFiles, ChainKeepsLeafFirstAndHashesTheLeaf) {
  TempDir dir;
  testing::make_self_signed(dir, "ca", KeyFormat::ec_pkcs8, "test-ca");
  testing::run(dir, "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key");
  testing::run(dir, "openssl req -new -key leaf.key -subj /CN=leaf.example -out leaf.csr");
  testing::run(dir,
               "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 5 "
               "-out leaf.crt");
  // Text and a foreign PEM block around the certificates are skipped.
  dir.write("chain.pem",
            "subject=leaf\n" + dir.read("leaf.crt") + dir.read("leaf.key") + dir.read("ca.crt"));
  auto pair = load_certificate_files(dir.file("chain.pem"), dir.file("leaf.key"));
  EXPECT_EQ(count(pair.cert_pem, "-----BEGIN CERTIFICATE-----"), 2);
  EXPECT_EQ(pair.cert_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(GnutlsCert(pair.cert_pem).dn(), "CN=leaf.example");
  EXPECT_EQ(pair.certhash, sha256_hex_gnutls(GnutlsCert(dir.read("leaf.crt")).der()));
  EXPECT_TRUE(gnutls_accepts(pair));
}

TlsError load_error(const std::string& cert, const std::string& key) {
  try {
    load_certificate_files(cert, key);
  } catch (const TlsError& e) {
    return e;
  }
  throw std::runtime_error("expected a TlsError");
}

TEST(LoadCertificateFiles, MismatchedKeyIsRejected) {
  TempDir dir;
  testing::make_self_signed(dir, "a", KeyFormat::ec_sec1);
  testing::make_self_signed(dir, "b", KeyFormat::ec_sec1);
  testing::make_self_signed(dir, "r", KeyFormat::rsa_pkcs1);
  auto e = load_error(dir.file("a.crt"), dir.file("b.key"));
  EXPECT_EQ(e.part(), TlsError::Part::key);
  EXPECT_EQ(std::string(e.what()), "private key file " + dir.file("b.key") +
                                       " does not match certificate file " + dir.file("a.crt"));
  EXPECT_EQ(load_error(dir.file("a.crt"), dir.file("r.key")).part(), TlsError::Part::key);
  EXPECT_EQ(load_error(dir.file("r.crt"), dir.file("a.key")).part(), TlsError::Part::key);
}

TEST(LoadCertificateFiles, NonPemInputIsRejected) {
  TempDir dir;
  testing::make_self_signed(dir, "a", KeyFormat::ec_sec1);
  testing::run(dir, "openssl x509 -in a.crt -outform der -out a.der");
  testing::run(dir, "openssl pkey -in a.key -outform der -out a.keyder");
  auto text = dir.write("text.pem", "hello\n");

  auto e = load_error(dir.file("a.der"), dir.file("a.key"));
  EXPECT_EQ(e.part(), TlsError::Part::certificate);
  EXPECT_EQ(std::string(e.what()),
            "certificate file " + dir.file("a.der") +
                " is not a PEM certificate (no valid \"-----BEGIN CERTIFICATE-----\" block)");
  EXPECT_EQ(load_error(text, dir.file("a.key")).part(), TlsError::Part::certificate);
  // A key where the certificate should be.
  EXPECT_EQ(load_error(dir.file("a.key"), dir.file("a.key")).part(), TlsError::Part::certificate);

  e = load_error(dir.file("a.crt"), dir.file("a.keyder"));
  EXPECT_EQ(e.part(), TlsError::Part::key);
  EXPECT_EQ(std::string(e.what()),
            "private key file " + dir.file("a.keyder") +
                " is not a PEM private key (expected \"PRIVATE KEY\" (PKCS#8), \"EC PRIVATE KEY\" "
                "(SEC1) or \"RSA PRIVATE KEY\" (PKCS#1))");
  EXPECT_EQ(load_error(dir.file("a.crt"), dir.file("a.crt")).part(), TlsError::Part::key);
}

TEST(LoadCertificateFiles, BrokenBlockAfterTheLeafIsReported) {
  TempDir dir;
  testing::make_self_signed(dir, "a", KeyFormat::ec_sec1);
  dir.write("broken.pem",
            dir.read("a.crt") +
                "-----BEGIN CERTIFICATE-----\nnot base64 !!!\n-----END CERTIFICATE-----\n");
  auto e = load_error(dir.file("broken.pem"), dir.file("a.key"));
  EXPECT_EQ(e.part(), TlsError::Part::certificate);
  EXPECT_NE(std::string(e.what()).find("contains a malformed PEM certificate block"),
            std::string::npos)
      << e.what();
}

TEST(LoadCertificateFiles, EncryptedKeyIsRejectedWithoutPrompting) {
  TempDir dir;
  testing::make_self_signed(dir, "a", KeyFormat::ec_pkcs8);
  testing::run(dir, "openssl pkey -in a.key -aes256 -passout pass:secret -out enc.key");
  auto e = load_error(dir.file("a.crt"), dir.file("enc.key"));
  EXPECT_EQ(e.part(), TlsError::Part::key);
  EXPECT_EQ(std::string(e.what()),
            "private key file " + dir.file("enc.key") +
                " is encrypted; decrypt it first (openssl pkey -in <file> -out <plain file>)");
}

TEST(LoadCertificateFiles, UnreadableFilesAreRejected) {
  TempDir dir;
  testing::make_self_signed(dir, "a", KeyFormat::ec_sec1);
  auto missing = dir.file("missing.pem");
  auto e = load_error(missing, dir.file("a.key"));
  EXPECT_EQ(e.part(), TlsError::Part::certificate);
  EXPECT_EQ(std::string(e.what()),
            "cannot read certificate file " + missing + ": No such file or directory");
  e = load_error(dir.file("a.crt"), missing);
  EXPECT_EQ(e.part(), TlsError::Part::key);
  EXPECT_EQ(std::string(e.what()),
            "cannot read private key file " + missing + ": No such file or directory");
  e = load_error(dir.path().string(), dir.file("a.key"));
  EXPECT_EQ(std::string(e.what()),
            "cannot read certificate file " + dir.path().string() + ": is a directory");
  auto big = dir.write("big.pem", std::string((1 << 20) + 1, 'x'));
  e = load_error(big, dir.file("a.key"));
  EXPECT_EQ(std::string(e.what()),
            "certificate file " + big + " is larger than 1 MiB; expected a PEM file");
}

TEST(LoadCertificatePem, SameChecksInMemory) {
  auto a = generate_ephemeral_certificate();
  auto b = generate_ephemeral_certificate();
  auto again = load_certificate_pem(a.cert_pem, a.key_pem);
  EXPECT_EQ(again.certhash, a.certhash);
  EXPECT_EQ(again.key_pem, a.key_pem);
  EXPECT_FALSE(again.ephemeral);
  try {
    load_certificate_pem(a.cert_pem, b.key_pem);
    FAIL() << "expected TlsError";
  } catch (const TlsError& e) {
    EXPECT_STREQ(e.what(), "the private key does not match the certificate");
  }
}

}  // namespace
}  // namespace wasimoff::tls
