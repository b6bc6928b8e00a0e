// CredentialProvider (credentials.h): the token-file cache and the exec credential plugin runner
// (client.authentication.k8s.io v1 and v1beta1). The plugin is started with posix_spawn (no shell), stdin from
// /dev/null, in its own process group so a timeout kills it and its children. The plugin's deadline is a kernel
// CLOCK_MONOTONIC timerfd polled with its pipes (a real process needs a real deadline, which a FakeClock would
// never reach); credential expiry and the token-file interval use base::Clock.
#include "observe/kube/credentials.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/time_parse.h"

extern char** environ;  // NOLINT: POSIX, for the plugin's inherited environment

namespace gpuwise::observe::kube {
namespace {

constexpr std::string_view kExecV1 = "client.authentication.k8s.io/v1";
constexpr std::string_view kExecV1beta1 = "client.authentication.k8s.io/v1beta1";
constexpr std::int64_t kTokenFileRereadNanos = 60'000'000'000;  // client-go re-reads token files once a minute
constexpr std::size_t kStderrKeepBytes = 4096;                  // of the plugin's stderr, kept for errors
constexpr std::size_t kStderrQuoteBytes = 1024;                 // of that, quoted in an error

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// The plugin's stderr for an error message: one line, at most kStderrQuoteBytes.
std::string StderrQuote(std::string_view err) {
  std::string s(err);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return "";
  bool cut = false;
  if (s.size() > kStderrQuoteBytes) {
    s.resize(kStderrQuoteBytes);
    cut = true;
  }
  std::string one_line;
  for (const char c : s) {
    if (c == '\n') {
      one_line += " | ";
    } else if (c != '\r') {
      one_line += c;
    }
  }
  return "; stderr: " + one_line + (cut ? " ...(truncated)" : "");
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// execvp's PATH search, done here so that a missing plugin is a clear error before anything runs.
std::optional<std::string> FindExecutable(const std::string& command) {
  if (command.find('/') != std::string::npos) return command;
  const char* env_path = std::getenv("PATH");
  const std::string path = env_path != nullptr ? env_path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + command;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

// gpuwise's environment, with the kubeconfig's env entries and KUBERNETES_EXEC_INFO replacing any same-named ones.
std::vector<std::string> ChildEnvironment(const ExecConfig& exec, const std::string& exec_info) {
  std::set<std::string> replaced{"KUBERNETES_EXEC_INFO"};
  for (const auto& kv : exec.env) replaced.insert(kv.first);
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (replaced.count(std::string(entry.substr(0, eq))) == 0) env.emplace_back(entry);
  }
  for (const auto& kv : exec.env) env.push_back(kv.first + "=" + kv.second);
  env.push_back("KUBERNETES_EXEC_INFO=" + exec_info);
  return env;
}

struct PluginOutput {
  int wait_status = 0;
  bool timed_out = false;
  bool stdout_overflow = false;
  std::string out, err;
};

// Reads what is available on a non-blocking pipe. Returns false at end of file.
bool ReadSome(int fd, std::string* into, std::size_t keep, bool* overflow) {
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      const std::size_t room = into->size() < keep ? keep - into->size() : 0;
      const std::size_t take = std::min(room, static_cast<std::size_t>(n));
      into->append(buf, take);
      if (take < static_cast<std::size_t>(n) && overflow != nullptr) *overflow = true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;  // anything else: treat as closed
  }
}

// Runs the plugin to completion or until the deadline, capturing stdout and stderr.
base::Result<PluginOutput> RunPlugin(const std::string& path, const ExecConfig& exec,
                                     const std::vector<std::string>& env, const CredentialOptions& options,
                                     std::atomic<int>* runs) {
  const std::string name = Quoted(exec.command);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return base::Internal("exec plugin " + name + ": pipe: " + std::strerror(errno));
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return base::Internal("exec plugin " + name + ": pipe: " + std::strerror(errno));
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  Fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (timer.get() < 0) return base::Internal("exec plugin " + name + ": timerfd: " + std::strerror(errno));

  std::vector<std::string> arg_strings;
  arg_strings.push_back(exec.command);
  for (const auto& a : exec.args) arg_strings.push_back(a);
  std::vector<char*> argv, envp;
  for (auto& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: the timeout kills the plugin's children too
  sigset_t defaults, mask;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);  // gpuwise may ignore SIGPIPE; the plugin should not inherit that
  sigemptyset(&mask);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  out_w.Reset();
  err_w.Reset();
  if (rc != 0) {
    return base::Unavailable("exec plugin " + name + " could not be started (" + path + "): " + std::strerror(rc));
  }
  runs->fetch_add(1);

  itimerspec deadline{};
  const auto ms = std::max<std::int64_t>(1, options.exec_timeout.count());
  deadline.it_value.tv_sec = static_cast<time_t>(ms / 1000);
  deadline.it_value.tv_nsec = static_cast<long>((ms % 1000) * 1'000'000);
  ::timerfd_settime(timer.get(), 0, &deadline, nullptr);
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);

