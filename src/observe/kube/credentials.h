// CredentialProvider: the bearer token and client certificate for each request, from a RestConfig. A token file is
// re-read when it changes (projected service-account tokens rotate about hourly); an exec plugin
// (client.authentication.k8s.io v1/v1beta1) is run with KUBERNETES_EXEC_INFO set and its ExecCredential cached
// until status.expirationTimestamp (or until Invalidate(), which the client calls after a 401). The plugin gets
// no terminal: an interactive plugin fails with its installHint. Secrets are never logged.
// Thread-safety: Get() and Invalidate() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "observe/kube/rest_config.h"

namespace gpuwise::observe::kube {

struct Credentials {
  std::string token;                              // "" = no bearer token
  std::string client_cert_pem, client_key_pem;    // "" = no client certificate
  std::int64_t expires_unix_ms = 0;               // 0 = does not expire
};

struct CredentialOptions {
  // An exec plugin still running after this is killed (with its process group) and Get() fails.
  std::chrono::milliseconds exec_timeout{30'000};
  // More than this on the plugin's stdout is an error (an ExecCredential is a few KiB).
  std::size_t max_exec_output_bytes = 1u << 20;
};

class CredentialProvider {
 public:
  CredentialProvider(RestConfig config, base::Clock& clock, CredentialOptions options = {});
  ~CredentialProvider();
  // The credentials to send now. Errors: an unreadable token file, an exec plugin that fails, times out (30 s),
  // or prints no valid ExecCredential; each names the file or command.
  base::Result<Credentials> Get();
  // Forgets cached exec credentials and the token file's content: the next Get() fetches anew.
  void Invalidate();
  // How many times the exec plugin has run (tests check the cache).
  int exec_runs() const;

 private:
  struct State;
  RestConfig config_;
  base::Clock& clock_;
  CredentialOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace gpuwise::observe::kube
