#include "tests/fault/invariants.h"

#include <map>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/fault/load_driver.h"
#include "tests/harness/poll.h"

namespace token::testing::fault {
namespace {

struct Row {
  int64_t generation = 0;
  std::string hash_hex;
  bool revoked = false;
  std::string reason;
};

std::string Hex(const std::string& raw) { return absl::BytesToHexString(raw); }

constexpr absl::Duration kCheckTimeout = absl::Seconds(10);

}  // namespace

void CheckDatabase(Ledger& ledger, const std::string& conninfo, bool strict, Report& report) {
  const std::string prefix = strict ? "db_after_settle_" : "db_before_settle_";
  auto rows = QueryRows(conninfo,
                        "SELECT session_id::text, generation, encode(token_hash, 'hex'), "
                        "revoked_at IS NOT NULL, coalesce(revoke_reason, '') FROM sessions");
  if (!rows.ok()) {
    ledger.violations().Add(
        absl::StrCat("cannot read the sessions table: ", rows.status().ToString()));
    return;
  }
  std::map<std::string, Row> table;
  for (const auto& cells : *rows) {
    Row row;
    (void)absl::SimpleAtoi(cells[1], &row.generation);
    row.hash_hex = cells[2];
    row.revoked = cells[3] == "t";
    row.reason = cells[4];
    table[cells[0]] = row;
  }

  const TokenMath& math = ledger.math();
  std::set<std::string> known;
  int64_t live = 0, in_doubt = 0, rotated_unanswered = 0, replayed = 0, lost = 0, broken = 0;
  for (const Family* f : ledger.Families()) {
    known.insert(f->session_id);
    auto it = table.find(f->session_id);
    if (it == table.end()) {
      ledger.violations().Add(
          absl::StrCat("DB1: acknowledged session ", f->session_id, " has no row"));
      continue;
    }
    const Row& row = it->second;
    if (f->broken) {
      ++broken;  // Already a violation.
      continue;
    }
    if (f->replayed || f->lost_outside_grace) {
      f->replayed ? ++replayed : ++lost;
      const bool must_be_revoked = f->lost_outside_grace || f->replay_confirmed;
      if (must_be_revoked && (!row.revoked || row.reason != "refresh_token_reused")) {
        ledger.violations().Add(absl::StrCat("DB3: replayed session ", f->session_id,
                                             " is not revoked as reused (reason '", row.reason,
                                             "')"));
      }
      continue;
    }
    ++live;
    if (row.revoked) {
      ledger.violations().Add(absl::StrCat("DB3: live session ", f->session_id,
                                           " is revoked, reason '", row.reason, "'"));
    }
    bool head_ok =
        row.hash_hex == Hex(math.StoredHash(f->head())) && row.generation == f->generation;
    if (f->in_doubt) ++in_doubt;
    if (!head_ok && !strict && f->in_doubt) {
      head_ok = row.hash_hex == Hex(math.StoredHash(math.Successor(f->head()))) &&
                row.generation == f->generation + 1;
      if (head_ok) ++rotated_unanswered;
    }
    if (!head_ok) {
      ledger.violations().Add(
          absl::StrCat("DB2: session ", f->session_id, " row is at generation ", row.generation,
                       " with a hash that is not the client's token (client generation ",
                       f->generation, f->in_doubt ? ", in doubt)" : ")"));
    }
  }

  int64_t orphans = 0;
  for (const auto& [id, row] : table) {
    if (known.contains(id)) continue;
    ++orphans;
    if (row.generation != 0 || row.revoked) {
      ledger.violations().Add(
          absl::StrCat("DB4: session ", id, " no client knows was rotated or revoked"));
    }
  }
  if (orphans > ledger.unacknowledged_issues()) {
    ledger.violations().Add(absl::StrCat("DB4: ", orphans, " unknown sessions but only ",
                                         ledger.unacknowledged_issues(),
                                         " IssueTokens calls went unanswered"));
  }

  report.Add(prefix + "rows", static_cast<int64_t>(table.size()));
  report.Add(prefix + "families_live", live);
  if (!strict) {
    report.Add(prefix + "families_in_doubt", in_doubt);
    report.Add(prefix + "in_doubt_rotated_by_unanswered_call", rotated_unanswered);
  }
  report.Add(prefix + "families_replayed_on_purpose", replayed);
  report.Add(prefix + "families_lost_outside_grace", lost);
  report.Add(prefix + "families_broken", broken);
  report.Add(prefix + "orphan_logins", orphans);
}

namespace {

void CheckLiveFamily(v1::TokenService::Stub& stub, Family& f, Ledger& ledger) {
  const TokenMath& math = ledger.math();
  auto fail = [&](const std::string& what, const CallResult& r) {
    ledger.violations().Add(absl::StrCat("API: ", what, " for session ", f.session_id, ": ",
                                         CodeName(r.status.error_code()), "/", r.reason));
  };
  CallResult verify = CallVerify(stub, f.access_token, kCheckTimeout, ledger);
  if (!verify.status.ok()) fail("VerifyAccess of the newest access token", verify);

  WaitQuiet(f);
  CallResult first = CallRefresh(stub, f.head(), kCheckTimeout, ledger, CallKind::kRefresh);
  if (!first.status.ok() || first.pair.refresh_token() != math.Successor(f.head())) {
    fail("refresh of the newest acknowledged token", first);
    return;
  }
  CallResult again = CallRefresh(stub, f.head(), kCheckTimeout, ledger, CallKind::kGraceRetry);
  if (!again.status.ok() || again.pair.refresh_token() != first.pair.refresh_token()) {
    fail("grace retry of the newest acknowledged token", again);
  }
  CallResult next =
      CallRefresh(stub, first.pair.refresh_token(), kCheckTimeout, ledger, CallKind::kRefresh);
  if (!next.status.ok()) {
    fail("refresh of its successor", next);
    return;
  }
  CallResult reuse = CallRefresh(stub, f.head(), kCheckTimeout, ledger, CallKind::kReplay);
  if (reuse.status.error_code() != grpc::UNAUTHENTICATED ||
      reuse.reason != "REFRESH_TOKEN_REUSED") {
    fail("second use of the token after its successor was used", reuse);
  }
  f.replayed = true;
  f.replay_confirmed = true;
  std::string last;
  const bool revoked = PollUntil(
      [&] {
        CallResult r = CallVerify(stub, next.pair.access_token(), kCheckTimeout, ledger);
        last = r.reason;
        return r.reason == "TOKEN_REVOKED";
      },
      absl::Seconds(2), absl::Milliseconds(100));
  if (!revoked) {
    ledger.violations().Add(absl::StrCat("API: access token of reused session ", f.session_id,
                                         " still verifies (", last, ")"));
  }
}

void CheckReplayedFamily(v1::TokenService::Stub& stub, const Family& f, Ledger& ledger) {
  CallResult refresh = CallRefresh(stub, f.head(), kCheckTimeout, ledger, CallKind::kRefresh);
  if (refresh.status.error_code() != grpc::UNAUTHENTICATED || refresh.reason != "SESSION_REVOKED") {
    ledger.violations().Add(absl::StrCat("API: newest token of replayed session ", f.session_id,
                                         " answered ", CodeName(refresh.status.error_code()), "/",
                                         refresh.reason));
  }
  std::string last;
  const bool revoked = PollUntil(
      [&] {
        CallResult r = CallVerify(stub, f.access_token, kCheckTimeout, ledger);
        last = r.reason;
        return r.reason == "TOKEN_REVOKED";
      },
      absl::Seconds(2), absl::Milliseconds(100));
  if (!revoked) {
    ledger.violations().Add(
        absl::StrCat("API: access token of replayed session ", f.session_id, " answered ", last));
  }
}

std::vector<Family*> Sample(std::vector<Family*> all, size_t max) {
  if (all.size() <= max) return all;
  std::vector<Family*> out;
  const double step = static_cast<double>(all.size()) / static_cast<double>(max);
  for (size_t i = 0; i < max; ++i) out.push_back(all[static_cast<size_t>(i * step)]);
  return out;
}

}  // namespace

void CheckThroughApi(Ledger& ledger, const std::string& target, size_t max_families,
                     Report& report) {
  std::vector<Family*> live, replayed;
  for (Family* f : ledger.Families()) {
    if (f->live()) live.push_back(f);
    if (f->replayed && f->replay_confirmed && !f->broken) replayed.push_back(f);
  }
  live = Sample(std::move(live), max_families);
  replayed = Sample(std::move(replayed), max_families);

  constexpr int kThreads = 4;
  Endpoints endpoints({target}, kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      v1::TokenService::Stub& stub = endpoints.For(0, t);
      for (size_t i = t; i < replayed.size(); i += kThreads) {
        CheckReplayedFamily(stub, *replayed[i], ledger);
      }
      for (size_t i = t; i < live.size(); i += kThreads) CheckLiveFamily(stub, *live[i], ledger);
    });
  }
  for (auto& thread : threads) thread.join();
  report.Add("api_checked_live_families", static_cast<int64_t>(live.size()));
  report.Add("api_checked_replayed_families", static_cast<int64_t>(replayed.size()));
}

}  // namespace token::testing::fault
