#include "tests/fault/scenario.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fault/invariants.h"
#include "tests/harness/poll.h"

namespace token::testing::fault {

Scenario::Scenario(const std::string& name) : name_(name), dbname_("fault_" + name) {
  report_.scenario = name;
  conninfo_ = CreateScenarioDatabase(dbname_);
  std::string pattern = (std::filesystem::temp_directory_path() / "token-fault-XXXXXX").string();
  if (mkdtemp(pattern.data()) != nullptr) {
    work_dir_ = pattern;
    key_dir_ = work_dir_ + "/keys";
  }
  EXPECT_FALSE(work_dir_.empty()) << "mkdtemp failed";
}

Scenario::~Scenario() {
  if (::testing::Test::HasFailure()) {
    for (const auto& server : servers_) {
      const std::string log = server->Log();
      std::cout << "[fault] token-server log (last 4000 bytes):\n"
                << log.substr(log.size() > 4000 ? log.size() - 4000 : 0) << "\n";
    }
  }
  servers_.clear();  // SIGTERM and wait, before their key directory goes.
  std::error_code ec;
  if (!work_dir_.empty()) std::filesystem::remove_all(work_dir_, ec);
}

TokenServerProcess* Scenario::StartServer(std::vector<std::string> flags) {
  std::vector<std::string> all = {
      absl::StrCat("--reuse-grace=", absl::FormatDuration(kReuseGrace))};
  all.insert(all.end(), flags.begin(), flags.end());
  absl::StatusOr<std::unique_ptr<TokenServerProcess>> server =
      TokenServerProcess::Start(conninfo_, all, key_dir_);
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  if (ledger_ == nullptr) {
    absl::StatusOr<std::unique_ptr<TokenMath>> math = TokenMath::FromKeyDir(key_dir_);
    EXPECT_TRUE(math.ok()) << math.status();
    if (!math.ok()) return nullptr;
    ledger_ = std::make_unique<Ledger>(*std::move(math));
  }
  servers_.push_back(*std::move(server));
  return servers_.back().get();
}

DriverOptions Scenario::DriverDefaults() const {
  DriverOptions options;
  for (const auto& server : servers_) options.targets.push_back(server->grpc_address());
  options.reuse_grace = kReuseGrace;
  options.subject_prefix = name_;
  return options;
}

void Scenario::Finish(const std::string& target, const CallLog::Summary& load_summary) {
  ASSERT_NE(ledger_, nullptr);
  report_.AddSummary(load_summary, "load_");
  report_.Add("load_unanswered_issue_calls", ledger_->unacknowledged_issues());
  const int64_t load_violations = ledger_->violations().count();
  report_.Add("violations_during_load", load_violations);

  CheckDatabase(*ledger_, conninfo_, /*strict=*/false, report_);
  DriverOptions settle = DriverDefaults();
  settle.call_timeout = absl::Seconds(5);
  report_.Add("settled_families", Settle(*ledger_, target, settle, absl::Seconds(20)));
  CheckDatabase(*ledger_, conninfo_, /*strict=*/true, report_);
  report_.Add("unanswered_refreshes_retried_server_had_rotated (grace)",
              ledger_->lost_responses_recovered());
  report_.Add("unanswered_refreshes_retried_server_had_not", ledger_->unanswered_not_applied());
  report_.Add("refreshes_held_until_an_unanswered_call_expired", ledger_->quiet_waits());
  CheckThroughApi(*ledger_, target, ShortOrLong<size_t>(300, 1000), report_);

  // Error-level lines in the servers' logs: every fault here is one the
  // service must handle as routine (warnings), never as an internal error.
  int64_t error_lines = 0;
  for (const auto& server : servers_) {
    std::istringstream lines(server->Log());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("\"level\":\"error\"") == std::string::npos) continue;
      if (++error_lines <= 5) std::cout << "[fault] server error line: " << line << "\n";
    }
  }
  report_.Add("server_log_error_lines", error_lines);
  EXPECT_EQ(error_lines, 0) << "the server logged errors for a routine fault";

  const int64_t violations = ledger_->violations().count();
  report_.Add("invariant_violations", violations);
  report_.Emit();
  for (const std::string& sample : ledger_->violations().samples()) {
    ADD_FAILURE() << "violation: " << sample;
  }
  EXPECT_EQ(violations, 0);
}

std::optional<absl::Duration> WaitReady(const TokenServerProcess& server, absl::Duration timeout) {
  const absl::Time start = absl::Now();
  const bool ready = PollUntil([&] { return server.HttpGet("/readyz").status == 200; }, timeout,
                               absl::Milliseconds(25));
  if (!ready) return std::nullopt;
  return absl::Now() - start;
}

double MetricValue(const std::string& page, const std::string& name) {
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) != 0) continue;
    double value = -1;
    if (absl::SimpleAtod(line.substr(name.size() + 1), &value)) return value;
  }
  return -1;
}

void InstallDelayTrigger(const std::string& conninfo) {
  absl::StatusOr<std::vector<std::vector<std::string>>> done = QueryRows(conninfo, R"sql(
    CREATE TABLE IF NOT EXISTS fault_delay (ms integer NOT NULL);
    INSERT INTO fault_delay SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM fault_delay);
    CREATE OR REPLACE FUNCTION fault_delay_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_sleep((SELECT ms FROM fault_delay LIMIT 1) / 1000.0);
      RETURN NEW;
    END $$;
    DROP TRIGGER IF EXISTS fault_delay_row ON sessions;
    CREATE TRIGGER fault_delay_row BEFORE INSERT OR UPDATE ON sessions
      FOR EACH ROW EXECUTE FUNCTION fault_delay_row();
  )sql");
  EXPECT_TRUE(done.ok()) << done.status();
}

void SetDelay(const std::string& conninfo, int milliseconds) {
  auto done = QueryRows(conninfo, absl::StrCat("UPDATE fault_delay SET ms = ", milliseconds));
  EXPECT_TRUE(done.ok()) << done.status();
}

bool Failed(const CallRecord& record, const std::string&) { return record.code != grpc::OK; }

}  // namespace token::testing::fault
