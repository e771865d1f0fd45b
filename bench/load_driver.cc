#include "bench/load_driver.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/latency_histogram.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "token/v1/token.grpc.pb.h"

namespace token::bench {
namespace {

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";
constexpr int kCodeCount = 17;  // grpc::StatusCode OK (0) … UNAUTHENTICATED (16).

constexpr std::array<absl::string_view, kCodeCount> kCodeNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

// ModeUses: whether a run in `mode` makes calls of kind `op`.
bool ModeUses(Mode mode, Op op) {
  switch (mode) {
    case Mode::kIssue:
      return op == Op::kIssue;
    case Mode::kRefresh:
      return op == Op::kRefresh;
    case Mode::kVerify:
      return op == Op::kVerify;
    case Mode::kMix:
      return op != Op::kNoop;
    case Mode::kNoop:
      return op == Op::kNoop;
  }
  return false;
}

struct OpStats {
  LatencyHistogram latency;
  std::array<std::atomic<int64_t>, kCodeCount> by_code{};
};

// TokenPool: the refresh tokens waiting for their (single) use and the access
// tokens that verify calls cycle through.
class TokenPool {
 public:
  void SetCapacity(size_t refresh, size_t access) {
    absl::MutexLock lock(&mu_);
    refresh_capacity_ = refresh;
    access_capacity_ = access;
  }

  // TakeRefresh removes a refresh token from the pool: nobody else gets it.
  std::optional<std::string> TakeRefresh() {
    absl::MutexLock lock(&mu_);
    if (refresh_.empty()) return std::nullopt;
    std::string token = std::move(refresh_.front());
    refresh_.pop_front();
    return token;
  }

  // PutRefresh offers a token for one later use; dropped when the pool is full.
  void PutRefresh(std::string token) {
    absl::MutexLock lock(&mu_);
    if (refresh_.size() < refresh_capacity_) refresh_.push_back(std::move(token));
  }

  size_t RefreshCount() const {
    absl::MutexLock lock(&mu_);
    return refresh_.size();
  }

  bool HasAccess() const {
    absl::ReaderMutexLock lock(&mu_);
    return !access_.empty();
  }

  // NextAccess returns the access tokens round robin ("" when there is none).
  std::string NextAccess() {
    absl::ReaderMutexLock lock(&mu_);
    if (access_.empty()) return "";
    return access_[cursor_.fetch_add(1, std::memory_order_relaxed) % access_.size()];
  }

  // PutAccess adds a token, replacing the oldest once at capacity.
  void PutAccess(std::string token) {
    absl::MutexLock lock(&mu_);
    if (access_capacity_ == 0) return;
    if (access_.size() < access_capacity_) {
      access_.push_back(std::move(token));
    } else {
      access_[replace_++ % access_.size()] = std::move(token);
    }
  }

 private:
  mutable absl::Mutex mu_;
  std::deque<std::string> refresh_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> access_ ABSL_GUARDED_BY(mu_);
  size_t refresh_capacity_ ABSL_GUARDED_BY(mu_) = 0;
  size_t access_capacity_ ABSL_GUARDED_BY(mu_) = 0;
  size_t replace_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> cursor_{0};
};

// Slot: one call in flight at a time, with the buffers it reuses.
struct Slot {
  v1::TokenService::Stub* stub = nullptr;
  grpc::GenericStub* generic = nullptr;
  std::minstd_rand rng;
  std::unique_ptr<grpc::ClientContext> context;
  Op op = Op::kVerify;
  absl::Time started;  // Scheduled start (open loop) or actual start (closed loop).
  v1::IssueTokensRequest issue_request;
  v1::IssueTokensResponse issue_response;
  v1::RefreshTokensRequest refresh_request;
  v1::RefreshTokensResponse refresh_response;
  v1::VerifyAccessRequest verify_request;
  v1::VerifyAccessResponse verify_response;
  grpc::ByteBuffer noop_request;
  grpc::ByteBuffer noop_response;
};

// IssueTemplate: the IssueTokens request every issue starts from: one role
// and, with claims_bytes, custom claims of about that serialized size
// ("tenant" plus 100-byte padding strings, as a login service might send).
v1::IssueTokensRequest IssueTemplate(int claims_bytes) {
  v1::IssueTokensRequest request;
  request.add_roles("reader");
  if (claims_bytes <= 0) return request;
  auto& fields = *request.mutable_claims()->mutable_fields();
  fields["tenant"].set_string_value("bench-tenant");
  int size = 25;  // {"tenant":"bench-tenant"}
  for (int i = 0; size < claims_bytes; ++i) {
    const std::string key = absl::StrCat("p", i);
    const int value_bytes =
        std::min(100, std::max(1, claims_bytes - size - 6 - static_cast<int>(key.size())));
    fields[key].set_string_value(std::string(value_bytes, 'x'));
    size += static_cast<int>(key.size()) + value_bytes + 6;  // ,"k":"v"
  }
  return request;
}

class Driver {
 public:
  explicit Driver(const DriverOptions& options)
      : options_(options), issue_template_(IssueTemplate(options.claims_bytes)) {}

