// The invariants every fault scenario ends with (docs/RELIABILITY.md):
//
//   DB1  every family a client was handed has its row;
//   DB2  a live family's row holds exactly the hash of the client's newest
//        acknowledged token, at the generation the client counted (before
//        Settle, a family in doubt may instead be exactly one step on: the
//        unanswered call rotated) — no fork, no lost or extra rotation;
//   DB3  no live family is revoked (no falsely detected reuse), every family
//        whose old token was replayed on purpose is revoked as reused;
//   DB4  rows no client knows (logins whose answer was lost) are at most the
//        number of unanswered IssueTokens calls, and were never rotated;
//   API  through the server: the newest acknowledged token refreshes, a retry
//        of it returns the same successor, the successor refreshes, and then
//        the token is reuse and the family's access tokens TOKEN_REVOKED;
//        replayed families answer SESSION_REVOKED / TOKEN_REVOKED.
// Violations go to the ledger; counts to the report.
#ifndef TOKEN_TESTS_FAULT_INVARIANTS_H_
#define TOKEN_TESTS_FAULT_INVARIANTS_H_

#include <cstddef>
#include <string>

#include "tests/fault/fault_support.h"

namespace token::testing::fault {

// DB1–DB4 against the sessions table of `conninfo`. `strict`: after Settle.
void CheckDatabase(Ledger& ledger, const std::string& conninfo, bool strict, Report& report);

// API, through `target`, for up to `max_families` live families (evenly
// sampled) and up to as many replayed ones. Ends every checked family.
void CheckThroughApi(Ledger& ledger, const std::string& target, size_t max_families,
                     Report& report);

}  // namespace token::testing::fault

#endif  // TOKEN_TESTS_FAULT_INVARIANTS_H_