  PluginOutput result;
  bool out_open = true, err_open = true, reaped = false;
  while (true) {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {timer.get(), POLLIN, 0};
    const int out_idx = out_open ? static_cast<int>(n) : -1;
    if (out_open) fds[n++] = {out_r.get(), POLLIN, 0};
    const int err_idx = err_open ? static_cast<int>(n) : -1;
    if (err_open) fds[n++] = {err_r.get(), POLLIN, 0};
    // With a pipe open, output or end of file wakes us; the short wait only notices a plugin that exited while a
    // child of its still holds the pipe.
    const int r = ::poll(fds, n, out_open || err_open ? 100 : 5);
    if (r < 0 && errno != EINTR) return base::Internal("exec plugin " + name + ": poll: " + std::strerror(errno));
    if (r > 0 && (fds[0].revents & POLLIN) != 0) {
      result.timed_out = true;
      break;
    }
    if (out_idx >= 0 && fds[out_idx].revents != 0) {
      out_open = ReadSome(out_r.get(), &result.out, options.max_exec_output_bytes, &result.stdout_overflow);
    }
    if (err_idx >= 0 && fds[err_idx].revents != 0) {
      err_open = ReadSome(err_r.get(), &result.err, kStderrKeepBytes, nullptr);
    }
    const pid_t w = ::waitpid(pid, &result.wait_status, WNOHANG);
    if (w == pid || (w < 0 && errno == ECHILD)) reaped = true;
    if (reaped) {
      // What it wrote before exiting is in the pipes.
      if (out_open) ReadSome(out_r.get(), &result.out, options.max_exec_output_bytes, &result.stdout_overflow);
      if (err_open) ReadSome(err_r.get(), &result.err, kStderrKeepBytes, nullptr);
      break;
    }
  }
  if (result.timed_out) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &result.wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  return result;
}

// A string member of a JSON object: absent -> "", present but not a string -> false.
bool StringMember(const nlohmann::json& obj, const char* key, std::string* out) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

struct ExecCredentialStatus {
  std::string token, cert, key;
  std::int64_t expires_unix_ms = 0;
};

// Messages say what is wrong with the output, never what it contains (it holds the secret).
base::Result<ExecCredentialStatus> ParseExecCredential(const std::string& out, const ExecConfig& exec) {
  const std::string name = Quoted(exec.command);
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return base::InvalidArgument("exec plugin " + name + " printed " + std::to_string(out.size()) +
                                 " bytes on stdout that are not an ExecCredential JSON object");
  }
  std::string api_version, kind;
  if (!StringMember(j, "apiVersion", &api_version) || !StringMember(j, "kind", &kind)) {
    return base::InvalidArgument("exec plugin " + name + ": apiVersion and kind of its output must be strings");
  }
  if (api_version != exec.api_version) {
    return base::InvalidArgument("exec plugin " + name + " returned apiVersion " +
                                 Quoted(api_version.substr(0, 80)) + " but the kubeconfig configures it with " +
                                 exec.api_version);
  }
  if (kind != "ExecCredential") {
    return base::InvalidArgument("exec plugin " + name + " returned kind " + Quoted(kind.substr(0, 80)) +
                                 ", expected ExecCredential");
  }
  const auto status = j.find("status");
  if (status == j.end() || !status->is_object()) {
    return base::InvalidArgument("exec plugin " + name + " returned an ExecCredential without a status");
  }
  ExecCredentialStatus s;
  if (!StringMember(*status, "token", &s.token) || !StringMember(*status, "clientCertificateData", &s.cert) ||
      !StringMember(*status, "clientKeyData", &s.key)) {
    return base::InvalidArgument("exec plugin " + name +
                                 ": status.token, clientCertificateData and clientKeyData must be strings");
  }
  if (s.token.empty() && s.cert.empty() && s.key.empty()) {
    return base::InvalidArgument("exec plugin " + name + " returned neither a token nor a client certificate and key");
  }
  if (s.cert.empty() != s.key.empty()) {
    return base::InvalidArgument("exec plugin " + name +
                                 " returned only one of clientCertificateData and clientKeyData; both are needed");
  }
  std::string expiry;
  if (!StringMember(*status, "expirationTimestamp", &expiry)) {
    return base::InvalidArgument("exec plugin " + name + ": status.expirationTimestamp must be an RFC 3339 string");
  }
  if (!expiry.empty()) {
    auto t = base::ParseTime(expiry);
    if (!t.ok()) {
      return base::InvalidArgument("exec plugin " + name + ": status.expirationTimestamp " +
                                   Quoted(expiry.substr(0, 80)) + " is not an RFC 3339 time");
    }
    s.expires_unix_ms = *t;
  }
  return s;
}

