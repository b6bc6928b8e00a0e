// Tests for the kubeconfig and in-cluster loaders: real files in a temp dir, kubectl's merge and precedence rules,
// and the error messages a user gets for each kind of broken kubeconfig.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "observe/kube/rest_config.h"

namespace gpuwise::observe::kube {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCaPem = "-----BEGIN CERTIFICATE-----\nCA-DATA\n-----END CERTIFICATE-----\n";
constexpr const char* kCaB64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBLURBVEEKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
constexpr const char* kCertPem = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
constexpr const char* kCertB64 = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNMSUVOVAotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";
constexpr const char* kKeyPem = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";
constexpr const char* kKeyB64 = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCktFWQotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg==";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gpuwise-kubeconfig-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  // Writes dir/relative (creating parent directories) and returns its path.
  std::string Write(const std::string& relative, const std::string& content) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }

 private:
  fs::path path_;
};

// Sets (or unsets, with nullopt) an environment variable for the life of the guard.
class EnvGuard {
 public:
  EnvGuard(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
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

KubeconfigOptions FromPath(const std::string& path) {
  KubeconfigOptions o;
  o.path = path;
  return o;
}

// One cluster, one user, one context: the shape most tests start from.
std::string Simple(const std::string& cluster_body, const std::string& user_body, const std::string& extra = "") {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n" + cluster_body +
         "users:\n- name: u1\n  user:\n" + user_body +
         "contexts:\n- name: ctx\n  context:\n    cluster: c1\n    user: u1\ncurrent-context: ctx\n" + extra;
}

TEST(Kubeconfig, ReadsEveryClusterAndUserField) {
  TempDir dir;
  const std::string file = dir.Write("config", std::string(R"(apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://api.prod.example:6443/
    certificate-authority-data: )") + kCaB64 + R"(
    tls-server-name: kubernetes.internal
    proxy-url: http://proxy.corp:3128
users:
- name: admin
  user:
    client-certificate-data: )" + kCertB64 + R"(
    client-key-data: )" + kKeyB64 + R"(
contexts:
- name: prod-admin
  context:
    cluster: prod
    user: admin
    namespace: ml-serving
current-context: prod-admin
)");
  auto rc = LoadKubeconfig(FromPath(file));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://api.prod.example:6443");  // trailing slash stripped
  EXPECT_EQ(rc->context, "prod-admin");
  EXPECT_EQ(rc->cluster_name, "prod");
  EXPECT_EQ(rc->user_name, "admin");
  EXPECT_EQ(rc->namespace_name, "ml-serving");
  EXPECT_EQ(rc->ca_pem, kCaPem);
  EXPECT_FALSE(rc->insecure_skip_tls_verify);
  EXPECT_EQ(rc->tls_server_name, "kubernetes.internal");
  EXPECT_EQ(rc->proxy_url, "http://proxy.corp:3128");
  EXPECT_EQ(rc->client_cert_pem, kCertPem);
  EXPECT_EQ(rc->client_key_pem, kKeyPem);
  EXPECT_TRUE(rc->token.empty());
  EXPECT_FALSE(rc->exec.has_value());
  EXPECT_NE(rc->source.find(file), std::string::npos);
  EXPECT_NE(rc->source.find("prod-admin"), std::string::npos);
  EXPECT_TRUE(rc->warnings.empty());
}

TEST(Kubeconfig, TokenBasicAuthInsecureAndDefaults) {
  TempDir dir;
  auto rc = LoadKubeconfig(FromPath(dir.Write(
      "config", Simple("    server: 10.0.0.1:6443\n    insecure-skip-tls-verify: true\n", "    token: abc.def\n"))));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://10.0.0.1:6443");  // no scheme: https, never plain http
  EXPECT_TRUE(rc->insecure_skip_tls_verify);
  EXPECT_EQ(rc->token, "abc.def");
  EXPECT_EQ(rc->namespace_name, "default");
  EXPECT_TRUE(rc->ca_pem.empty());

  auto basic = LoadKubeconfig(FromPath(dir.Write(
      "basic", Simple("    server: http://127.0.0.1:8001\n", "    username: alice\n    password: pw\n"))));
  ASSERT_TRUE(basic.ok()) << basic.status().ToString();
  EXPECT_EQ(basic->server, "http://127.0.0.1:8001");
  EXPECT_EQ(basic->username, "alice");
  EXPECT_EQ(basic->password, "pw");
}

TEST(Kubeconfig, MergedFilesFirstDefinitionWins) {
  TempDir dir;
  // a: its own context and current-context, and a cluster both files define.
  const std::string a = dir.Write("a.yaml", R"(clusters:
- name: shared
  cluster: {server: "https://from-a"}
users:
- name: ua
  user: {token: token-a}
contexts:
- name: ctx-a
  context: {cluster: shared, user: ua}
current-context: ctx-a
)");
  // b: the same cluster name with another server, a user, and a context that uses a's user.
  const std::string b = dir.Write("b.yaml", R"(clusters:
- name: shared
  cluster: {server: "https://from-b"}
- name: only-b
  cluster: {server: "https://only-b"}
users:
- name: ua
  user: {token: token-b}
contexts:
- name: ctx-b
  context: {cluster: only-b, user: ua, namespace: team-b}
- name: ctx-a
  context: {cluster: only-b, user: ua}
current-context: ctx-b
)");
  const std::string missing = (dir.path() / "missing.yaml").string();

  KubeconfigOptions ab;
  ab.kubeconfig_env = a + ":" + missing + ":" + b;  // the missing file is skipped
  auto rc = LoadKubeconfig(ab);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->context, "ctx-a");             // a's current-context
  EXPECT_EQ(rc->server, "https://from-a");     // a's "shared" and a's ctx-a
  EXPECT_EQ(rc->token, "token-a");
  EXPECT_NE(rc->source.find(a + ":" + b), std::string::npos) << rc->source;

  // A context from b resolves a user that both define: a's (first) wins.
  ab.context = "ctx-b";
  rc = LoadKubeconfig(ab);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://only-b");
  EXPECT_EQ(rc->namespace_name, "team-b");
  EXPECT_EQ(rc->token, "token-a");

  KubeconfigOptions ba;
  ba.kubeconfig_env = b + ":" + a;
  rc = LoadKubeconfig(ba);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->context, "ctx-b");
  EXPECT_EQ(rc->token, "token-b");
  ba.context = "ctx-a";  // b's ctx-a now wins over a's
  rc = LoadKubeconfig(ba);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://only-b");
}

TEST(Kubeconfig, CurrentContextFromALaterFileWhenTheFirstSetsNone) {
  TempDir dir;
  const std::string a = dir.Write("a", "clusters:\n- name: c\n  cluster: {server: https://a}\n");
  const std::string b = dir.Write("b", R"(users:
- name: u
  user: {token: t}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
)");
  KubeconfigOptions o;
  o.kubeconfig_env = a + ":" + b;
  auto rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->context, "x");
  EXPECT_EQ(rc->server, "https://a");
}

