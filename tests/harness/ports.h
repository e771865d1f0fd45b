#ifndef TOKEN_TESTS_HARNESS_PORTS_H_
#define TOKEN_TESTS_HARNESS_PORTS_H_

namespace token::testing {

// Returns a TCP port on 127.0.0.1 with nothing listening on it, for tests of
// "connection refused": binds port 0, reads the port the kernel chose and
// closes the socket. Not for starting a server: another process may bind the
// port in between. Servers under test listen on port 0 and report the port
// they bound instead (tests/e2e/token_server_process.cc). Returns -1 if no
// socket could be bound.
int UnusedLoopbackPort();

}  // namespace token::testing

#endif  // TOKEN_TESTS_HARNESS_PORTS_H_