// KUBERNETES_EXEC_INFO: the ExecCredential the plugin reads its input from.
std::string ExecInfo(const RestConfig& config) {
  const ExecConfig& exec = *config.exec;
  nlohmann::json spec = {{"interactive", false}};
  if (exec.provide_cluster_info) {
    nlohmann::json cluster = {{"server", config.server}};
    if (!config.tls_server_name.empty()) cluster["tls-server-name"] = config.tls_server_name;
    if (config.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    if (!config.ca_pem.empty()) cluster["certificate-authority-data"] = Base64(config.ca_pem);
    if (!config.proxy_url.empty()) cluster["proxy-url"] = config.proxy_url;
    if (!exec.cluster_config_json.empty()) {
      nlohmann::json extension = nlohmann::json::parse(exec.cluster_config_json, nullptr, false);
      if (!extension.is_discarded()) cluster["config"] = std::move(extension);
    }
    spec["cluster"] = std::move(cluster);
  }
  const nlohmann::json info = {{"apiVersion", exec.api_version}, {"kind", "ExecCredential"}, {"spec", spec}};
  return info.dump();
}

}  // namespace

struct CredentialProvider::State {
  std::mutex mu;  // guards everything below and serialises plugin runs
  std::optional<std::string> file_token;
  std::int64_t file_read_nanos = 0;
  std::optional<ExecCredentialStatus> exec_creds;
  std::atomic<int> exec_runs{0};
};

CredentialProvider::CredentialProvider(RestConfig config, base::Clock& clock, CredentialOptions options)
    : config_(std::move(config)), clock_(clock), options_(options), state_(std::make_unique<State>()) {}
CredentialProvider::~CredentialProvider() = default;