TEST(Kubeconfig, WhichFilesAreRead) {
  TempDir dir;
  const std::string good = dir.Write("good", Simple("    server: https://good\n", "    token: t\n"));
  const std::string home_config = dir.Write("home/.kube/config", Simple("    server: https://home\n", "    token: t\n"));

  // All of KUBECONFIG missing: an error naming each.
  KubeconfigOptions o;
  o.kubeconfig_env = (dir.path() / "x1").string() + ":" + (dir.path() / "x2").string();
  o.home = (dir.path() / "home").string();
  auto rc = LoadKubeconfig(o);
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("x1"), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("x2"), std::string::npos) << rc.status().message();

  // --kubeconfig overrides KUBECONFIG, and must exist.
  o.kubeconfig_env = good;
  o.path = (dir.path() / "nope").string();
  rc = LoadKubeconfig(o);
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find(o.path), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("--kubeconfig"), std::string::npos);

  o.path = home_config;
  rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://home");

  // KUBECONFIG wins over ~/.kube/config.
  o.path.clear();
  rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://good");

  // Neither: ~/.kube/config.
  o.kubeconfig_env.clear();
  rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://home");

  o.home = (dir.path() / "empty-home").string();
  rc = LoadKubeconfig(o);
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("empty-home/.kube/config"), std::string::npos) << rc.status().message();
}

