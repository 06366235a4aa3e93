// The Broker's current TLS certificates (docs/configuration.md §5.1): the QUIC pair (ephemeral or
// loaded from files) and an optional separate pair for the TCP listener.
//
// Readers take immutable snapshots (`quic()`, `http()`) per new handshake, so a rotation or
// reload only affects handshakes that start afterwards; established connections keep the pair
// they were created with. Snapshots are safe to take from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/tls/certificate.h"

namespace wasimoff::tls {

class CertificateStore {
 public:
  struct Options {
    // Both empty → ephemeral certificate (rotatable); both set → loaded from files (reloadable).
    std::string quic_cert_file;
    std::string quic_key_file;
    // Both empty → no separate TCP pair (http() is null); both set → loaded from files.
    std::string http_cert_file;
    std::string http_key_file;
    // Extra subjectAltNames of the ephemeral certificate: the host of WASIMOFF_TRANSPORT_URL.
    std::vector<std::string> extra_hosts;
  };

  using Snapshot = std::shared_ptr<const CertificatePair>;
  using SubscriptionId = std::uint64_t;

  static constexpr std::chrono::hours kDefaultRotationInterval{24};
  // The ephemeral certificate is valid for 10 days from one hour before its creation; rotating
  // later than this would let it expire while still in use.
  static constexpr std::chrono::hours kMaxRotationInterval{9 * 24};

  // Loads or generates the pairs. Throws TlsError (unreadable / non-PEM / mismatched files) or
  // std::invalid_argument when exactly one of a cert/key pair of paths is given.
  explicit CertificateStore(Options options);
  // Stops a running rotation (see start_rotation() for the thread requirement).
  ~CertificateStore();
  CertificateStore(const CertificateStore&) = delete;
  CertificateStore& operator=(const CertificateStore&) = delete;

  // Current pairs. quic() is never null; http() is null without WASIMOFF_HTTP_CERT/_KEY.
  Snapshot quic() const;
  Snapshot http() const;
  // The pair for the TCP listener when it serves TLS: the separate pair if there is one, else
  // the QUIC pair (WASIMOFF_HTTPS=true).
  Snapshot http_or_quic() const;

  bool quic_from_files() const { return !options_.quic_cert_file.empty(); }
  bool http_from_files() const { return !options_.http_cert_file.empty(); }

  // SIGHUP: re-reads every pair that comes from files. A pair that fails to load is kept, the
  // reason is logged as an error, and the result is false. Subscribers are notified when at
  // least one pair changed. Blocking (file I/O); thread-safe.
  bool reload();

  // Replaces the ephemeral QUIC certificate with a fresh one now and notifies subscribers.
  // Returns false (and does nothing) when the QUIC pair comes from files. Thread-safe.
  bool rotate();

  // Calls rotate() every `interval` on `ex` (default 24 h) until stop_rotation() or destruction;
  // a generation failure is logged and retried after a minute. Does nothing when the QUIC pair
  // comes from files. Calling it again restarts the schedule. Throws std::invalid_argument for
  // an interval that is not positive or longer than kMaxRotationInterval.
  // start_rotation(), stop_rotation() and the destructor must run on `ex`'s thread (or while
  // its io_context is not running), as for any Asio timer.
  void start_rotation(boost::asio::any_io_executor ex,
                      std::chrono::steady_clock::duration interval = kDefaultRotationInterval);
  void stop_rotation();

  // `on_change` runs after every change of a pair (rotation or successful reload), on the
  // thread that made the change, without internal locks held (it may call quic()/http()).
  SubscriptionId subscribe(std::function<void()> on_change);
  void unsubscribe(SubscriptionId id);

 private:
  struct Shared;
  Options options_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace wasimoff::tls
