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

}  // namespace token

#endif  // TOKEN_SERVER_STORE_CONNINFO_H_
