#include "server/metrics/metrics.h"

#include <utility>

#include "prometheus/text_serializer.h"
#include "server/common/error_reason.h"

namespace token {
namespace {

// From 0.25 ms (a cached verification) to 10 s (a call stuck on the database).
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const prometheus::Histogram::BucketBoundaries kFeedLagBuckets = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

constexpr int kNoReasonSlot = 63;

int ReasonSlot(const absl::Status& status) {
  if (status.ok()) return 0;
  std::optional<ErrorReason> reason = ReasonOf(status);
  if (!reason.has_value()) return kNoReasonSlot;
  return static_cast<int>(*reason) + 1;
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

}  // namespace

absl::string_view RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kIssueTokens:
      return "IssueTokens";
    case Rpc::kRefreshTokens:
      return "RefreshTokens";
    case Rpc::kVerifyAccess:
      return "VerifyAccess";
    case Rpc::kRevokeAll:
      return "RevokeAll";
    case Rpc::kRevokeSession:
      return "RevokeSession";
    case Rpc::kListSessions:
      return "ListSessions";
    case Rpc::kUpdateSession:
      return "UpdateSession";
  }
  return "Unknown";
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      calls_(prometheus::BuildCounter()
                 .Name("token_rpc_calls_total")
                 .Help("Finished RPCs by method, status code and error reason")
                 .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("token_rpc_duration_seconds")
                   .Help("RPC latency inside the server, by method")
                   .Register(*registry_)),
      revoked_(prometheus::BuildCounter()
                   .Name("token_sessions_revoked_total")
                   .Help("Sessions revoked by this replica, by cause")
                   .Register(*registry_)),
      feed_lag_(prometheus::BuildHistogram()
                    .Name("token_revocation_feed_lag_seconds")
                    .Help("Time from a revocation's commit to its arrival on this replica")
                    .Register(*registry_)
                    .Add({}, kFeedLagBuckets)),
      ready_(prometheus::BuildGauge()
                 .Name("token_ready")
                 .Help("1 when this replica is ready to serve")
                 .Register(*registry_)
                 .Add({})),
      pool_size_(prometheus::BuildGauge()
                     .Name("token_db_pool_size")
                     .Help("Database connections configured")
                     .Register(*registry_)
                     .Add({})),
      pool_in_use_(prometheus::BuildGauge()
                       .Name("token_db_pool_in_use")
                       .Help("Database connections lent out")
                       .Register(*registry_)
                       .Add({})),
      pool_connected_(prometheus::BuildGauge()
                          .Name("token_db_pool_connected")
                          .Help("Database connections open")
                          .Register(*registry_)
                          .Add({})),
      pool_waits_(prometheus::BuildGauge()
                      .Name("token_db_pool_waits")
                      .Help("Calls so far that waited for a database connection")
                      .Register(*registry_)
                      .Add({})),
      worker_queue_(prometheus::BuildGauge()
                        .Name("token_worker_queue")
                        .Help("Calls waiting for a worker thread")
                        .Register(*registry_)
                        .Add({})),
      revocation_entries_(prometheus::BuildGauge()
                              .Name("token_revocation_entries")
                              .Help("Revocations held in memory")
                              .Register(*registry_)
                              .Add({})),
      revocation_in_sync_(prometheus::BuildGauge()
                              .Name("token_revocation_feed_in_sync")
                              .Help("1 while the revocation feed is in sync")
                              .Register(*registry_)
                              .Add({})),
      key_age_(prometheus::BuildGauge()
                   .Name("token_signing_key_age_seconds")
                   .Help("Age of each published signing key, by key id and state")
                   .Register(*registry_)) {
  for (int i = 0; i < kRpcCount; ++i) {
    latency_by_rpc_[i] =
        &latency_.Add({{"rpc", std::string(RpcName(static_cast<Rpc>(i)))}}, kLatencyBuckets);
  }
}

prometheus::Counter& Metrics::CallCounter(Rpc rpc, const absl::Status& status) {
  const int slot = ReasonSlot(status);
  std::atomic<prometheus::Counter*>& cell = call_counters_[static_cast<int>(rpc)][slot];
  if (prometheus::Counter* counter = cell.load(std::memory_order_acquire); counter != nullptr) {
    return *counter;
  }
  std::optional<ErrorReason> reason = ReasonOf(status);
  // Family::Add returns the existing series for equal labels, so a race here
  // is harmless.
  prometheus::Counter& counter =
      calls_.Add({{"rpc", std::string(RpcName(rpc))},
                  {"code", absl::StatusCodeToString(status.code())},
                  {"reason", reason.has_value() ? std::string(ErrorReasonName(*reason)) : ""}});
  cell.store(&counter, std::memory_order_release);
  return counter;
}

void Metrics::RecordCall(Rpc rpc, const absl::Status& status, absl::Duration latency) {
  CallCounter(rpc, status).Increment();
  latency_by_rpc_[static_cast<int>(rpc)]->Observe(Seconds(latency));
}

void Metrics::RecordSessionsRevoked(absl::string_view cause, int64_t sessions) {
  if (sessions <= 0) return;
  revoked_.Add({{"cause", std::string(cause)}}).Increment(static_cast<double>(sessions));
}

void Metrics::RecordRevocationFeedLag(absl::Duration lag) {
  feed_lag_.Observe(Seconds(std::max(lag, absl::ZeroDuration())));
}

void Metrics::SetReady(bool ready) { ready_.Set(ready ? 1 : 0); }

void Metrics::SetPool(const PoolSample& pool) {
  pool_size_.Set(pool.size);
  pool_in_use_.Set(pool.in_use);
  pool_connected_.Set(pool.connected);
  pool_waits_.Set(static_cast<double>(pool.waits));
}

void Metrics::SetWorkerQueue(int queued) { worker_queue_.Set(queued); }

void Metrics::SetRevocations(size_t entries, bool in_sync) {
  revocation_entries_.Set(static_cast<double>(entries));
  revocation_in_sync_.Set(in_sync ? 1 : 0);
}

void Metrics::SetKeys(const std::vector<KeySample>& keys) {
  absl::MutexLock lock(&mu_);
  absl::flat_hash_map<std::string, prometheus::Gauge*> current;
  for (const KeySample& key : keys) {
    const std::string id = key.kid + "/" + key.state;
    prometheus::Gauge* gauge = nullptr;
    if (auto it = key_gauges_.find(id); it != key_gauges_.end()) {
      gauge = it->second;
      key_gauges_.erase(it);
    } else {
      gauge = &key_age_.Add({{"kid", key.kid}, {"state", key.state}});
    }
    gauge->Set(Seconds(key.age));
    current.emplace(id, gauge);
  }
  // Keys no longer published (or in another state) stop being exported.
  for (auto& [id, gauge] : key_gauges_) key_age_.Remove(gauge);
  key_gauges_ = std::move(current);
}

void Metrics::SetScrapeHook(std::function<void(Metrics&)> hook) {
  absl::MutexLock lock(&mu_);
  scrape_hook_ = std::move(hook);
}

std::string Metrics::Render() {
  std::function<void(Metrics&)> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = scrape_hook_;
  }
  if (hook) hook(*this);
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace token
