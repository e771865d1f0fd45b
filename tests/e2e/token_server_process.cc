#include "tests/e2e/token_server_process.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "httplib.h"
#include "tests/harness/poll.h"
#include "tests/harness/ports.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<TokenServerProcess>> TokenServerProcess::Start(
    const std::string& conninfo, std::vector<std::string> extra_flags, std::string key_dir) {
  std::unique_ptr<TokenServerProcess> server(new TokenServerProcess());
  server->work_dir_ = MakeTempDir();
  if (server->work_dir_.empty()) return absl::InternalError("mkdtemp failed");
  server->key_dir_ = key_dir.empty() ? server->work_dir_ + "/keys" : key_dir;
  server->log_path_ = server->work_dir_ + "/server.log";
  server->grpc_port_ = PickFreePort();
  server->http_port_ = PickFreePort();

  std::vector<std::string> argv = {
      TOKEN_SERVER_BINARY,
      absl::StrCat("--grpc-listen=127.0.0.1:", server->grpc_port_),
      absl::StrCat("--http-listen=127.0.0.1:", server->http_port_),
      "--database-url=" + conninfo,
      "--key-dir=" + server->key_dir_,
      "--db-pool-size=4",
  };
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  auto process = Subprocess::Spawn(argv, ServerOptions(server->log_path_));
  if (!process.ok()) return process.status();
  server->process_ = *std::move(process);

  const bool ready = PollUntil(
      [&] { return !server->process_->IsRunning() || server->HttpGet("/readyz").status == 200; },
      absl::Seconds(30));
  if (!ready || !server->process_->IsRunning()) {
    return absl::UnavailableError("token-server did not become ready:\n" + server->Log());
  }
  server->channel_ =
      grpc::CreateChannel(server->grpc_address(), grpc::InsecureChannelCredentials());
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
    (void)process_->WaitForExit(absl::Seconds(15));
  }
  process_.reset();
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
  httplib::Client client("127.0.0.1", http_port_);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  httplib::Headers headers;
  if (!if_none_match.empty()) headers.emplace("If-None-Match", if_none_match);
  auto result = client.Get(path.c_str(), headers);
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