  absl::Status Connect();
  absl::Status FillPools();
  absl::StatusOr<RunResult> Run();

 private:
  Op ChooseOp(Slot& slot);
  bool Launch(Slot& slot, absl::Time started);
  void OnDone(Slot& slot, const grpc::Status& status);
  void Release(Slot& slot);
  std::string NextSubject() {
    return absl::StrCat(options_.subject_prefix, "-", getpid(), "-",
                        subjects_.fetch_add(1, std::memory_order_relaxed) % 10000);
  }
  bool HasFreeSlot() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !free_.empty(); }
  bool AllIdle() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return busy_ == 0; }
  OpResult Summarise(const LatencyHistogram& latency,
                     const std::array<int64_t, kCodeCount>& codes) const;

  const DriverOptions options_;
  const v1::IssueTokensRequest issue_template_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<v1::TokenService::Stub>> stubs_;
  std::vector<std::unique_ptr<grpc::GenericStub>> generics_;
  std::vector<std::unique_ptr<Slot>> slots_;
  TokenPool pool_;
  std::array<OpStats, kOpCount> stats_;
  absl::Time measure_start_;
  absl::Time end_;
  std::atomic<uint64_t> subjects_{0};
  std::atomic<int64_t> starved_{0};
  int64_t setup_calls_ = 0;

  absl::Mutex mu_;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Slot*> free_ ABSL_GUARDED_BY(mu_);
};

absl::Status Driver::Connect() {
  for (int i = 0; i < options_.channels; ++i) {
    grpc::ChannelArguments args;
    // A private subchannel pool: each channel gets its own connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel =
        grpc::CreateCustomChannel(options_.server, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", options_.server));
    }
    stubs_.push_back(v1::TokenService::NewStub(channel));
    generics_.push_back(std::make_unique<grpc::GenericStub>(channel));
    channels_.push_back(std::move(channel));
  }
  const grpc::Slice empty("");
  for (int i = 0; i < options_.concurrency; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->stub = stubs_[i % stubs_.size()].get();
    slot->generic = generics_[i % generics_.size()].get();
    slot->rng.seed(static_cast<uint32_t>(i) + 1);
    slot->issue_request = issue_template_;
    // HealthCheckRequest{service: ""} serialises to zero bytes.
    slot->noop_request = grpc::ByteBuffer(&empty, 1);
    slots_.push_back(std::move(slot));
  }
  return absl::OkStatus();
}

absl::Status Driver::FillPools() {
  const int refresh_pool =
      options_.refresh_pool > 0 ? options_.refresh_pool : std::max(4 * options_.concurrency, 16);
  int sessions = 0;
  switch (options_.mode) {
    case Mode::kRefresh:
      pool_.SetCapacity(refresh_pool, 0);
      sessions = refresh_pool;
      break;
    case Mode::kVerify:
      pool_.SetCapacity(0, options_.verify_tokens);
      sessions = options_.verify_tokens;
      break;
    case Mode::kMix:
      pool_.SetCapacity(2 * refresh_pool, options_.verify_tokens);
      sessions = std::max(refresh_pool, options_.verify_tokens);
      break;
    case Mode::kIssue:
    case Mode::kNoop:
      return absl::OkStatus();
  }
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  absl::Mutex error_mu;
  std::string first_error;
  std::vector<std::thread> workers;
  const int threads = std::min(8, sessions);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      v1::TokenService::Stub& stub = *stubs_[t % stubs_.size()];
      while (next.fetch_add(1) < sessions && failures.load() == 0) {
        v1::IssueTokensRequest request = issue_template_;
        request.set_subject(NextSubject());
        v1::IssueTokensResponse response;
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
        grpc::Status status = stub.IssueTokens(&context, request, &response);
        if (!status.ok()) {
          failures.fetch_add(1);
          absl::MutexLock lock(&error_mu);
          first_error = absl::StrCat(kCodeNames[status.error_code() % kCodeCount], ": ",
                                     status.error_message());
          continue;
        }
        pool_.PutRefresh(response.tokens().refresh_token());
        pool_.PutAccess(response.tokens().access_token());
      }
    });
  }
  for (auto& w : workers) w.join();
  setup_calls_ = std::min(next.load(), sessions);
  if (failures.load() > 0) {
    return absl::UnavailableError(absl::StrCat("pre-issuing sessions failed: ", first_error));
  }
  return absl::OkStatus();
}

