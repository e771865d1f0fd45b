#ifndef TOKEN_TESTS_HARNESS_PORTS_H_
#define TOKEN_TESTS_HARNESS_PORTS_H_

namespace token::testing {

// Returns a TCP port on 127.0.0.1 that was free a moment ago: binds port 0,
// reads the port the kernel chose and closes the socket. Another process may
// take it before the caller binds it, so servers under test should still report
// bind failures clearly. Returns -1 if no socket could be bound.
int PickFreePort();

}  // namespace token::testing

#endif  // TOKEN_TESTS_HARNESS_PORTS_H_
