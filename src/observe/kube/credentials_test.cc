// Tests for CredentialProvider: token-file rotation on a fake clock, and the exec credential plugin protocol with
// real shell scripts executed from a temp dir (caching, expiry, Invalidate, versions, env, timeouts, errors).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/time_parse.h"
#include "observe/kube/credentials.h"
#include "observe/kube/rest_config.h"

namespace gpuwise::observe::kube {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kV1 = "client.authentication.k8s.io/v1";
constexpr const char* kV1beta1 = "client.authentication.k8s.io/v1beta1";
constexpr const char* kSecret = "s3cr3t";  // every token a plugin prints starts with this
constexpr const char* kCaPem = "-----BEGIN CERTIFICATE-----\nCA-DATA\n-----END CERTIFICATE-----\n";
constexpr const char* kCaB64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBLURBVEEKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gpuwise-credentials-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string P(const std::string& relative) const { return (path_ / relative).string(); }
  std::string Write(const std::string& relative, const std::string& content) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  // An executable /bin/sh script.
  std::string Script(const std::string& relative, const std::string& body) const {
    const std::string p = Write(relative, "#!/bin/sh\n" + body);
    ::chmod(p.c_str(), 0755);
    return p;
  }
  std::string Read(const std::string& relative) const {
    std::ifstream in(path_ / relative, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  int Lines(const std::string& relative) const {
    const std::string s = Read(relative);
    return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
  }

 private:
  fs::path path_;
};

class EnvGuard {
 public:
  EnvGuard(const char* name, const std::string& value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A plugin that counts its runs in dir/count, records what it was given, and prints an ExecCredential whose token
// is "s3cr3t-<run number>". `status_extra` is appended inside status (", \"expirationTimestamp\": ...").
std::string CountingPlugin(const TempDir& dir, const std::string& api_version, const std::string& status_extra = "") {
  return dir.Script("plugin.sh", "echo run >> '" + dir.P("count") + "'\n" +
                                     "n=$(wc -l < '" + dir.P("count") + "' | tr -d ' ')\n" +
                                     "printf '%s' \"$KUBERNETES_EXEC_INFO\" > '" + dir.P("exec_info") + "'\n" +
                                     "printf '%s|%s' \"$PLUGIN_VAR\" \"$GPUWISE_TEST_OVERRIDE\" > '" + dir.P("env") +
                                     "'\n" + "printf '%s\\n' \"$@\" > '" + dir.P("args") + "'\n" + "cat > '" +
                                     dir.P("stdin") + "'\n" +
                                     "cat <<EOF\n{\"apiVersion\": \"" + api_version +
                                     "\", \"kind\": \"ExecCredential\", \"status\": {\"token\": \"" + kSecret +
                                     "-$n\"" + status_extra + "}}\nEOF\n");
}

RestConfig ExecConfigFor(const std::string& command, const std::string& api_version) {
  RestConfig rc;
  rc.server = "https://api.test:6443";
  ExecConfig e;
  e.api_version = api_version;
  e.command = command;
  e.interactive_mode = api_version == kV1 ? "Never" : "";
  rc.exec = e;
  return rc;
}

std::string Expiry(std::int64_t unix_ms) { return ", \"expirationTimestamp\": \"" + base::FormatTime(unix_ms) + "\""; }

TEST(Credentials, StaticTokenAndCertificatePassThrough) {
  base::FakeClock clock;
  RestConfig rc;
  rc.token = "static-token";
  rc.client_cert_pem = "CERT";
  rc.client_key_pem = "KEY";
  CredentialProvider p(rc, clock);
  auto c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "static-token");
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY");
  EXPECT_EQ(c->expires_unix_ms, 0);
  EXPECT_EQ(p.exec_runs(), 0);
}

TEST(Credentials, InClusterTokenFileRotates) {
  TempDir dir;
  dir.Write("sa/token", "first\n");
  dir.Write("sa/ca.crt", kCaPem);
  InClusterOptions o;
  o.service_host = "10.96.0.1";
  o.service_port = "443";
  o.account_dir = dir.P("sa");
  auto rc = InClusterConfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  base::FakeClock clock;
  CredentialProvider p(*rc, clock);
  auto token = [&] {
    auto c = p.Get();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c->token : std::string("<error>");
  };
  EXPECT_EQ(token(), "first");  // trailing newline trimmed

  dir.Write("sa/token", "second");  // the kubelet rotates the projected token
  clock.Advance(30s);
  EXPECT_EQ(token(), "first");  // read at most once a minute
  clock.Advance(31s);
  EXPECT_EQ(token(), "second");

  dir.Write("sa/token", "third");
  p.Invalidate();  // after a 401 the client does not wait for the minute
  EXPECT_EQ(token(), "third");

  // The file briefly missing while it is replaced: the last good token is kept.
  fs::remove(dir.P("sa/token"));
  clock.Advance(61s);
  EXPECT_EQ(token(), "third");
  p.Invalidate();
  auto c = p.Get();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir.P("sa/token")), std::string::npos) << c.status().message();
}

TEST(Credentials, ExecCachedUntilExpiryAndAfterInvalidate) {
  TempDir dir;
  base::FakeClock clock;
  const std::int64_t expiry = clock.NowUnixMillis() + 10 * 60'000;
  CredentialProvider p(ExecConfigFor(CountingPlugin(dir, kV1beta1, Expiry(expiry)), kV1beta1), clock);
  auto c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, std::string(kSecret) + "-1");
  EXPECT_EQ(c->expires_unix_ms, expiry);
  EXPECT_EQ(p.exec_runs(), 1);