TEST(Kubeconfig, ContextErrorsNameTheContextAndListTheOthers) {
  TempDir dir;
  const std::string file = dir.Write("config", R"(clusters:
- name: c
  cluster: {server: https://c}
users:
- name: u
  user: {token: t}
contexts:
- name: alpha
  context: {cluster: c, user: u}
- name: beta
  context: {cluster: c, user: u}
- name: no-cluster
  context: {cluster: ghost, user: u}
- name: no-user
  context: {cluster: c, user: phantom}
)");
  auto rc = LoadKubeconfig(FromPath(file));  // no current-context
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("current-context"), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("alpha, beta"), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find(file), std::string::npos);

  KubeconfigOptions o = FromPath(file);
  o.context = "gamma";
  rc = LoadKubeconfig(o);
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.status().code(), base::Code::kNotFound);
  EXPECT_NE(rc.status().message().find("\"gamma\""), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("alpha, beta"), std::string::npos) << rc.status().message();

  o.context = "no-cluster";
  rc = LoadKubeconfig(o);
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("\"no-cluster\""), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("cluster \"ghost\""), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find(file + " line 12"), std::string::npos) << rc.status().message();

  o.context = "no-user";
  rc = LoadKubeconfig(o);
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("user \"phantom\""), std::string::npos) << rc.status().message();

  o.context = "beta";
  rc = LoadKubeconfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->context, "beta");
}

TEST(Kubeconfig, ClusterWithoutServer) {
  TempDir dir;
  const std::string file = dir.Write("config", Simple("    insecure-skip-tls-verify: true\n", "    token: t\n"));
  auto rc = LoadKubeconfig(FromPath(file));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("cluster \"c1\""), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("no server"), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find(file), std::string::npos);
}

// A scheme with no host (found by kubeconfig_fuzz: "https:// " trimmed by YAML to "https://") is an error naming the
// file, not an address "https:".
TEST(Kubeconfig, ServerWithoutHost) {
  TempDir dir;
  for (const char* server : {"https://", "'https:// '", "http:///api", "'https://a b'"}) {
    const std::string file = dir.Write("config", Simple(std::string("    server: ") + server + "\n", "    token: t\n"));
    auto rc = LoadKubeconfig(FromPath(file));
    ASSERT_FALSE(rc.ok()) << server << " -> " << rc->server;
    EXPECT_NE(rc.status().message().find("has no host"), std::string::npos) << rc.status().message();
    EXPECT_NE(rc.status().message().find(file), std::string::npos);
  }
  const std::string ok = dir.Write("config", Simple("    server: https://10.0.0.1:6443/\n", "    token: t\n"));
  auto rc = LoadKubeconfig(FromPath(ok));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://10.0.0.1:6443");
}

