#include "tests/fault/load_driver.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/e2e/token_server_process.h"

namespace token::testing::fault {
namespace {

std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

CallResult Finish(CallKind kind, absl::Time start, const grpc::Status& status, Ledger& ledger) {
  CallResult result;
  result.status = status;
  result.start = start;
  if (!status.ok()) result.reason = ErrorReasonOf(status);
  ledger.log().Add(kind, start, absl::Now(), status, result.reason);
  return result;
}

std::string Describe(const CallResult& r) {
  return absl::StrCat(CodeName(r.status.error_code()), "/", r.reason.empty() ? "-" : r.reason, " (",
                      r.status.error_message(), ")");
}

std::string Where(const Family& f) {
  return absl::StrCat("session ", f.session_id, " generation ", f.generation);
}

void Pause(absl::Duration base, std::mt19937& rng) {
  if (base <= absl::ZeroDuration()) return;
  std::uniform_real_distribution<double> jitter(1.0, 2.0);
  absl::SleepFor(base * jitter(rng));
}

// A live family's token or access token was refused for a reason no fault
// explains.
void Unexpected(Family& family, const std::string& what, const CallResult& r, Ledger& ledger) {
  ledger.violations().Add(absl::StrCat(what, " of ", Where(family), ": ", Describe(r)));
  family.broken = true;
}

}  // namespace

// ----------------------------------------------------------- endpoints ----

Endpoints::Endpoints(const std::vector<std::string>& targets, int per_target)
    : targets_(targets.size()), per_target_(std::max(1, per_target)) {
  for (size_t t = 0; t < targets.size(); ++t) {
    for (size_t c = 0; c < per_target_; ++c) {
      grpc::ChannelArguments args;
      // A connection of its own per channel, not one shared subchannel.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      // Reconnect promptly after a cut connection or a restarted server
      // (gRPC's default first backoff is a second).
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
      // Despite its name, gRPC reads this as the shortest time a connection
      // attempt (TCP and HTTP/2 handshake) may take before it is abandoned;
      // at 100 ms a handshake with a busy sanitized server failed and the
      // channel's calls with it. A refused connection still fails at once.
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
      auto channel =
          grpc::CreateCustomChannel(targets[t], grpc::InsecureChannelCredentials(), args);
      stubs_.push_back(v1::TokenService::NewStub(channel));
      channels_.push_back(std::move(channel));
    }
  }
  // Connected before the first call: a scenario starts from a working
  // service, and a first connection attempt that fails on a busy machine
  // (a call without wait-for-ready then fails at once) is not a fault.
  const auto connect_by = absl::ToChronoTime(absl::Now() + absl::Seconds(10));
  for (const auto& channel : channels_) channel->WaitForConnected(connect_by);
}

v1::TokenService::Stub& Endpoints::For(int target, int channel) {
  return *stubs_[(target % targets_) * per_target_ + (channel % per_target_)];
}

v1::TokenService::Stub& Endpoints::ForClient(int index) {
  return For(static_cast<int>(index % targets_), static_cast<int>(index / targets_));
}

// --------------------------------------------------------------- calls ----

CallResult CallIssue(v1::TokenService::Stub& stub, const std::string& subject,
                     absl::Duration timeout, Ledger& ledger) {
  v1::IssueTokensRequest request;
  request.set_subject(subject);
  request.add_roles("user");
  request.mutable_client()->set_user_agent("fault-test");
  v1::IssueTokensResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = stub.IssueTokens(Context(timeout).get(), request, &response);
  CallResult result = Finish(CallKind::kIssue, start, status, ledger);
  if (status.ok()) result.pair = response.tokens();
  return result;
}

CallResult CallRefresh(v1::TokenService::Stub& stub, const std::string& token,
                       absl::Duration timeout, Ledger& ledger, CallKind kind) {
  v1::RefreshTokensRequest request;
  request.set_refresh_token(token);
  v1::RefreshTokensResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = stub.RefreshTokens(Context(timeout).get(), request, &response);
  CallResult result = Finish(kind, start, status, ledger);
  if (status.ok()) result.pair = response.tokens();
  return result;
}

CallResult CallVerify(v1::TokenService::Stub& stub, const std::string& access_token,
                      absl::Duration timeout, Ledger& ledger) {
  v1::VerifyAccessRequest request;
  request.set_access_token(access_token);
  v1::VerifyAccessResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = stub.VerifyAccess(Context(timeout).get(), request, &response);
  CallResult result = Finish(CallKind::kVerify, start, status, ledger);
  if (status.ok()) result.verified_session_id = response.session_id();
  return result;
}

void NoteUnanswered(Family& family, const CallResult& result, absl::Duration call_timeout) {
  if (!result.reason.empty()) return;  // The server answered: no copy is left.
  // The server gives up at the same deadline; the margin covers loopback
  // transit and the watchdog's cancel.
  family.quiet_until =
      std::max(family.quiet_until, result.start + call_timeout + absl::Milliseconds(100));
}

bool WaitQuiet(const Family& family) {
  const absl::Duration left = family.quiet_until - absl::Now();
  if (left <= absl::ZeroDuration()) return false;
  absl::SleepFor(left);
  return true;
}

bool IsTransient(grpc::StatusCode code) {
  return code == grpc::UNAVAILABLE || code == grpc::DEADLINE_EXCEEDED ||
         code == grpc::RESOURCE_EXHAUSTED;
}

void CheckAnswerPolicy(const CallResult& r, CallKind kind, bool overload_expected, Ledger& ledger) {
  const grpc::StatusCode code = r.status.error_code();
  bool ok = true;
  switch (code) {
    case grpc::OK:
    case grpc::UNAUTHENTICATED:  // judged by the caller, who knows what it presented
      break;
    case grpc::UNAVAILABLE:
      ok =
          r.reason.empty() || r.reason == "DATABASE_UNAVAILABLE" || r.reason == "SERVICE_NOT_READY";
      break;
    case grpc::DEADLINE_EXCEEDED:
      ok = r.reason.empty() || r.reason == "DEADLINE_EXCEEDED";
      break;
    case grpc::RESOURCE_EXHAUSTED:
      ok = overload_expected && (r.reason.empty() || r.reason == "OVERLOADED");
      break;
    default:
      ok = false;  // INTERNAL, UNKNOWN, CANCELLED, INVALID_ARGUMENT, …
  }
  if (!ok) {
    ledger.violations().Add(
        absl::StrCat("answer outside the policy for ", CallKindName(kind), ": ", Describe(r)));
  }
}

// ---------------------------------------------------------------- steps ----

StepOutcome RefreshStep(v1::TokenService::Stub& stub, Family& family, const DriverOptions& options,
                        Ledger& ledger, absl::Time /*now*/) {
  // Presenting the same token again (in doubt) is always safe; moving the
  // head on waits until no unanswered copy can still reach the server.
  if (!family.in_doubt && WaitQuiet(family)) ledger.CountQuietWait();
  const std::string presented = family.head();
  CallResult r = CallRefresh(stub, presented, options.call_timeout, ledger, CallKind::kRefresh);
  CheckAnswerPolicy(r, CallKind::kRefresh, options.overload_expected, ledger);
  const grpc::StatusCode code = r.status.error_code();
  if (code == grpc::OK) {
    // Exactly one successor per token: whether this call rotated or was a
    // grace retry of an earlier unanswered one, it must be the derived one.
    if (r.pair.refresh_token() != ledger.math().Successor(presented)) {
      ledger.violations().Add(absl::StrCat("refresh of ", Where(family),
                                           " returned a token that is not its successor"));
      family.broken = true;
      return StepOutcome::kFamilyEnded;
    }
    if (r.pair.session_id() != family.session_id) {
      ledger.violations().Add(absl::StrCat("refresh of ", Where(family), " answered for session ",
                                           r.pair.session_id()));
      family.broken = true;
      return StepOutcome::kFamilyEnded;
    }
    if (family.in_doubt) {
      // A rotation by this call sets the idle expiry from the server's now,
      // which is after r.start; a grace answer carries the one set when an
      // earlier, unanswered call rotated.
      const auto& ts = r.pair.refresh_expires_at();
      const absl::Time expires =
          absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
      ledger.CountInDoubtRetry(expires < r.start + options.refresh_idle_ttl);
    }
    family.Acknowledge(r.pair.refresh_token(), r.pair.access_token(),
                       family.in_doubt ? family.in_doubt_since : r.start);
    return StepOutcome::kAnswered;
  }
  if (IsTransient(code)) {
    if (!family.in_doubt) {
      family.in_doubt = true;
      family.in_doubt_since = r.start;
    }
    NoteUnanswered(family, r, options.call_timeout);
    return StepOutcome::kTransient;
  }
  if (code == grpc::UNAUTHENTICATED && r.reason == "REFRESH_TOKEN_REUSED" && family.in_doubt &&
      r.start - family.in_doubt_since >= options.reuse_grace - absl::Seconds(1)) {
    // The unanswered call did rotate, and the retry came after the window:
    // reuse detection is the documented outcome, not a fault of the server.
    family.lost_outside_grace = true;
    return StepOutcome::kFamilyEnded;
  }
  Unexpected(family, family.in_doubt ? "retry of an unanswered refresh" : "refresh", r, ledger);
  return StepOutcome::kFamilyEnded;
}

StepOutcome ReplayStep(v1::TokenService::Stub& stub, Family& family, const DriverOptions& options,
                       Ledger& ledger) {
  family.replayed = true;
  // Two generations back: reuse whatever the grace window says.
  CallResult r =
      CallRefresh(stub, family.recent.front(), options.call_timeout, ledger, CallKind::kReplay);
  CheckAnswerPolicy(r, CallKind::kReplay, options.overload_expected, ledger);
  const grpc::StatusCode code = r.status.error_code();
  if (IsTransient(code)) return StepOutcome::kTransient;
  family.replay_confirmed = true;
  if (code == grpc::UNAUTHENTICATED &&
      (r.reason == "REFRESH_TOKEN_REUSED" || r.reason == "SESSION_REVOKED")) {
    return StepOutcome::kFamilyEnded;
  }
  ledger.violations().Add(
      absl::StrCat("replay of a token two generations old, ", Where(family), ": ", Describe(r)));
  return StepOutcome::kFamilyEnded;
}

namespace {

StepOutcome GraceStep(v1::TokenService::Stub& stub, Family& family, const DriverOptions& options,
                      Ledger& ledger) {
  const std::string& parent = family.recent[family.recent.size() - 2];
  CallResult r = CallRefresh(stub, parent, options.call_timeout, ledger, CallKind::kGraceRetry);
  CheckAnswerPolicy(r, CallKind::kGraceRetry, options.overload_expected, ledger);
  const grpc::StatusCode code = r.status.error_code();
  if (code == grpc::OK) {
    if (r.pair.refresh_token() != family.head()) {
      ledger.violations().Add(absl::StrCat("grace retry of the parent of ", Where(family),
                                           " returned a different successor"));
      family.broken = true;
      return StepOutcome::kFamilyEnded;
    }
    family.access_token = r.pair.access_token();
    return StepOutcome::kAnswered;
  }
  // A grace retry changes nothing on the server, answered or not; but a
  // late copy of it must not find the head moved on.
  if (IsTransient(code)) {
    NoteUnanswered(family, r, options.call_timeout);
    return StepOutcome::kTransient;
  }
  Unexpected(family, "grace retry inside the window", r, ledger);
  return StepOutcome::kFamilyEnded;
}

StepOutcome VerifyStep(v1::TokenService::Stub& stub, Family& family, const DriverOptions& options,
                       Ledger& ledger) {
  CallResult r = CallVerify(stub, family.access_token, options.call_timeout, ledger);
  CheckAnswerPolicy(r, CallKind::kVerify, options.overload_expected, ledger);
  const grpc::StatusCode code = r.status.error_code();
  if (code == grpc::OK) {
    if (r.verified_session_id != family.session_id) {
      ledger.violations().Add(absl::StrCat("VerifyAccess of ", Where(family), " named session ",
                                           r.verified_session_id));
    }
    return StepOutcome::kAnswered;
  }
  if (IsTransient(code)) return StepOutcome::kTransient;
  // A live family's access token must verify.
  ledger.violations().Add(absl::StrCat("VerifyAccess of ", Where(family), ": ", Describe(r)));
  return StepOutcome::kAnswered;
}

// One login attempt; the family on success, else null (transient: the row
// may exist without the client knowing it — an orphan the checks allow).
Family* IssueStep(v1::TokenService::Stub& stub, const std::string& subject,
                  const DriverOptions& options, Ledger& ledger) {
  CallResult r = CallIssue(stub, subject, options.call_timeout, ledger);
  CheckAnswerPolicy(r, CallKind::kIssue, options.overload_expected, ledger);
  const grpc::StatusCode code = r.status.error_code();
  if (code == grpc::OK) {
    Family family;
    family.subject = subject;
    family.session_id = r.pair.session_id();
    family.recent = {r.pair.refresh_token()};
    family.access_token = r.pair.access_token();
    if (ledger.math().SessionId(r.pair.refresh_token()) != family.session_id) {
      ledger.violations().Add("IssueTokens returned a refresh token of another session");
    }
    return ledger.Add(std::move(family));
  }
  if (IsTransient(code)) {
    // OVERLOADED is refused before any work; anything else may have written
    // the row without the client learning of it.
    if (r.reason != "OVERLOADED") ledger.CountUnacknowledgedIssue();
  } else {
    ledger.violations().Add(absl::StrCat("IssueTokens for ", subject, ": ", Describe(r)));
  }
  return nullptr;
}

}  // namespace

// -------------------------------------------------------------- driver ----

LoadDriver::LoadDriver(DriverOptions options, Ledger& ledger)
    : options_(std::move(options)),
      ledger_(ledger),
      endpoints_(options_.targets, options_.channels_per_target) {}

LoadDriver::~LoadDriver() { Stop(); }

void LoadDriver::Start() {
  for (int i = 0; i < options_.clients; ++i) threads_.emplace_back([this, i] { ClientLoop(i); });
}

void LoadDriver::Stop() {
  stopping_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void LoadDriver::ClientLoop(int index) {
  std::mt19937 rng(options_.seed * 7919u + static_cast<uint32_t>(index));
  v1::TokenService::Stub& stub = endpoints_.ForClient(index);
  const std::string subject = absl::StrCat(options_.subject_prefix, "-", index);
  Family* family = nullptr;
  while (!stopping_) {
    StepOutcome outcome = StepOutcome::kAnswered;
    if (family == nullptr) {
      family = IssueStep(stub, subject, options_, ledger_);
      if (family == nullptr) outcome = StepOutcome::kTransient;
    } else if (family->in_doubt) {
      outcome = RefreshStep(stub, *family, options_, ledger_, absl::Now());
    } else if (family->replayed) {
      outcome = ReplayStep(stub, *family, options_, ledger_);
    } else {
      const int roll = static_cast<int>(rng() % 100);
      int edge = options_.replay_percent;
      const bool can_grace =
          family->recent.size() >= 2 &&
          absl::Now() - family->parent_presented < options_.reuse_grace - absl::Seconds(2);
      if (roll < edge) {
        outcome = family->recent.size() == 3
                      ? ReplayStep(stub, *family, options_, ledger_)
                      : RefreshStep(stub, *family, options_, ledger_, absl::Now());
      } else if (roll < (edge += options_.issue_percent)) {
        family = nullptr;  // Log in again; the old family stays valid and is checked.
        continue;
      } else if (roll < (edge += options_.verify_percent)) {
        outcome = VerifyStep(stub, *family, options_, ledger_);
      } else if (roll < (edge += options_.grace_retry_percent) && can_grace) {
        outcome = GraceStep(stub, *family, options_, ledger_);
      } else {
        outcome = RefreshStep(stub, *family, options_, ledger_, absl::Now());
      }
    }
    if (outcome == StepOutcome::kFamilyEnded) family = nullptr;
    if (outcome == StepOutcome::kTransient) {
      Pause(options_.backoff, rng);
    } else if (options_.think > absl::ZeroDuration()) {
      absl::SleepFor(options_.think);
    }
  }
}

int64_t Settle(Ledger& ledger, const std::string& target, const DriverOptions& options,
               absl::Duration timeout) {
  Endpoints endpoints({target}, 1);
  v1::TokenService::Stub& stub = endpoints.For(0, 0);
  const absl::Time deadline = absl::Now() + timeout;
  int64_t settled = 0;
  for (Family* family : ledger.Families()) {
    bool touched = false;
    while (!family->broken && !family->lost_outside_grace &&
           (family->in_doubt || (family->replayed && !family->replay_confirmed))) {
      touched = true;
      const StepOutcome outcome = family->in_doubt && !family->replayed
                                      ? RefreshStep(stub, *family, options, ledger, absl::Now())
                                      : ReplayStep(stub, *family, options, ledger);
      if (outcome != StepOutcome::kTransient) continue;
      if (absl::Now() >= deadline) {
        ledger.violations().Add(
            absl::StrCat("could not settle ", Where(*family), " before the deadline"));
        break;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (touched) ++settled;
  }
  return settled;
}

}  // namespace token::testing::fault