  clock.Advance(9min);
  c = p.Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token, std::string(kSecret) + "-1");
  EXPECT_EQ(p.exec_runs(), 1);  // cached

  clock.Advance(61s);  // past expirationTimestamp
  c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, std::string(kSecret) + "-2");
  EXPECT_EQ(p.exec_runs(), 2);

  p.Invalidate();
  c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, std::string(kSecret) + "-3");
  EXPECT_EQ(p.exec_runs(), 3);
  EXPECT_EQ(dir.Lines("count"), 3);  // the script really ran three times
}

TEST(Credentials, ExecWithoutExpiryIsKeptUntilInvalidate) {
  TempDir dir;
  base::FakeClock clock;
  CredentialProvider p(ExecConfigFor(CountingPlugin(dir, kV1beta1), kV1beta1), clock);
  ASSERT_TRUE(p.Get().ok());
  clock.Advance(24h);
  auto c = p.Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->expires_unix_ms, 0);
  EXPECT_EQ(p.exec_runs(), 1);
  p.Invalidate();
  c = p.Get();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token, std::string(kSecret) + "-2");
}

TEST(Credentials, ExecV1AndV1beta1) {
  for (const std::string version : {kV1, kV1beta1}) {
    TempDir dir;
    base::FakeClock clock;
    CredentialProvider p(ExecConfigFor(CountingPlugin(dir, version), version), clock);
    auto c = p.Get();
    ASSERT_TRUE(c.ok()) << version << ": " << c.status().ToString();
    EXPECT_EQ(c->token, std::string(kSecret) + "-1");
    const auto info = nlohmann::json::parse(dir.Read("exec_info"));
    EXPECT_EQ(info["apiVersion"], version);
    EXPECT_EQ(info["kind"], "ExecCredential");
    EXPECT_EQ(info["spec"]["interactive"], false);
  }
  // v1 without interactiveMode is refused before anything runs.
  TempDir dir;
  base::FakeClock clock;
  RestConfig rc = ExecConfigFor(CountingPlugin(dir, kV1), kV1);
  rc.exec->interactive_mode.clear();
  CredentialProvider p(rc, clock);
  auto c = p.Get();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("interactiveMode"), std::string::npos) << c.status().message();
  EXPECT_EQ(p.exec_runs(), 0);
}

TEST(Credentials, ApiVersionMismatchIsAnErrorWithoutTheToken) {
  TempDir dir;
  base::FakeClock clock;
  const std::string script = CountingPlugin(dir, kV1beta1);
  CredentialProvider p(ExecConfigFor(script, kV1), clock);
  auto c = p.Get();
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  EXPECT_NE(m.find(script), std::string::npos) << m;
  EXPECT_NE(m.find(kV1beta1), std::string::npos) << m;
  EXPECT_NE(m.find(std::string("with ") + kV1), std::string::npos) << m;
  EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
}

