// ChaosProxy: a TCP proxy on loopback that loses responses. Bytes from
// clients always reach the server; each chunk the server sends back is, with
// a set probability, never delivered — the connection is cut instead. A call
// whose request got through is then carried out by the server while its
// caller sees UNAVAILABLE: the lost response a refresh-token client must
// survive (docs/RELIABILITY.md).
#ifndef TOKEN_TESTS_FAULT_CHAOS_PROXY_H_
#define TOKEN_TESTS_FAULT_CHAOS_PROXY_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace token::testing::fault {

class ChaosProxy {
 public:
  // Listens on a free 127.0.0.1 port and forwards to 127.0.0.1:target_port.
  static absl::StatusOr<std::unique_ptr<ChaosProxy>> Start(int target_port);
  ~ChaosProxy();
  ChaosProxy(const ChaosProxy&) = delete;
  ChaosProxy& operator=(const ChaosProxy&) = delete;

  std::string address() const;
  // Probability (0..1) that a chunk from the server is dropped and its
  // connection cut. 0 (the start) forwards everything.
  void SetCutProbability(double p) { cut_per_million_ = static_cast<int>(p * 1e6); }
  int64_t cuts() const { return cuts_.load(); }
  int64_t connections() const { return connections_.load(); }

 private:
  ChaosProxy(int listen_fd, int port, int target_port);
  void AcceptLoop();
  void Pump(int client_fd, int server_fd, uint32_t seed);

  const int listen_fd_;
  const int port_;
  const int target_port_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> cut_per_million_{0};
  std::atomic<int64_t> cuts_{0};
  std::atomic<int64_t> connections_{0};
  absl::Mutex mu_;
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
  std::thread acceptor_;
};

}  // namespace token::testing::fault

#endif  // TOKEN_TESTS_FAULT_CHAOS_PROXY_H_
