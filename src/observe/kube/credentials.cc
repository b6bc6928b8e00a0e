// Minimal first version: static token, token file (re-read at most once a minute), client certificate.
// The exec plugin is being written (issue 5, kubeconfig work).
#include "observe/kube/credentials.h"

#include <fstream>
#include <sstream>

namespace gpuwise::observe::kube {

struct CredentialProvider::State {
  std::mutex mu;
  std::string file_token;
  std::int64_t file_read_ms = -1;
  int exec_runs = 0;
};

CredentialProvider::CredentialProvider(RestConfig config, base::Clock& clock)
    : config_(std::move(config)), clock_(clock), state_(std::make_unique<State>()) {}
CredentialProvider::~CredentialProvider() = default;

base::Result<Credentials> CredentialProvider::Get() {
  Credentials c;
  c.client_cert_pem = config_.client_cert_pem;
  c.client_key_pem = config_.client_key_pem;
  c.token = config_.token;
  if (!config_.token_file.empty()) {
    std::lock_guard lock(state_->mu);
    std::int64_t now = clock_.NowUnixMillis();
    if (state_->file_read_ms < 0 || now - state_->file_read_ms >= 60'000) {
      std::ifstream in(config_.token_file);
      if (!in) return base::Unavailable("cannot read token file " + config_.token_file);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string t = ss.str();
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
      state_->file_token = t;
      state_->file_read_ms = now;
    }
    c.token = state_->file_token;
  }
  if (config_.exec) return base::Status(base::Code::kUnimplemented, "exec credential plugins: not yet");
  return c;
}

void CredentialProvider::Invalidate() {
  std::lock_guard lock(state_->mu);
  state_->file_read_ms = -1;
}

int CredentialProvider::exec_runs() const { return state_->exec_runs; }

}  // namespace gpuwise::observe::kube