Op Driver::ChooseOp(Slot& slot) {
  switch (options_.mode) {
    case Mode::kIssue:
      return Op::kIssue;
    case Mode::kRefresh:
      return Op::kRefresh;
    case Mode::kVerify:
      return Op::kVerify;
    case Mode::kNoop:
      return Op::kNoop;
    case Mode::kMix: {
      const MixWeights& w = options_.mix;
      const int total = std::max(w.issue + w.refresh + w.verify, 1);
      const int pick = static_cast<int>(slot.rng() % static_cast<uint32_t>(total));
      if (pick < w.issue) return Op::kIssue;
      if (pick < w.issue + w.refresh) return Op::kRefresh;
      return Op::kVerify;
    }
  }
  return Op::kNoop;
}

bool Driver::Launch(Slot& slot, absl::Time started) {
  Op op = ChooseOp(slot);
  std::string refresh_token;
  if (op == Op::kRefresh) {
    std::optional<std::string> token = pool_.TakeRefresh();
    if (!token.has_value()) {
      starved_.fetch_add(1, std::memory_order_relaxed);
      if (options_.mode != Mode::kMix) return false;
      op = Op::kIssue;  // The mix issues instead, which refills the pool.
    } else {
      refresh_token = *std::move(token);
    }
  }
  if (op == Op::kVerify && !pool_.HasAccess()) op = Op::kIssue;

  slot.op = op;
  slot.started = started;
  // Replacing the context of the finished call is safe here, inside its
  // completion callback: gRPC holds its own reference to the call.
  slot.context = std::make_unique<grpc::ClientContext>();
  slot.context->set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  Slot* s = &slot;
  auto done = [this, s](grpc::Status status) { OnDone(*s, status); };
  switch (op) {
    case Op::kIssue:
      slot.issue_request.set_subject(NextSubject());
      slot.issue_response.Clear();
      slot.stub->async()->IssueTokens(slot.context.get(), &slot.issue_request, &slot.issue_response,
                                      std::move(done));
      break;
    case Op::kRefresh:
      slot.refresh_request.set_refresh_token(std::move(refresh_token));
      slot.refresh_response.Clear();
      slot.stub->async()->RefreshTokens(slot.context.get(), &slot.refresh_request,
                                        &slot.refresh_response, std::move(done));
      break;
    case Op::kVerify:
      slot.verify_request.set_access_token(pool_.NextAccess());
      slot.verify_response.Clear();
      slot.stub->async()->VerifyAccess(slot.context.get(), &slot.verify_request,
                                       &slot.verify_response, std::move(done));
      break;
    case Op::kNoop:
      slot.noop_response.Clear();
      slot.generic->UnaryCall(slot.context.get(), kHealthCheckMethod, grpc::StubOptions(),
                              &slot.noop_request, &slot.noop_response, std::move(done));
      break;
  }
  return true;
}

void Driver::OnDone(Slot& slot, const grpc::Status& status) {
  const absl::Time now = absl::Now();
  if (now >= measure_start_ && now < end_) {
    OpStats& stats = stats_[static_cast<int>(slot.op)];
    stats.latency.Record(now - slot.started);
    stats.by_code[status.error_code() % kCodeCount].fetch_add(1, std::memory_order_relaxed);
  }
  if (status.ok()) {
    if (slot.op == Op::kRefresh) {
      // The successor goes back for exactly one later use.
      pool_.PutRefresh(slot.refresh_response.tokens().refresh_token());
      if (options_.mode == Mode::kMix) {
        pool_.PutAccess(slot.refresh_response.tokens().access_token());
      }
    } else if (slot.op == Op::kIssue && options_.mode == Mode::kMix) {
      pool_.PutRefresh(slot.issue_response.tokens().refresh_token());
      pool_.PutAccess(slot.issue_response.tokens().access_token());
    }
  }
  // A failed refresh's token is dropped: whether it rotated is unknown.
  if (options_.rate <= 0 && now < end_ && Launch(slot, now)) return;
  Release(slot);
}

void Driver::Release(Slot& slot) {
  absl::MutexLock lock(&mu_);
  --busy_;
  if (options_.rate > 0) free_.push_back(&slot);
}