TEST(Credentials, ExecGetsEnvArgsClusterInfoAndNoStdin) {
  TempDir dir;
  base::FakeClock clock;
  EnvGuard inherited("GPUWISE_TEST_OVERRIDE", "from-parent");
  RestConfig rc = ExecConfigFor(CountingPlugin(dir, kV1), kV1);
  rc.ca_pem = kCaPem;
  rc.tls_server_name = "kubernetes.internal";
  rc.proxy_url = "http://proxy:3128";
  rc.exec->env = {{"PLUGIN_VAR", "hello world"}, {"GPUWISE_TEST_OVERRIDE", "from-kubeconfig"}};
  rc.exec->args = {"get-token", "two words", "--x=$HOME"};  // no shell: passed verbatim
  rc.exec->provide_cluster_info = true;
  rc.exec->cluster_config_json = R"({"audience":"sts"})";
  CredentialProvider p(rc, clock);
  auto c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(dir.Read("env"), "hello world|from-kubeconfig");
  EXPECT_EQ(dir.Read("args"), "get-token\ntwo words\n--x=$HOME\n");
  EXPECT_EQ(dir.Read("stdin"), "");  // /dev/null, never our terminal
  const auto info = nlohmann::json::parse(dir.Read("exec_info"));
  EXPECT_EQ(info["spec"]["interactive"], false);
  const auto& cluster = info["spec"]["cluster"];
  EXPECT_EQ(cluster["server"], "https://api.test:6443");
  EXPECT_EQ(cluster["certificate-authority-data"], kCaB64);
  EXPECT_EQ(cluster["tls-server-name"], "kubernetes.internal");
  EXPECT_EQ(cluster["proxy-url"], "http://proxy:3128");
  EXPECT_FALSE(cluster.contains("insecure-skip-tls-verify"));
  EXPECT_EQ(cluster["config"], (nlohmann::json{{"audience", "sts"}}));

  // Without provideClusterInfo the plugin learns nothing about the cluster; the parent's variables are inherited.
  TempDir dir2;
  RestConfig rc2 = ExecConfigFor(CountingPlugin(dir2, kV1), kV1);
  rc2.ca_pem = kCaPem;
  CredentialProvider p2(rc2, clock);
  ASSERT_TRUE(p2.Get().ok());
  const auto info2 = nlohmann::json::parse(dir2.Read("exec_info"));
  EXPECT_FALSE(info2["spec"].contains("cluster")) << info2.dump();
  EXPECT_EQ(dir2.Read("env"), "|from-parent");
}

TEST(Credentials, FailingPluginErrorNamesTheCommandAndQuotesStderr) {
  TempDir dir;
  base::FakeClock clock;
  const std::string script = dir.Script(
      "fail.sh", std::string("echo '{\"token\": \"") + kSecret + "-in-stdout\"}'\n" +
                     "echo 'error: SSO session expired; run aws sso login' >&2\nexit 3\n");
  CredentialProvider p(ExecConfigFor(script, kV1beta1), clock);
  auto c = p.Get();
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  EXPECT_NE(m.find(script), std::string::npos) << m;
  EXPECT_NE(m.find("exit code 3"), std::string::npos) << m;
  EXPECT_NE(m.find("run aws sso login"), std::string::npos) << m;
  EXPECT_EQ(m.find(kSecret), std::string::npos) << m;
  EXPECT_EQ(p.exec_runs(), 1);

  // A flood on stderr is quoted only in part.
  const std::string noisy = dir.Script("noisy.sh", "i=0\nwhile [ $i -lt 200 ]; do echo 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' >&2; i=$((i+1)); done\nexit 1\n");
  CredentialProvider q(ExecConfigFor(noisy, kV1beta1), clock);
  c = q.Get();
  ASSERT_FALSE(c.ok());
  EXPECT_LT(c.status().message().size(), 1500u);
  EXPECT_NE(c.status().message().find("truncated"), std::string::npos);
}