TEST(Kubeconfig, RelativePathsResolveAgainstTheFilesDirectory) {
  TempDir dir;
  dir.Write("kube/certs/ca.crt", kCaPem);
  dir.Write("kube/certs/client.crt", kCertPem);
  dir.Write("kube/certs/client.key", kKeyPem);
  dir.Write("kube/token", "file-token\n");
  const std::string file = dir.Write(
      "kube/config", Simple("    server: https://x\n    certificate-authority: certs/ca.crt\n",
                            "    client-certificate: certs/client.crt\n    client-key: ./certs/client.key\n"
                            "    tokenFile: token\n"));
  ASSERT_NE(fs::current_path(), dir.path() / "kube");  // relative to the file, not to the working directory
  auto rc = LoadKubeconfig(FromPath(file));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->ca_pem, kCaPem);
  EXPECT_EQ(rc->client_cert_pem, kCertPem);
  EXPECT_EQ(rc->client_key_pem, kKeyPem);
  EXPECT_EQ(rc->token_file, (dir.path() / "kube" / "token").string());

  // The exec command: a path with a separator is relative to the file; a bare name stays for the PATH lookup.
  const std::string exec_file = dir.Write("kube/exec", Simple("    server: https://x\n", R"(    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: bin/get-token
)"));
  rc = LoadKubeconfig(FromPath(exec_file));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  ASSERT_TRUE(rc->exec.has_value());
  EXPECT_EQ(rc->exec->command, (dir.path() / "kube" / "bin" / "get-token").string());
  const std::string bare = dir.Write("kube/bare", Simple("    server: https://x\n", R"(    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
)"));
  rc = LoadKubeconfig(FromPath(bare));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->exec->command, "aws");
}

TEST(Kubeconfig, CertificateAuthorityDataOrFileButNotBoth) {
  TempDir dir;
  dir.Write("ca.crt", "FILE-CA");
  auto from_file = LoadKubeconfig(
      FromPath(dir.Write("f", Simple("    server: https://x\n    certificate-authority: ca.crt\n", "    token: t\n"))));
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->ca_pem, "FILE-CA");

  auto from_data = LoadKubeconfig(FromPath(dir.Write(
      "d", Simple(std::string("    server: https://x\n    certificate-authority-data: ") + kCaB64 + "\n", "    token: t\n"))));
  ASSERT_TRUE(from_data.ok()) << from_data.status().ToString();
  EXPECT_EQ(from_data->ca_pem, kCaPem);

  auto both = LoadKubeconfig(FromPath(dir.Write(
      "b", Simple(std::string("    server: https://x\n    certificate-authority: ca.crt\n"
                              "    certificate-authority-data: ") + kCaB64 + "\n", "    token: t\n"))));
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("cluster \"c1\""), std::string::npos) << both.status().message();

  const std::string missing_ca = dir.Write("m", Simple("    server: https://x\n    certificate-authority: nope.crt\n", "    token: t\n"));
  auto missing = LoadKubeconfig(FromPath(missing_ca));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find((dir.path() / "nope.crt").string()), std::string::npos)
      << missing.status().message();
  EXPECT_NE(missing.status().message().find("No such file"), std::string::npos) << missing.status().message();

  // kubectl refuses to skip verification while also pinning a CA.
  auto insecure_with_ca = LoadKubeconfig(FromPath(dir.Write(
      "i", Simple(std::string("    server: https://x\n    insecure-skip-tls-verify: true\n"
                              "    certificate-authority-data: ") + kCaB64 + "\n", "    token: t\n"))));
  ASSERT_FALSE(insecure_with_ca.ok());
  EXPECT_NE(insecure_with_ca.status().message().find("insecure-skip-tls-verify"), std::string::npos);
}