base::Result<Credentials> CredentialProvider::Get() {
  std::lock_guard lock(state_->mu);
  Credentials c;
  c.client_cert_pem = config_.client_cert_pem;
  c.client_key_pem = config_.client_key_pem;
  c.token = config_.token;

  if (!config_.token_file.empty()) {
    const std::int64_t now = clock_.MonotonicNanos();
    if (!state_->file_token || now - state_->file_read_nanos >= kTokenFileRereadNanos) {
      std::ifstream in(config_.token_file, std::ios::binary);
      std::string text;
      if (in) {
        std::ostringstream ss;
        ss << in.rdbuf();
        text = ss.str();
      }
      const auto first = text.find_first_not_of(" \t\r\n");
      text = first == std::string::npos ? "" : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
      if (!in || text.empty()) {
        const std::string why = !in ? "cannot read token file " : "token file is empty: ";
        if (!state_->file_token) return base::Unavailable(why + config_.token_file);
        // As client-go: keep the last good token while the file is being replaced; try again in a minute.
        LOG_WARNING << why << config_.token_file << "; using the token read before";
      } else {
        state_->file_token = std::move(text);
      }
      state_->file_read_nanos = now;
    }
    c.token = *state_->file_token;
  }

  // client-go consults the plugin only when the user entry carries no credentials of its own.
  const bool static_creds = !config_.token.empty() || !config_.token_file.empty() || !config_.client_cert_pem.empty() ||
                            !config_.username.empty() || !config_.password.empty();
  if (!config_.exec || static_creds) return c;

  const ExecConfig& exec = *config_.exec;
  const std::string name = Quoted(exec.command);
  const std::int64_t now_ms = clock_.NowUnixMillis();
  if (!state_->exec_creds || (state_->exec_creds->expires_unix_ms != 0 && now_ms >= state_->exec_creds->expires_unix_ms)) {
    state_->exec_creds.reset();
    if (exec.api_version != kExecV1 && exec.api_version != kExecV1beta1) {
      return base::InvalidArgument("exec plugin " + name + ": apiVersion " + Quoted(exec.api_version) +
                                   " is not supported; use " + std::string(kExecV1) + " or " +
                                   std::string(kExecV1beta1));
    }
    std::string mode = exec.interactive_mode;
    if (mode.empty() && exec.api_version == kExecV1beta1) mode = "IfAvailable";
    if (mode.empty()) {
      return base::InvalidArgument("exec plugin " + name + ": interactiveMode is required with " + std::string(kExecV1));
    }
    const std::string hint = exec.install_hint.empty() ? "" : "\n" + exec.install_hint;
    if (mode == "Always") {
      return base::FailedPrecondition("exec plugin " + name +
                                      " needs an interactive terminal (interactiveMode: Always), and gpuwise never "
                                      "gives plugins one; log in with the plugin in a shell first, or use a "
                                      "non-interactive credential" + hint);
    }
    if (mode != "Never" && mode != "IfAvailable") {
      return base::InvalidArgument("exec plugin " + name + ": interactiveMode " + Quoted(mode) +
                                   " is not one of Never, IfAvailable, Always");
    }
    const auto path = FindExecutable(exec.command);
    if (!path) {
      return base::NotFound("exec plugin " + name + " not found" +
                            (exec.command.find('/') == std::string::npos ? " on PATH" : "") + hint);
    }
    std::vector<std::string> env = ChildEnvironment(exec, ExecInfo(config_));
    ASSIGN_OR_RETURN(PluginOutput run, RunPlugin(*path, exec, env, options_, &state_->exec_runs));
    if (run.timed_out) {
      return base::DeadlineExceeded("exec plugin " + name + " did not finish within " +
                                    base::FormatDuration(options_.exec_timeout) + " and was killed" +
                                    StderrQuote(run.err));
    }
    if (WIFSIGNALED(run.wait_status)) {
      return base::Unavailable("exec plugin " + name + " was killed by signal " +
                               std::to_string(WTERMSIG(run.wait_status)) + StderrQuote(run.err));
    }
    if (WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) != 0) {
      return base::Unavailable("exec plugin " + name + " failed with exit code " +
                               std::to_string(WEXITSTATUS(run.wait_status)) + StderrQuote(run.err));
    }
    if (run.stdout_overflow) {
      return base::ResourceExhausted("exec plugin " + name + " printed more than " +
                                     std::to_string(options_.max_exec_output_bytes) + " bytes on stdout");
    }
    if (!run.err.empty()) {
      LOG_DEBUG << "exec plugin " << name << " wrote on stderr" << StderrQuote(run.err);
    }
    ASSIGN_OR_RETURN(ExecCredentialStatus parsed, ParseExecCredential(run.out, exec));
    state_->exec_creds = std::move(parsed);
  }
  const ExecCredentialStatus& e = *state_->exec_creds;
  c.token = e.token;
  if (!e.cert.empty()) {
    c.client_cert_pem = e.cert;
    c.client_key_pem = e.key;
  }
  c.expires_unix_ms = e.expires_unix_ms;
  return c;
}

void CredentialProvider::Invalidate() {
  std::lock_guard lock(state_->mu);
  state_->file_token.reset();
  state_->exec_creds.reset();
}

int CredentialProvider::exec_runs() const { return state_->exec_runs.load(); }

}  // namespace gpuwise::observe::kube