TEST(Credentials, SlowPluginIsKilledWithItsChildren) {
  TempDir dir;
  base::FakeClock clock;
  // The background child would write `late` after a second if it survived the kill.
  const std::string script =
      dir.Script("slow.sh", "(sleep 1; echo late > '" + dir.P("late") + "') &\necho 'waiting for browser login' >&2\nsleep 10\n");
  CredentialOptions options;
  options.exec_timeout = 300ms;
  CredentialProvider p(ExecConfigFor(script, kV1beta1), clock, options);
  base::Clock& real = base::SystemClock::Get();
  const std::int64_t start = real.MonotonicNanos();
  auto c = p.Get();
  const std::int64_t elapsed_ms = (real.MonotonicNanos() - start) / 1'000'000;
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kDeadlineExceeded);
  EXPECT_NE(c.status().message().find(script), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("300ms"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("waiting for browser login"), std::string::npos) << c.status().message();
  EXPECT_GE(elapsed_ms, 250);
  EXPECT_LT(elapsed_ms, 5000);
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(fs::exists(dir.P("late"))) << "the plugin's child outlived the timeout";
}

TEST(Credentials, InteractiveAlwaysFailsWithTheInstallHint) {
  TempDir dir;
  base::FakeClock clock;
  RestConfig rc = ExecConfigFor(CountingPlugin(dir, kV1), kV1);
  rc.exec->interactive_mode = "Always";
  rc.exec->install_hint = "Install kubelogin: https://example.invalid/kubelogin";
  CredentialProvider p(rc, clock);
  auto c = p.Get();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("Install kubelogin"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("interactive"), std::string::npos) << c.status().message();
  EXPECT_EQ(p.exec_runs(), 0);
  EXPECT_FALSE(fs::exists(dir.P("count")));
}

TEST(Credentials, PluginLookedUpOnPath) {
  TempDir dir;
  base::FakeClock clock;
  CountingPlugin(dir, kV1beta1);
  fs::create_directories(dir.P("bin"));
  fs::rename(dir.P("plugin.sh"), dir.P("bin/gpuwise-test-plugin"));
  const char* old_path = ::getenv("PATH");
  EnvGuard path("PATH", dir.P("bin") + ":" + (old_path != nullptr ? old_path : "/usr/bin:/bin"));
  CredentialProvider p(ExecConfigFor("gpuwise-test-plugin", kV1beta1), clock);
  auto c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, std::string(kSecret) + "-1");

  RestConfig missing = ExecConfigFor("gpuwise-no-such-plugin", kV1beta1);
  missing.exec->install_hint = "brew install gpuwise-no-such-plugin";
  CredentialProvider q(missing, clock);
  c = q.Get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), base::Code::kNotFound);
  EXPECT_NE(c.status().message().find("\"gpuwise-no-such-plugin\""), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("PATH"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("brew install"), std::string::npos) << c.status().message();
}

TEST(Credentials, BadOutputIsAnErrorThatNeverContainsTheToken) {
  const std::string secret_json = std::string("\"") + kSecret + "-abc\"";
  const std::string beta = kV1beta1;
  const std::string outputs[] = {
      std::string(kSecret) + "-raw-token-not-json",
      "{\"apiVersion\": \"" + beta + "\", \"kind\": \"ExecCredential\"}",
      "{\"apiVersion\": \"" + beta + "\", \"kind\": \"Secret\", \"status\": {\"token\": " + secret_json + "}}",
      "{\"apiVersion\": \"" + beta + "\", \"kind\": \"ExecCredential\", \"status\": {\"clientCertificateData\": " +
          secret_json + "}}",
      "{\"apiVersion\": \"" + beta + "\", \"kind\": \"ExecCredential\", \"status\": {\"token\": " + secret_json +
          ", \"expirationTimestamp\": \"tomorrow\"}}",
      "{\"apiVersion\": \"" + beta + "\", \"kind\": \"ExecCredential\", \"status\": {\"token\": 42}}",
      "{\"apiVersion\": \"" + beta + "\", \"kind\": \"ExecCredential\", \"status\": {}}",
      "[" + secret_json + "]",
  };
  for (const auto& out : outputs) {
    TempDir dir;
    base::FakeClock clock;
    const std::string script = dir.Script("bad.sh", "cat <<'EOF'\n" + out + "\nEOF\n");
    CredentialProvider p(ExecConfigFor(script, kV1beta1), clock);
    auto c = p.Get();
    ASSERT_FALSE(c.ok()) << out;
    EXPECT_NE(c.status().message().find(script), std::string::npos) << c.status().message();
    EXPECT_EQ(c.status().message().find(kSecret), std::string::npos) << c.status().message();
  }
}