absl::StatusOr<RunResult> Driver::Run() {
  const absl::Time start = absl::Now();
  measure_start_ = start + options_.warmup;
  end_ = measure_start_ + options_.duration;
  if (options_.rate <= 0) {
    {
      absl::MutexLock lock(&mu_);
      busy_ = static_cast<int>(slots_.size());
    }
    for (auto& slot : slots_) {
      if (!Launch(*slot, absl::Now())) Release(*slot);
    }
  } else {
    {
      absl::MutexLock lock(&mu_);
      for (auto& slot : slots_) free_.push_back(slot.get());
    }
    const absl::Duration interval = absl::Seconds(1.0 / options_.rate);
    for (absl::Time next = start; next < end_; next += interval) {
      const absl::Time now = absl::Now();
      if (next > now) absl::SleepFor(next - now);
      Slot* slot = nullptr;
      {
        absl::MutexLock lock(&mu_);
        if (!mu_.AwaitWithDeadline(absl::Condition(this, &Driver::HasFreeSlot), end_)) break;
        slot = free_.back();
        free_.pop_back();
        ++busy_;
      }
      if (!Launch(*slot, next)) {
        Release(*slot);
        break;  // Starved: nothing left to refresh.
      }
    }
  }
  // Every call has a deadline, so every callback arrives; the margin only
  // guards against a bug turning into a hang.
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &Driver::AllIdle),
                              options_.call_timeout + absl::Seconds(30))) {
      return absl::DeadlineExceededError("calls still in flight long after their deadline");
    }
  }

  RunResult result;
  result.options = options_;
  result.window = options_.duration;
  result.setup_calls = setup_calls_;
  result.starved = starved_.load();
  LatencyHistogram all;
  std::array<int64_t, kCodeCount> all_codes{};
  for (int i = 0; i < kOpCount; ++i) {
    const OpStats& stats = stats_[i];
    std::array<int64_t, kCodeCount> codes{};
    int64_t calls = 0;
    for (int c = 0; c < kCodeCount; ++c) {
      codes[c] = stats.by_code[c].load();
      all_codes[c] += codes[c];
      calls += codes[c];
    }
    const Op op = static_cast<Op>(i);
    if (!ModeUses(options_.mode, op) && calls == 0) continue;
    result.ops[op] = Summarise(stats.latency, codes);
    all.Merge(stats.latency);
  }
  result.total = Summarise(all, all_codes);
  return result;
}

OpResult Driver::Summarise(const LatencyHistogram& latency,
                           const std::array<int64_t, kCodeCount>& codes) const {
  OpResult r;
  for (int c = 0; c < kCodeCount; ++c) {
    r.calls += codes[c];
    if (c == 0) {
      r.ok = codes[c];
    } else if (codes[c] > 0) {
      r.errors[std::string(kCodeNames[c])] = codes[c];
    }
  }
  r.throughput = static_cast<double>(r.calls) / absl::ToDoubleSeconds(options_.duration);
  r.p50 = latency.Percentile(50);
  r.p90 = latency.Percentile(90);
  r.p99 = latency.Percentile(99);
  r.p999 = latency.Percentile(99.9);
  r.max = latency.max();
  r.mean = latency.mean();
  return r;
}

}  // namespace

std::optional<Mode> ParseMode(absl::string_view name) {
  for (Mode mode : {Mode::kIssue, Mode::kRefresh, Mode::kVerify, Mode::kMix, Mode::kNoop}) {
    if (ModeName(mode) == name) return mode;
  }
  return std::nullopt;
}

absl::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kIssue:
      return "issue";
    case Mode::kRefresh:
      return "refresh";
    case Mode::kVerify:
      return "verify";
    case Mode::kMix:
      return "mix";
    case Mode::kNoop:
      return "noop";
  }
  return "?";
}

absl::string_view OpName(Op op) {
  switch (op) {
    case Op::kIssue:
      return "issue";
    case Op::kRefresh:
      return "refresh";
    case Op::kVerify:
      return "verify";
    case Op::kNoop:
      return "noop";
  }
  return "?";
}

absl::StatusOr<RunResult> RunLoad(const DriverOptions& options) {
  if (options.concurrency < 1 || options.channels < 1 || options.duration <= absl::ZeroDuration() ||
      options.warmup < absl::ZeroDuration() || options.rate < 0 ||
      options.call_timeout <= absl::ZeroDuration() || options.verify_tokens < 1 ||
      options.refresh_pool < 0 || options.mix.issue < 0 || options.mix.refresh < 0 ||
      options.mix.verify < 0) {
    return absl::InvalidArgumentError("bad load options");
  }
  auto driver = std::make_unique<Driver>(options);
  if (absl::Status s = driver->Connect(); !s.ok()) return s;
  if (absl::Status s = driver->FillPools(); !s.ok()) return s;
  absl::StatusOr<RunResult> result = driver->Run();
  if (!result.ok() && absl::IsDeadlineExceeded(result.status())) {
    // Callbacks may still reference the driver: leak it rather than crash.
    (void)driver.release();
  }
  return result;
}

}  // namespace token::bench
