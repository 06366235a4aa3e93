#include "net/tls/certificate_store.h"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <ctime>
#include <map>
#include <mutex>
#include <stdexcept>

namespace wasimoff::tls {

namespace {

std::string utc(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void check_both_or_neither(const std::string& cert, const std::string& key, const char* what) {
  if (cert.empty() != key.empty())
    throw std::invalid_argument(std::string(what) +
                                ": certificate and key files must be given together");
}

constexpr std::chrono::minutes kRetryAfterFailure{1};

}  // namespace

struct CertificateStore::Shared : std::enable_shared_from_this<Shared> {
  std::vector<std::string> extra_hosts;

  mutable std::mutex mutex;  // guards quic, http, subscribers, next_id
  Snapshot quic;
  Snapshot http;
  std::map<SubscriptionId, std::shared_ptr<const std::function<void()>>> subscribers;
  SubscriptionId next_id = 1;

  // Rotation state; touched only on the rotation executor's thread.
  std::unique_ptr<boost::asio::steady_timer> timer;
  std::chrono::steady_clock::duration interval{};
  std::uint64_t schedule_generation = 0;

  void notify() {
    std::vector<std::shared_ptr<const std::function<void()>>> callbacks;
    {
      std::lock_guard lock(mutex);
      for (const auto& [id, fn] : subscribers) callbacks.push_back(fn);
    }
    for (const auto& fn : callbacks) {
      try {
        (*fn)();
      } catch (const std::exception& e) {
        spdlog::error("tls: certificate change subscriber failed: {}", e.what());
      }
    }
  }

  void install_ephemeral() {
    auto fresh =
        std::make_shared<const CertificatePair>(generate_ephemeral_certificate(extra_hosts));
    spdlog::info("tls: new ephemeral QUIC certificate, certhash {}, valid until {}",
                 fresh->certhash, utc(fresh->not_after));
    {
      std::lock_guard lock(mutex);
      quic = std::move(fresh);
    }
    notify();
  }

  void schedule(std::chrono::steady_clock::duration delay) {
    timer->expires_after(delay);
    timer->async_wait([weak = weak_from_this(),
                       generation = schedule_generation](const boost::system::error_code& ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self || generation != self->schedule_generation) return;
      auto next = self->interval;
      try {
        self->install_ephemeral();
      } catch (const std::exception& e) {
        next = std::min<std::chrono::steady_clock::duration>(next, kRetryAfterFailure);
        spdlog::error(
            "tls: cannot rotate the ephemeral certificate (keeping the current one, retrying in "
            "{} s): {}",
            std::chrono::duration_cast<std::chrono::seconds>(next).count(), e.what());
      }
      // A subscriber may have stopped the rotation.
      if (generation == self->schedule_generation && self->timer) self->schedule(next);
    });
  }
};

CertificateStore::CertificateStore(Options options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  check_both_or_neither(options_.quic_cert_file, options_.quic_key_file, "QUIC");
  check_both_or_neither(options_.http_cert_file, options_.http_key_file, "HTTP");
  shared_->extra_hosts = options_.extra_hosts;
  if (quic_from_files()) {
    shared_->quic = std::make_shared<const CertificatePair>(
        load_certificate_files(options_.quic_cert_file, options_.quic_key_file));
  } else {
    shared_->quic = std::make_shared<const CertificatePair>(
        generate_ephemeral_certificate(options_.extra_hosts));
  }
  if (http_from_files()) {
    shared_->http = std::make_shared<const CertificatePair>(
        load_certificate_files(options_.http_cert_file, options_.http_key_file));
  }
}

CertificateStore::~CertificateStore() {
  stop_rotation();
}

CertificateStore::Snapshot CertificateStore::quic() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->quic;
}

CertificateStore::Snapshot CertificateStore::http() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->http;
}

CertificateStore::Snapshot CertificateStore::http_or_quic() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->http ? shared_->http : shared_->quic;
}

bool CertificateStore::reload() {
  bool ok = true;
  bool changed = false;
  auto reload_one = [&](const std::string& cert, const std::string& key, Snapshot Shared::*slot,
                        const char* which) {
    try {
      auto fresh = std::make_shared<const CertificatePair>(load_certificate_files(cert, key));
      std::lock_guard lock(shared_->mutex);
      auto& current = (*shared_).*slot;
      if (current && current->cert_pem == fresh->cert_pem && current->key_pem == fresh->key_pem)
        return;
      current = std::move(fresh);
      changed = true;
      spdlog::info("tls: reloaded the {} certificate from {}, valid until {}", which, cert,
                   utc(current->not_after));
    } catch (const std::exception& e) {
      ok = false;
      spdlog::error("tls: cannot reload the {} certificate, keeping the current one: {}", which,
                    e.what());
    }
  };
  if (quic_from_files())
    reload_one(options_.quic_cert_file, options_.quic_key_file, &Shared::quic, "QUIC");
  if (http_from_files())
    reload_one(options_.http_cert_file, options_.http_key_file, &Shared::http, "HTTP");
  if (changed) shared_->notify();
  return ok;
}

bool CertificateStore::rotate() {
  if (quic_from_files()) return false;
  shared_->install_ephemeral();
  return true;
}

void CertificateStore::start_rotation(boost::asio::any_io_executor ex,
                                      std::chrono::steady_clock::duration interval) {
  if (interval <= std::chrono::steady_clock::duration::zero() || interval > kMaxRotationInterval)
    throw std::invalid_argument(
        "certificate rotation interval must be positive and at most 9 days");
  if (quic_from_files()) return;
  stop_rotation();
  shared_->timer = std::make_unique<boost::asio::steady_timer>(std::move(ex));
  shared_->interval = interval;
  shared_->schedule(interval);
}

void CertificateStore::stop_rotation() {
  ++shared_->schedule_generation;
  if (shared_->timer) shared_->timer->cancel();
  shared_->timer.reset();
}

CertificateStore::SubscriptionId CertificateStore::subscribe(std::function<void()> on_change) {
  std::lock_guard lock(shared_->mutex);
  auto id = shared_->next_id++;
  shared_->subscribers.emplace(id,
                               std::make_shared<const std::function<void()>>(std::move(on_change)));
  return id;
}

void CertificateStore::unsubscribe(SubscriptionId id) {
  std::lock_guard lock(shared_->mutex);
  shared_->subscribers.erase(id);
}

}  // namespace wasimoff::tls