TEST(Kubeconfig, Base64DecodingAndErrors) {
  TempDir dir;
  struct Case {
    std::string data;
    std::optional<std::string> decoded;  // nullopt: must be rejected
  };
  const Case cases[] = {
      {"YQ==", "a"},   {"YWI=", "ab"},        {"YWJj", "abc"}, {"\"YW\\nJj\"", "abc"},  // line breaks ignored
      {"YWJ", std::nullopt}, {"YW!j", std::nullopt}, {"Y=Jj", std::nullopt}, {"YWJjZA===", std::nullopt},
  };
  for (const auto& c : cases) {
    auto rc = LoadKubeconfig(FromPath(dir.Write(
        "config", Simple("    server: https://x\n    certificate-authority-data: " + c.data + "\n", "    token: t\n"))));
    if (c.decoded) {
      ASSERT_TRUE(rc.ok()) << c.data << ": " << rc.status().ToString();
      EXPECT_EQ(rc->ca_pem, *c.decoded) << c.data;
    } else {
      ASSERT_FALSE(rc.ok()) << c.data;
      EXPECT_NE(rc.status().message().find("certificate-authority-data"), std::string::npos) << rc.status().message();
      EXPECT_NE(rc.status().message().find("base64"), std::string::npos) << rc.status().message();
    }
  }
  // A bad key names the file, line and user, and does not echo the key material.
  const std::string file =
      dir.Write("key", Simple("    server: https://x\n",
                              std::string("    client-certificate-data: ") + kCertB64 +
                                  "\n    client-key-data: SECRETKEYMATERIAL!!\n"));
  auto rc = LoadKubeconfig(FromPath(file));
  ASSERT_FALSE(rc.ok());
  const std::string& m = rc.status().message();
  EXPECT_NE(m.find(file + " line 11"), std::string::npos) << m;
  EXPECT_NE(m.find("user \"u1\""), std::string::npos) << m;
  EXPECT_NE(m.find("client-key-data"), std::string::npos) << m;
  EXPECT_NE(m.find("offset 17"), std::string::npos) << m;
  EXPECT_EQ(m.find("SECRETKEYMATERIAL"), std::string::npos) << m;
}

TEST(Kubeconfig, MalformedYamlGivesTheLine) {
  TempDir dir;
  const std::string file = dir.Write("config", "clusters:\n- name: c\n  cluster:\n    server: [unclosed\n");
  auto rc = LoadKubeconfig(FromPath(file));
  ASSERT_FALSE(rc.ok());
  EXPECT_EQ(rc.status().code(), base::Code::kInvalidArgument);
  EXPECT_NE(rc.status().message().find(file + " line "), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("malformed YAML"), std::string::npos) << rc.status().message();

  // Malformed anywhere in the KUBECONFIG chain fails the load, as in kubectl.
  const std::string good = dir.Write("good", Simple("    server: https://x\n", "    token: t\n"));
  KubeconfigOptions o;
  o.kubeconfig_env = good + ":" + file;
  EXPECT_FALSE(LoadKubeconfig(o).ok());

  // Wrong shapes are errors with a line, not crashes.
  for (const std::string& text : {std::string("- just\n- a list\n"), std::string("clusters: {a: b}\n"),
                                 std::string("clusters:\n- name: c\n  cluster: [1, 2]\n"),
                                 std::string("clusters:\n- cluster: {server: x}\n"),
                                 Simple("    server: https://x\n    insecure-skip-tls-verify: maybe\n", "    token: t\n"),
                                 Simple("    server: {a: b}\n", "    token: t\n")}) {
    auto bad = LoadKubeconfig(FromPath(dir.Write("shape", text)));
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.status().message().find(" line "), std::string::npos) << bad.status().message();
  }
  // An empty file defines nothing (kubectl accepts it), so the error is about the missing context.
  auto empty = LoadKubeconfig(FromPath(dir.Write("empty", "")));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("current-context"), std::string::npos) << empty.status().message();
}

TEST(Kubeconfig, DuplicateNameInOneFileIsAnError) {
  TempDir dir;
  const std::string file = dir.Write("config", R"(clusters:
- name: c
  cluster: {server: https://one}
- name: c
  cluster: {server: https://two}
)");
  auto rc = LoadKubeconfig(FromPath(file));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("defined twice"), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("line 4"), std::string::npos) << rc.status().message();
}

TEST(Kubeconfig, ProxyUrlMustBeHttpHttpsOrSocks5) {
  TempDir dir;
  for (const std::string ok : {"http://p:3128", "https://p", "socks5://127.0.0.1:1080"}) {
    auto rc = LoadKubeconfig(FromPath(dir.Write("c", Simple("    server: https://x\n    proxy-url: " + ok + "\n", "    token: t\n"))));
    ASSERT_TRUE(rc.ok()) << rc.status().ToString();
    EXPECT_EQ(rc->proxy_url, ok);
  }
  auto rc = LoadKubeconfig(FromPath(dir.Write("c", Simple("    server: https://x\n    proxy-url: ftp://p\n", "    token: t\n"))));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("proxy-url"), std::string::npos) << rc.status().message();
}

