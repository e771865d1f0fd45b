#include "tests/e2e/token_server_process.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/secret_recorder.h"
#include "tests/harness/poll.h"

namespace token::testing {
namespace {

std::string MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "token-e2e-XXXXXX").string();
  return mkdtemp(pattern.data()) != nullptr ? pattern : "";
}

SubprocessOptions ServerOptions(const std::string& log_path) {
  SubprocessOptions options;
  options.output_path = log_path;
  options.unset_env_prefixes = {"TOKEN_"};
  return options;
}

struct BoundPorts {
  int grpc = 0;
  int http = 0;
};

// ServingPorts reads the ports token-server bound from its "serving" log
// line (Server::Serve, server/app/server.cc): started on port 0, the kernel
// picks them, so no other process can take them between picking and binding.
std::optional<BoundPorts> ServingPorts(const std::string& log) {
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object() || entry.value("msg", nlohmann::json()) != "serving") continue;
    const nlohmann::json grpc = entry.value("grpc_port", nlohmann::json());
    const nlohmann::json http = entry.value("http_port", nlohmann::json());
    BoundPorts ports;
    if (grpc.is_string() && http.is_string() &&
        absl::SimpleAtoi(grpc.get<std::string>(), &ports.grpc) &&
        absl::SimpleAtoi(http.get<std::string>(), &ports.http) && ports.grpc > 0 &&
        ports.http > 0) {
      return ports;
    }
  }
  return std::nullopt;
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeTlsChannel(const std::string& address,
                                              const TlsClientConfig& tls) {
  std::vector<grpc::experimental::IdentityKeyCertPair> identity;
  if (!tls.client_cert_pem.empty()) identity.push_back({tls.client_key_pem, tls.client_cert_pem});
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(
      std::make_shared<grpc::experimental::StaticDataCertificateProvider>(tls.ca_cert_pem,
                                                                          identity));
  options.watch_root_certs();
  if (!identity.empty()) options.watch_identity_key_cert_pairs();
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::experimental::TlsCredentials(options), args, RecordingInterceptors());
}

absl::StatusOr<std::unique_ptr<TokenServerProcess>> TokenServerProcess::Start(
    const std::string& conninfo, std::vector<std::string> extra_flags, std::string key_dir,
    std::optional<TlsClientConfig> tls) {
  std::unique_ptr<TokenServerProcess> server(new TokenServerProcess());
  server->work_dir_ = MakeTempDir();
  if (server->work_dir_.empty()) return absl::InternalError("mkdtemp failed");
  server->tls_ = std::move(tls);
  if (server->tls_.has_value()) {
    server->ca_cert_path_ = server->work_dir_ + "/client-trust.pem";
    std::ofstream(server->ca_cert_path_) << server->tls_->ca_cert_pem;
  }
  server->key_dir_ = key_dir.empty() ? server->work_dir_ + "/keys" : key_dir;
  server->log_path_ = server->work_dir_ + "/server.log";

  std::vector<std::string> argv = {
      TOKEN_SERVER_BINARY,
      // Port 0: the kernel picks free ports at bind time; the server reports them.
      "--grpc-listen=127.0.0.1:0",
      "--http-listen=127.0.0.1:0",
      "--database-url=" + conninfo,
      "--key-dir=" + server->key_dir_,
      // Tests start on an empty key directory (or reuse one a first run filled).
      "--generate-keys",
      "--db-pool-size=4",
  };
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto process = Subprocess::Spawn(argv, ServerOptions(server->log_path_));
  if (!process.ok()) return process.status();
  server->process_ = *std::move(process);

  // One deadline for both waits: listening (ports known), then ready.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::optional<BoundPorts> ports;
  PollUntil(
      [&] {
        ports = ServingPorts(server->Log());
        return ports.has_value() || !server->process_->IsRunning();
      },
      deadline - absl::Now());
  if (!ports.has_value()) {
    return absl::UnavailableError("token-server did not report its listening ports:\n" +
                                  server->Log());
  }
  server->grpc_port_ = ports->grpc;
  server->http_port_ = ports->http;
  const bool ready = PollUntil(
      [&] { return !server->process_->IsRunning() || server->HttpGet("/readyz").status == 200; },
      std::max(deadline - absl::Now(), absl::ZeroDuration()));
  if (!ready || !server->process_->IsRunning()) {
    return absl::UnavailableError("token-server did not become ready:\n" + server->Log());
  }
  server->channel_ =
      server->tls_.has_value()
          ? MakeTlsChannel(server->grpc_address(), *server->tls_)
          : grpc::experimental::CreateCustomChannelWithInterceptors(
                server->grpc_address(), grpc::InsecureChannelCredentials(),
                grpc::ChannelArguments(), RecordingInterceptors());
  server->stub_ = v1::TokenService::NewStub(server->channel_);
  return server;
}