TEST(Credentials, PluginCertificateAndKey) {
  TempDir dir;
  base::FakeClock clock;
  const std::string script = dir.Script(
      "cert.sh", std::string("cat <<'EOF'\n{\"apiVersion\": \"") + kV1 +
                     "\", \"kind\": \"ExecCredential\", \"status\": {\"clientCertificateData\": \"CERT-PEM\\n\", "
                     "\"clientKeyData\": \"KEY-PEM\\n\"}}\nEOF\n");
  RestConfig rc = ExecConfigFor(script, kV1);
  CredentialProvider p(rc, clock);
  auto c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->client_cert_pem, "CERT-PEM\n");
  EXPECT_EQ(c->client_key_pem, "KEY-PEM\n");
  EXPECT_TRUE(c->token.empty());
}

TEST(Credentials, StaticCredentialsInTheConfigSkipThePlugin) {
  TempDir dir;
  base::FakeClock clock;
  RestConfig rc = ExecConfigFor(CountingPlugin(dir, kV1beta1), kV1beta1);
  rc.token = "static";
  CredentialProvider p(rc, clock);
  auto c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, "static");
  EXPECT_EQ(p.exec_runs(), 0);
}

TEST(Credentials, ConcurrentGetsRunThePluginOnce) {
  TempDir dir;
  base::FakeClock clock;
  const std::string script = dir.Script(
      "slowish.sh", "echo run >> '" + dir.P("count") + "'\nsleep 0.3\ncat <<'EOF'\n{\"apiVersion\": \"" +
                        std::string(kV1beta1) + "\", \"kind\": \"ExecCredential\", \"status\": {\"token\": \"" +
                        kSecret + "-shared\"}}\nEOF\n");
  CredentialProvider p(ExecConfigFor(script, kV1beta1), clock);
  std::vector<std::thread> threads;
  std::vector<std::string> tokens(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&p, &tokens, i] {
      auto c = p.Get();
      tokens[static_cast<std::size_t>(i)] = c.ok() ? c->token : c.status().ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& t : tokens) EXPECT_EQ(t, std::string(kSecret) + "-shared");
  EXPECT_EQ(p.exec_runs(), 1);
  EXPECT_EQ(dir.Lines("count"), 1);
}

TEST(Credentials, KubeconfigExecEndToEnd) {
  TempDir dir;
  base::FakeClock clock;
  CountingPlugin(dir, kV1);
  fs::create_directories(dir.P("kube/bin"));
  fs::rename(dir.P("plugin.sh"), dir.P("kube/bin/token.sh"));
  const std::string file = dir.Write("kube/config", std::string(R"(clusters:
- name: c
  cluster:
    server: https://api.example/
    certificate-authority-data: )") + kCaB64 + R"(
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: bin/token.sh
      interactiveMode: IfAvailable
      provideClusterInfo: true
      env:
      - {name: PLUGIN_VAR, value: from-kubeconfig}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
)");
  KubeconfigOptions o;
  o.path = file;
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  CredentialProvider p(*rc, clock);
  auto c = p.Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->token, std::string(kSecret) + "-1");
  EXPECT_EQ(dir.Read("env").substr(0, 16), "from-kubeconfig|");
  const auto info = nlohmann::json::parse(dir.Read("exec_info"));
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://api.example");
  EXPECT_EQ(info["spec"]["cluster"]["certificate-authority-data"], kCaB64);
}

}  // namespace
}  // namespace gpuwise::observe::kube
