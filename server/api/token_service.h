// TokenServiceHandlers: the gRPC face of token.v1.TokenService. Each handler
// decodes the request, calls one core function, converts the result and
// finishes; no SQL, OpenSSL or JWT code lives here. Handlers that block
// (database, RSA signing) run on a bounded worker pool, never on gRPC's
// threads; VerifyAccess runs inline because it never blocks.
#ifndef TOKEN_SERVER_API_TOKEN_SERVICE_H_
#define TOKEN_SERVER_API_TOKEN_SERVICE_H_

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/api/request_decoding.h"
#include "server/common/bounded_executor.h"
#include "server/common/clock.h"
#include "server/metrics/metrics.h"
#include "server/session/access_verifier.h"
#include "server/session/session_service.h"
#include "token/v1/token.grpc.pb.h"

namespace token {

// Every method in its raw (ByteBuffer) form, so requests that do not parse get
// a proper status instead of gRPC's INTERNAL.
using RawTokenService = v1::TokenService::WithRawCallbackMethod_IssueTokens<
    v1::TokenService::WithRawCallbackMethod_RefreshTokens<
        v1::TokenService::WithRawCallbackMethod_VerifyAccess<
            v1::TokenService::WithRawCallbackMethod_RevokeAll<
                v1::TokenService::WithRawCallbackMethod_RevokeSession<
                    v1::TokenService::WithRawCallbackMethod_ListSessions<
                        v1::TokenService::WithRawCallbackMethod_UpdateSession<
                            v1::TokenService::Service>>>>>>>;

class TokenServiceHandlers final : public RawTokenService {
 public:
  // Calls without a deadline get this one, so no call can hold a worker forever.
  static constexpr absl::Duration kDefaultDeadline = absl::Seconds(30);

  TokenServiceHandlers(const SessionService& sessions, const AccessVerifier& verifier,
                       BoundedExecutor& workers, const Clock& clock, Metrics& metrics);

  grpc::ServerUnaryReactor* IssueTokens(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RefreshTokens(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* VerifyAccess(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RevokeAll(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RevokeSession(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* UpdateSession(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;

 private:
  // Offload decodes `request`, runs `call(request, deadline)` on the worker
  // pool, encodes its response and finishes the call; RESOURCE_EXHAUSTED /
  // OVERLOADED at once when the pool's queue is full, CANCELLED without
  // running `call` when the caller is gone by the time a worker is free.
  template <typename Request, typename Response, typename Call>
  grpc::ServerUnaryReactor* Offload(Rpc rpc, grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                    std::initializer_list<FieldReason> reasons, Call call);

  // Finish completes the call with `status` and records it.
  void Finish(grpc::ServerUnaryReactor* reactor, Rpc rpc, absl::Time started,
              const absl::Status& status);

  // FinishCancelled completes a call whose caller has gone, without an
  // ErrorInfo (nobody reads it), and records it as CANCELLED.
  void FinishCancelled(grpc::ServerUnaryReactor* reactor, Rpc rpc, absl::Time started);

  absl::Time DeadlineOf(const grpc::CallbackServerContext& context) const;

  const SessionService& sessions_;
  const AccessVerifier& verifier_;
  BoundedExecutor& workers_;
  const Clock& clock_;
  Metrics& metrics_;
};

}  // namespace token

#endif  // TOKEN_SERVER_API_TOKEN_SERVICE_H_