TokenServerProcess::~TokenServerProcess() {
  // Clients disconnect first: gRPC's shutdown otherwise waits (up to the
  // drain timeout) for connected channels to go away.
  stub_.reset();
  channel_.reset();
  if (process_ != nullptr && process_->IsRunning()) {
    (void)process_->Signal(SIGTERM);
    // SIGTERM is a clean shutdown, exit code 0 (README.md). Anything
    // else fails the test that owned the server: a crash or hang while
    // draining, or, in the sanitizer build, a report at exit (leaks are
    // found then).
    const absl::StatusOr<int> code = process_->WaitForExit(absl::Seconds(15));
    if (!code.ok() || *code != 0) {
      // Show the sanitizer report if there is one, else the end of the log.
      const std::string log = Log();
      constexpr size_t kMaxShown = 64 * 1024;
      size_t from = log.find("==ERROR: ");
      from = from == std::string::npos ? log.find("runtime error: ") : from;
      from = from == std::string::npos ? log.size() - std::min(log.size(), kMaxShown)
                                       : log.rfind('\n', from) + 1;  // npos + 1 == 0
      ADD_FAILURE() << "token-server did not exit cleanly on SIGTERM: "
                    << (code.ok() ? absl::StrCat("exit code ", *code) : code.status().ToString())
                    << "\n--- its log, from byte " << from << ":\n"
                    << log.substr(from, kMaxShown);
    }
  }
  process_.reset();
  ArchiveServerLog(log_path_);
  std::error_code ec;
  if (!work_dir_.empty()) std::filesystem::remove_all(work_dir_, ec);
}

std::string TokenServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TokenServerProcess::HttpResponse TokenServerProcess::HttpGet(
    const std::string& path, const std::string& if_none_match) const {
  std::unique_ptr<httplib::ClientImpl> client;
  if (tls_.has_value()) {
    auto https = std::make_unique<httplib::SSLClient>("127.0.0.1", http_port_);
    https->set_ca_cert_path(ca_cert_path_.c_str());
    https->enable_server_certificate_verification(true);
    client = std::move(https);
  } else {
    client = std::make_unique<httplib::ClientImpl>("127.0.0.1", http_port_);
  }
  client->set_connection_timeout(2, 0);
  client->set_read_timeout(5, 0);
  httplib::Headers headers;
  if (!if_none_match.empty()) headers.emplace("If-None-Match", if_none_match);
  auto result = client->Get(path.c_str(), headers);
  HttpResponse out;
  if (!result) return out;
  out.status = result->status;
  out.body = result->body;
  out.etag = result->get_header_value("ETag");
  out.cache_control = result->get_header_value("Cache-Control");
  return out;
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

std::string ErrorReasonOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info) && info.domain() == "token.v1") return info.reason();
  }
  return "";
}

absl::StatusOr<int> RunTokenServer(const std::vector<std::string>& args,
                                   const std::string& output_path) {
  std::vector<std::string> argv = {TOKEN_SERVER_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, ServerOptions(output_path), absl::Seconds(30));
}

}  // namespace token::testing