TEST(Kubeconfig, UserEntryChecks) {
  TempDir dir;
  // Two authentication methods.
  auto rc = LoadKubeconfig(FromPath(dir.Write("a", Simple("    server: https://x\n", "    token: t\n    username: u\n"))));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("only one authentication method"), std::string::npos) << rc.status().message();
  // A certificate without a key.
  rc = LoadKubeconfig(FromPath(dir.Write(
      "b", Simple("    server: https://x\n", std::string("    client-certificate-data: ") + kCertB64 + "\n"))));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("client-key"), std::string::npos) << rc.status().message();
  // An unreadable certificate file names the file and the user.
  const std::string missing = (dir.path() / "gone.crt").string();
  rc = LoadKubeconfig(FromPath(
      dir.Write("c", Simple("    server: https://x\n", "    client-certificate: gone.crt\n    client-key: gone.key\n"))));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find(missing), std::string::npos) << rc.status().message();
  EXPECT_NE(rc.status().message().find("user \"u1\""), std::string::npos) << rc.status().message();
  // A tokenFile that is not there fails now, not on the first request.
  rc = LoadKubeconfig(FromPath(dir.Write("d", Simple("    server: https://x\n", "    tokenFile: no-token\n"))));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("tokenFile"), std::string::npos) << rc.status().message();
  // A namespace that cannot exist.
  rc = LoadKubeconfig(FromPath(dir.Write(
      "e", "clusters:\n- name: c\n  cluster: {server: https://x}\nusers:\n- name: u\n  user: {}\n"
           "contexts:\n- name: x\n  context: {cluster: c, user: u, namespace: Bad_NS}\ncurrent-context: x\n")));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("Bad_NS"), std::string::npos) << rc.status().message();
}

