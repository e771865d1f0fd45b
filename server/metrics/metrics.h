// Metrics: the service's Prometheus metrics, rendered at GET /metrics.
// Built on prometheus-cpp's core (registry, families, text format); labels
// are closed sets (RPC names, status codes, error reasons, key ids, key
// states) and never carry a token, hash or subject.
//
// Usage:
//   Metrics metrics;
//   metrics.RecordCall(Rpc::kVerifyAccess, status, latency);
//   metrics.SetScrapeHook([&](Metrics& m) { m.SetPool(...); });
//   std::string text = metrics.Render();
#ifndef TOKEN_SERVER_METRICS_METRICS_H_
#define TOKEN_SERVER_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace token {

enum class Rpc {
  kIssueTokens,
  kRefreshTokens,
  kVerifyAccess,
  kRevokeAll,
  kRevokeSession,
  kListSessions,
  kUpdateSession,
};
inline constexpr int kRpcCount = 7;

// RpcName returns the method name, e.g. "IssueTokens".
absl::string_view RpcName(Rpc rpc);

struct PoolSample {
  int size = 0;
  int in_use = 0;
  int connected = 0;
  int64_t waits = 0;
};

struct KeySample {
  std::string kid;    // Public key id (RFC 7638 thumbprint): not a secret.
  std::string state;  // "next", "active", "retiring".
  absl::Duration age;
};

class Metrics {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // RecordCall counts one finished RPC by status code and error reason, and
  // observes its latency.
  void RecordCall(Rpc rpc, const absl::Status& status, absl::Duration latency);

  // RecordSessionsRevoked counts revoked sessions by cause: "revoke_all",
  // "revoke_session" or "reuse_detected".
  void RecordSessionsRevoked(absl::string_view cause, int64_t sessions);

  // RecordRevocationFeedLag observes the time from a revocation's commit to
  // its arrival through the feed on this replica.
  void RecordRevocationFeedLag(absl::Duration lag);

  // Point-in-time values, set by the scrape hook.
  void SetReady(bool ready);
  void SetPool(const PoolSample& pool);
  void SetWorkerQueue(int queued);
  void SetRevocations(size_t entries, bool in_sync);
  void SetKeys(const std::vector<KeySample>& keys);

  // SetScrapeHook runs `hook` at the start of every Render, to refresh gauges.
  void SetScrapeHook(std::function<void(Metrics&)> hook);

  // Render returns the Prometheus text exposition (format 0.0.4).
  std::string Render();

 private:
  prometheus::Counter& CallCounter(Rpc rpc, const absl::Status& status);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& revoked_;
  prometheus::Histogram& feed_lag_;
  prometheus::Gauge& ready_;
  prometheus::Gauge& pool_size_;
  prometheus::Gauge& pool_in_use_;
  prometheus::Gauge& pool_connected_;
  prometheus::Gauge& pool_waits_;
  prometheus::Gauge& worker_queue_;
  prometheus::Gauge& revocation_entries_;
  prometheus::Gauge& revocation_in_sync_;
  prometheus::Family<prometheus::Gauge>& key_age_;

  std::array<prometheus::Histogram*, kRpcCount> latency_by_rpc_{};
  // Counters by (rpc, reason index); index 0 is OK. Created on first use.
  static constexpr int kReasonSlots = 64;
  std::array<std::array<std::atomic<prometheus::Counter*>, kReasonSlots>, kRpcCount>
      call_counters_{};

  absl::Mutex mu_;
  std::function<void(Metrics&)> scrape_hook_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Gauge*> key_gauges_ ABSL_GUARDED_BY(mu_);
};

}  // namespace token

#endif  // TOKEN_SERVER_METRICS_METRICS_H_
