// libFuzzer target: kubeconfig files (observe/kube/kubeconfig.cc, LoadKubeconfig). There is no parse-from-text entry
// point (LoadKubeconfig reads files, resolves paths relative to each file and merges several), so each input is
// written to files in a private directory under /dev/shm. Byte 0 picks: one file (--kubeconfig) or two merged
// (KUBECONFIG=a:b, the input split at its first NUL byte), and whether --context "prod" is given. The directory
// also holds ca.crt, client.crt, client.key and token for entries that name them by relative path.
// Inputs that could name a device, FIFO or /proc file (which would block or read forever) are skipped: any with a
// backslash (YAML escapes could spell such a path) or "dev", "proc", "sys", "run", "tty", "fd" or "..".
// Properties: no crash, no sanitizer report, no exception; loading is deterministic; an error names a kubeconfig
// file (or the context) and says why; a loaded config has an http(s) server without a trailing slash, a context,
// a DNS-label namespace, never both insecure-skip-tls-verify and a CA, and an exec plugin only with a command, a
// supported apiVersion and an interactiveMode of Never, IfAvailable or Always.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "observe/kube/rest_config.h"

namespace kube = gpuwise::observe::kube;
namespace fs = std::filesystem;

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void Write(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

constexpr std::string_view kDirPrefix = "gpuwise-kubeconfig-fuzz-";

// libFuzzer ends a timed run with _Exit (no atexit handlers): directories of earlier runs whose process is gone are
// removed here.
void RemoveStaleDirs() {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator("/dev/shm", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with(kDirPrefix)) continue;
    const long pid = std::strtol(name.c_str() + kDirPrefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
}

const fs::path& Dir() {
  static const fs::path dir = [] {
    RemoveStaleDirs();
    fs::path d = fs::path("/dev/shm") / (std::string(kDirPrefix) + std::to_string(::getpid()));
    fs::create_directories(d);
    Write(d / "ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    Write(d / "client.crt", "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n");
    Write(d / "client.key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n");
    Write(d / "token", "t0ken\n");
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(Dir(), ec);
    });
    return d;
  }();
  return dir;
}

bool Safe(std::string_view text) {
  if (text.find('\\') != std::string_view::npos) return false;
  for (std::string_view bad : {"dev", "proc", "sys", "run", "tty", "fd", ".."}) {
    if (text.find(bad) != std::string_view::npos) return false;
  }
  return true;
}

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool Same(const gpuwise::base::Result<kube::RestConfig>& a, const gpuwise::base::Result<kube::RestConfig>& b) {
  if (a.ok() != b.ok()) return false;
  if (!a.ok()) return a.status().code() == b.status().code() && a.status().message() == b.status().message();
  return a->server == b->server && a->context == b->context && a->namespace_name == b->namespace_name &&
         a->ca_pem == b->ca_pem && a->token == b->token && a->token_file == b->token_file &&
         a->client_cert_pem == b->client_cert_pem && a->exec.has_value() == b->exec.has_value() &&
         a->warnings == b->warnings;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (!Safe(text)) return 0;
  const fs::path a = Dir() / "config-a", b = Dir() / "config-b";
  kube::KubeconfigOptions options;
  options.home = Dir().string();  // never the real ~/.kube/config
  if (data[0] & 1) options.context = "prod";
  const std::size_t nul = text.find('\0');
  if ((data[0] & 2) && nul != std::string_view::npos) {
    Write(a, text.substr(0, nul));
    Write(b, text.substr(nul + 1));
    options.kubeconfig_env = a.string() + ":" + b.string();
  } else {
    Write(a, text);
    options.path = a.string();
  }

  const gpuwise::base::Result<kube::RestConfig> rc = kube::LoadKubeconfig(options);
  Check(Same(rc, kube::LoadKubeconfig(options)));
  if (!rc.ok()) {
    const std::string& m = rc.status().message();
    Check(m.starts_with("kubeconfig ") || m.starts_with("context "));
    Check(m.find(a.string()) != std::string::npos || m.find(b.string()) != std::string::npos);
    return 0;
  }
  Check(rc->server.starts_with("https://") || rc->server.starts_with("http://"));
  Check(!rc->server.ends_with("/"));
  Check(!rc->context.empty());
  Check(rc->context == options.context || options.context.empty());
  Check(rc->namespace_name == "default" || IsDnsLabel(rc->namespace_name));
  Check(!(rc->insecure_skip_tls_verify && !rc->ca_pem.empty()));
  if (rc->exec) {
    Check(!rc->exec->command.empty());
    Check(rc->exec->api_version == "client.authentication.k8s.io/v1" ||
          rc->exec->api_version == "client.authentication.k8s.io/v1beta1");
    Check(rc->exec->interactive_mode == "Never" || rc->exec->interactive_mode == "IfAvailable" ||
          rc->exec->interactive_mode == "Always");
    Check(rc->token.empty() && rc->token_file.empty());
  }
  Check(rc->source.find(a.string()) != std::string::npos);
  return 0;
}