TEST(Kubeconfig, LegacyAuthProviderAndImpersonationAreWarnings) {
  TempDir dir;
  auto rc = LoadKubeconfig(FromPath(dir.Write("c", Simple("    server: https://x\n", R"(    auth-provider:
      name: gcp
      config: {access-token: x}
    as: someone-else
)"))));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  ASSERT_EQ(rc->warnings.size(), 2u);
  EXPECT_NE(rc->warnings[0].find("\"gcp\""), std::string::npos) << rc->warnings[0];
  EXPECT_NE(rc->warnings[0].find("exec"), std::string::npos) << rc->warnings[0];
  EXPECT_NE(rc->warnings[1].find("impersonate"), std::string::npos) << rc->warnings[1];
  EXPECT_TRUE(rc->token.empty());
}

TEST(Kubeconfig, ExecEntry) {
  TempDir dir;
  const std::string file = dir.Write("config", R"(clusters:
- name: eks
  cluster:
    server: https://eks.example
    extensions:
    - name: client.authentication.k8s.io/exec
      extension:
        audience: sts
        retries: 3
        verbose: true
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      args: [eks, get-token, --cluster-name, "my cluster"]
      env:
      - name: AWS_PROFILE
        value: prod
      installHint: install the AWS CLI
      provideClusterInfo: true
      interactiveMode: Never
contexts:
- name: x
  context: {cluster: eks, user: u}
current-context: x
)");
  auto rc = LoadKubeconfig(FromPath(file));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  ASSERT_TRUE(rc->exec.has_value());
  const ExecConfig& e = *rc->exec;
  EXPECT_EQ(e.api_version, "client.authentication.k8s.io/v1");
  EXPECT_EQ(e.command, "aws");
  EXPECT_EQ(e.args, (std::vector<std::string>{"eks", "get-token", "--cluster-name", "my cluster"}));
  ASSERT_EQ(e.env.size(), 1u);
  EXPECT_EQ(e.env[0], (std::pair<std::string, std::string>{"AWS_PROFILE", "prod"}));
  EXPECT_EQ(e.install_hint, "install the AWS CLI");
  EXPECT_TRUE(e.provide_cluster_info);
  EXPECT_EQ(e.interactive_mode, "Never");
  const auto ext = nlohmann::json::parse(e.cluster_config_json);
  EXPECT_EQ(ext, (nlohmann::json{{"audience", "sts"}, {"retries", 3}, {"verbose", true}}));

  // v1beta1 defaults interactiveMode to IfAvailable; v1 makes it mandatory.
  const std::string beta = Simple("    server: https://x\n", "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                                              "      command: p\n");
  rc = LoadKubeconfig(FromPath(dir.Write("beta", beta)));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->exec->interactive_mode, "IfAvailable");
  const std::string v1 = Simple("    server: https://x\n", "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                                                            "      command: p\n");
  rc = LoadKubeconfig(FromPath(dir.Write("v1", v1)));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("interactiveMode"), std::string::npos) << rc.status().message();
  const std::string alpha = Simple("    server: https://x\n", "    exec:\n      apiVersion: client.authentication.k8s.io/v1alpha1\n"
                                                               "      command: p\n");
  rc = LoadKubeconfig(FromPath(dir.Write("alpha", alpha)));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("v1alpha1"), std::string::npos) << rc.status().message();
  const std::string no_command = Simple("    server: https://x\n", "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n");
  rc = LoadKubeconfig(FromPath(dir.Write("nocmd", no_command)));
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("command"), std::string::npos) << rc.status().message();

  // Credentials in the entry itself win and the plugin is not used (client-go), with a warning saying so.
  const std::string both = Simple("    server: https://x\n", "    token: static\n    exec:\n"
                                                              "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                                                              "      command: p\n");
  rc = LoadKubeconfig(FromPath(dir.Write("both", both)));
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_FALSE(rc->exec.has_value());
  EXPECT_EQ(rc->token, "static");
  ASSERT_EQ(rc->warnings.size(), 1u);
  EXPECT_NE(rc->warnings[0].find("\"p\""), std::string::npos) << rc->warnings[0];
}

TEST(InCluster, ReadsTheServiceAccountDirectory) {
  TempDir dir;
  dir.Write("sa/token", "sa-token\n");
  dir.Write("sa/ca.crt", kCaPem);
  dir.Write("sa/namespace", "gpu-system\n");
  InClusterOptions o;
  o.service_host = "10.96.0.1";
  o.service_port = "443";
  o.account_dir = (dir.path() / "sa").string();
  auto rc = InClusterConfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://10.96.0.1:443");
  EXPECT_EQ(rc->ca_pem, kCaPem);
  EXPECT_EQ(rc->namespace_name, "gpu-system");
  EXPECT_EQ(rc->token_file, (dir.path() / "sa" / "token").string());
  EXPECT_TRUE(rc->token.empty());  // read on use, so rotation is seen
  EXPECT_TRUE(rc->warnings.empty());
  EXPECT_NE(rc->source.find("in-cluster"), std::string::npos);

  o.service_host = "fd00:10:96::1";  // IPv6 service address
  o.pod_namespace = "from-env";
  rc = InClusterConfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_EQ(rc->server, "https://[fd00:10:96::1]:443");
  EXPECT_EQ(rc->namespace_name, "from-env");

  // No CA file: a warning (system roots), as client-go logs; no namespace file: "default".
  fs::remove(dir.path() / "sa" / "ca.crt");
  fs::remove(dir.path() / "sa" / "namespace");
  o.pod_namespace.clear();
  rc = InClusterConfig(o);
  ASSERT_TRUE(rc.ok()) << rc.status().ToString();
  EXPECT_TRUE(rc->ca_pem.empty());
  ASSERT_EQ(rc->warnings.size(), 1u);
  EXPECT_NE(rc->warnings[0].find("ca.crt"), std::string::npos);
  EXPECT_EQ(rc->namespace_name, "default");

  fs::remove(dir.path() / "sa" / "token");
  rc = InClusterConfig(o);
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find((dir.path() / "sa" / "token").string()), std::string::npos);

  o.service_port.clear();
  rc = InClusterConfig(o);
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("KUBERNETES_SERVICE_PORT"), std::string::npos);
}

