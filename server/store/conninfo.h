// Connection-string handling shared by everything that opens a PostgreSQL
// connection: libpq accepts a keyword form ("host=… dbname=…") and a URI form
// ("postgresql://…"), and options must be appended in the form's own syntax.
#ifndef TOKEN_SERVER_STORE_CONNINFO_H_
#define TOKEN_SERVER_STORE_CONNINFO_H_

#include <string>
#include <utility>
#include <vector>

namespace token {

// WithConnectionOptions returns `conninfo` with each option added unless the
// string already names it: " key=value" for the keyword form, "?key=value" /
// "&key=value" for the URI form. REQUIRES: keys and values are plain words.
std::string WithConnectionOptions(const std::string& conninfo,
                                  const std::vector<std::pair<std::string, std::string>>& options);

// WithServiceOptions is WithConnectionOptions with what every connection the
// server opens gets (an operator's own value for any of them wins):
//  - connect_timeout (whole seconds, libpq's minimum is 2): an unreachable
//    host fails promptly;
//  - application_name: tells the pool, the feed and the migrator apart in
//    pg_stat_activity;
//  - TCP keepalives (idle 5 s, then every 2 s, 3 misses) and
//    tcp_user_timeout (10 s of unacknowledged data): a vanished peer or a
//    half-open connection fails within seconds instead of after the kernel's
//    hours. libpq ignores them on Unix-domain sockets.
// A backend that is alive at the TCP level but stalled (stopped process) is
// not noticed this way; callers that must notice it keep deadlines of their
// own.
std::string WithServiceOptions(const std::string& conninfo, const std::string& application_name,
                               int connect_timeout_seconds = 2);

}  // namespace token

#endif  // TOKEN_SERVER_STORE_CONNINFO_H_
