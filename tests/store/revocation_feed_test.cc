// The revocation feed's pure rules: the clamp every ingested revocation time
// goes through, and which notifications count as hints.
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/session/request_validation.h"
#include "server/store/pg_revocation_feed.h"

namespace token {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);
const absl::Duration kRetention = absl::Seconds(15 * 60 + 30);
const absl::Duration kSkew = absl::Seconds(30);

absl::Time Clamp(absl::Time at) { return ClampRevocationTime(at, kNow, kRetention, kSkew); }

// Times within [now - retention, now + skew] are kept as they are.
TEST(ClampRevocationTimeTest, KeepsTimesInsideTheWindow) {
  EXPECT_EQ(Clamp(kNow), kNow);
  EXPECT_EQ(Clamp(kNow - kRetention), kNow - kRetention);
  EXPECT_EQ(Clamp(kNow + kSkew), kNow + kSkew);
  EXPECT_EQ(Clamp(kNow - absl::Minutes(3)), kNow - absl::Minutes(3));
}

// A far-future time (a jumped clock, a spoofed value) revokes at most up to
// now + skew; an ancient one is lifted to the retention horizon.
TEST(ClampRevocationTimeTest, ClampsOutsideTheWindow) {
  EXPECT_EQ(Clamp(absl::FromUnixSeconds(4102444800)), kNow + kSkew);  // 2100-01-01
  EXPECT_EQ(Clamp(kNow + kSkew + absl::Microseconds(1)), kNow + kSkew);
  EXPECT_EQ(Clamp(absl::InfiniteFuture()), kNow + kSkew);
  EXPECT_EQ(Clamp(absl::UnixEpoch()), kNow - kRetention);
  EXPECT_EQ(Clamp(absl::InfinitePast()), kNow - kRetention);
}

bool ValidSubject(absl::string_view subject) { return ValidateSubject(subject).ok(); }

std::optional<RevocationHint> Parse(absl::string_view payload) {
  return ParseRevocationHint(payload, ValidSubject);
}

// The forms the revoke statements send; the session id is canonicalised.
TEST(ParseRevocationHintTest, AcceptsTheFormsTheStatementsSend) {
  std::optional<RevocationHint> session =
      Parse("session 0B8F5A34-4C55-4E8E-9A53-3BB2B2F1C2D1 1700000000000000");
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->kind, RevocationHint::Kind::kSession);
  EXPECT_EQ(session->key, "0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1");

  std::optional<RevocationHint> subject = Parse("subject 4102444800000000 alice with spaces");
  ASSERT_TRUE(subject.has_value());
  EXPECT_EQ(subject->kind, RevocationHint::Kind::kSubject);
  EXPECT_EQ(subject->key, "alice with spaces");
}

// Anything else is ignored: the key never reaches a statement unless it
// passes the rule a request's would.
TEST(ParseRevocationHintTest, RejectsMalformedPayloads) {
  for (absl::string_view payload : {
           "",
           "session",
           "session 0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1",
           "session 0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1 soon",
           "session 0b8f5a344c554e8e9a533bb2b2f1c2d1 1",
           "session {0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1} 1",
           "session 0b8f5a34-4c55-4e8e-9a53-3bb2b2f1c2d1 1 extra",
           "subject 1",
           "subject 1 ",
           "subject soon alice",
           "subject 1 tab\tinside",
           "subject 1 new\nline",
           "SUBJECT 1 alice",
           "other 1 alice",
       }) {
    EXPECT_FALSE(Parse(payload).has_value()) << "payload: " << payload;
  }
  EXPECT_FALSE(Parse(std::string("subject 1 ") + std::string(256, 'a')).has_value());
  EXPECT_TRUE(Parse(std::string("subject 1 ") + std::string(255, 'a')).has_value());
  EXPECT_FALSE(Parse(std::string("subject 1 \xff\xfe", 12)).has_value());
}

// Without a subject rule, no subject is trusted.
TEST(ParseRevocationHintTest, NoSubjectRuleRejectsSubjects) {
  EXPECT_FALSE(ParseRevocationHint("subject 1 alice", nullptr).has_value());
}

}  // namespace
}  // namespace token