TEST(ResolveRestConfig, KubeconfigThenInClusterThenAnErrorSayingWhatWasTried) {
  TempDir dir;
  const std::string file = dir.Write("config", Simple("    server: https://from-kubeconfig\n", "    token: t\n"));
  dir.Write("home/.kube/config", Simple("    server: https://from-home\n", "    token: t\n"));
  fs::create_directories(dir.path() / "empty-home");

  {  // KUBECONFIG from the environment wins over in-cluster.
    EnvGuard k("KUBECONFIG", file), h("HOME", (dir.path() / "home").string());
    EnvGuard s("KUBERNETES_SERVICE_HOST", "10.0.0.1"), p("KUBERNETES_SERVICE_PORT", "443");
    auto rc = ResolveRestConfig({});
    ASSERT_TRUE(rc.ok()) << rc.status().ToString();
    EXPECT_EQ(rc->server, "https://from-kubeconfig");
  }
  {  // HOME's ~/.kube/config when KUBECONFIG is unset.
    EnvGuard k("KUBECONFIG", std::nullopt), h("HOME", (dir.path() / "home").string());
    auto rc = ResolveRestConfig({});
    ASSERT_TRUE(rc.ok()) << rc.status().ToString();
    EXPECT_EQ(rc->server, "https://from-home");
  }
  {  // Nothing at all: the error lists each place looked at.
    EnvGuard k("KUBECONFIG", std::nullopt), h("HOME", (dir.path() / "empty-home").string());
    EnvGuard s("KUBERNETES_SERVICE_HOST", std::nullopt);
    auto rc = ResolveRestConfig({});
    ASSERT_FALSE(rc.ok());
    const std::string& m = rc.status().message();
    EXPECT_NE(m.find("KUBECONFIG"), std::string::npos) << m;
    EXPECT_NE(m.find("empty-home/.kube/config"), std::string::npos) << m;
    EXPECT_NE(m.find("KUBERNETES_SERVICE_HOST"), std::string::npos) << m;
  }
  {  // KUBECONFIG naming only missing files, in a pod: in-cluster is next (kubectl does the same).
    EnvGuard k("KUBECONFIG", (dir.path() / "missing").string()), h("HOME", (dir.path() / "home").string());
    EnvGuard s("KUBERNETES_SERVICE_HOST", "10.1.2.3"), p("KUBERNETES_SERVICE_PORT", "6443");
    auto rc = ResolveRestConfig({});
    // This machine is not a pod, so the default service-account token is normally missing; either way the
    // in-cluster path was taken, not ~/.kube/config.
    if (rc.ok()) {
      EXPECT_EQ(rc->server, "https://10.1.2.3:6443");
    } else {
      EXPECT_NE(rc.status().message().find("/var/run/secrets/kubernetes.io/serviceaccount/token"), std::string::npos)
          << rc.status().message();
    }
  }
  {  // Options given by the caller win over the environment.
    EnvGuard k("KUBECONFIG", (dir.path() / "missing").string());
    KubeconfigOptions o;
    o.path = file;
    auto rc = ResolveRestConfig(o);
    ASSERT_TRUE(rc.ok()) << rc.status().ToString();
    EXPECT_EQ(rc->server, "https://from-kubeconfig");
  }
}

}  // namespace
}  // namespace gpuwise::observe::kube
