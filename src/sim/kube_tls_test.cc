#include "sim/kube_tls.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

namespace gpuwise::sim {
namespace {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ptr ParseCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

PkeyPtr ParseKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

// X509_V_OK if `cert` chains to `ca_pem` alone and is fit for `purpose` (X509_PURPOSE_SSL_SERVER / _CLIENT).
int VerifyAgainst(const std::string& ca_pem, X509* cert, int purpose) {
  X509Ptr ca = ParseCert(ca_pem);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  int result = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return result;
}

TEST(KubeTlsTest, ServerCertChainsToTheCaAndNamesTheApiServer) {
  auto pki = GenerateKubePki({"DNS:sim.example", "IP:10.1.2.3", "IP:::1"});
  ASSERT_TRUE(pki.ok()) << pki.status().ToString();

  X509Ptr ca = ParseCert(pki->ca.cert_pem);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(IdentityFromCert(ca.get()).user, "gpuwise-sim-ca");
  EXPECT_EQ(X509_check_ca(ca.get()), 1);  // CA:TRUE with keyCertSign.
  int bc = X509_get_ext_by_NID(ca.get(), NID_basic_constraints, -1);
  ASSERT_GE(bc, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(ca.get(), bc)), 1);
  EXPECT_EQ(X509_get_key_usage(ca.get()), uint32_t{KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE});
  EXPECT_NE(X509_get0_subject_key_id(ca.get()), nullptr);

  X509Ptr server = ParseCert(pki->server.cert_pem);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(VerifyAgainst(pki->ca.cert_pem, server.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(X509_check_ca(server.get()), 0);
  EXPECT_EQ(X509_check_private_key(server.get(), ParseKey(pki->server.key_pem).get()), 1);
  EXPECT_NE(X509_get0_authority_key_id(server.get()), nullptr);
  EXPECT_EQ(X509_get_extended_key_usage(server.get()), uint32_t{XKU_SSL_SERVER});
  for (const char* host : {"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "sim.example"}) {
    EXPECT_EQ(X509_check_host(server.get(), host, 0, 0, nullptr), 1) << host;
  }
  for (const char* ip : {"127.0.0.1", "10.1.2.3", "::1"}) {
    EXPECT_EQ(X509_check_ip_asc(server.get(), ip, 0), 1) << ip;
  }
  EXPECT_EQ(X509_check_host(server.get(), "example.com", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "10.1.2.4", 0), 0);
  // serverAuth only: it cannot pose as a client.
  EXPECT_NE(VerifyAgainst(pki->ca.cert_pem, server.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
}

TEST(KubeTlsTest, RejectsSansThatAreNotOneDnsNameOrIp) {
  for (const char* san :
       {"sim.example", "DNS:", "DNS:a.example,IP:1.2.3.4", "DNS:a b", "IP:300.1.1.1", "URI:x", "email:a@b"}) {
    auto pki = GenerateKubePki({san});
    ASSERT_FALSE(pki.ok()) << san;
    EXPECT_EQ(pki.status().code(), base::Code::kInvalidArgument) << san;
  }
}

TEST(KubeTlsTest, ClientCertCarriesUserAndGroupsAndVerifiesOnlyAgainstItsCa) {
  auto pki = GenerateKubePki();
  auto other = GenerateKubePki();
  ASSERT_TRUE(pki.ok() && other.ok());
  auto client = IssueClientCert(pki->ca, "jane", {"system:masters", "dev"});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  X509Ptr cert = ParseCert(client->cert_pem);
  ASSERT_NE(cert, nullptr);
  CertIdentity id = IdentityFromCert(cert.get());
  EXPECT_EQ(id.user, "jane");
  EXPECT_EQ(id.groups, (std::vector<std::string>{"system:masters", "dev"}));
  EXPECT_EQ(X509_check_private_key(cert.get(), ParseKey(client->key_pem).get()), 1);

  EXPECT_EQ(VerifyAgainst(pki->ca.cert_pem, cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
  EXPECT_EQ(VerifyAgainst(other->ca.cert_pem, cert.get(), X509_PURPOSE_SSL_CLIENT),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  EXPECT_NE(VerifyAgainst(pki->ca.cert_pem, cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);

  // Service-account-style names pass X.520's 64-character cap; no groups is fine.
  std::string long_user = "system:serviceaccount:gpu-inference-production:vllm-llama-3-70b-instruct-autoscaler";
  ASSERT_GT(long_user.size(), 64u);
  auto sa = IssueClientCert(pki->ca, long_user, {});
  ASSERT_TRUE(sa.ok()) << sa.status().ToString();
  CertIdentity sa_id = IdentityFromCert(ParseCert(sa->cert_pem).get());
  EXPECT_EQ(sa_id.user, long_user);
  EXPECT_TRUE(sa_id.groups.empty());
}

TEST(KubeTlsTest, IssueClientCertRejectsBadInput) {
  auto pki = GenerateKubePki();
  auto other = GenerateKubePki();
  ASSERT_TRUE(pki.ok() && other.ok());
  EXPECT_EQ(IssueClientCert(pki->ca, "", {}).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(IssueClientCert(pki->ca, "jane", {""}).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(IssueClientCert({"junk", pki->ca.key_pem}, "jane", {}).status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(IssueClientCert({pki->ca.cert_pem, other->ca.key_pem}, "jane", {}).status().code(),
            base::Code::kInvalidArgument);
  EXPECT_EQ(MakeSslServer({pki->ca, {pki->server.cert_pem, other->server.key_pem}}, true).status().code(),
            base::Code::kInvalidArgument);
}

TEST(KubeTlsTest, PkiIsFastEnoughToMakePerTest) {
  // EC P-256: about a millisecond each; RSA-4096 would take seconds and fail this.
  auto start = std::chrono::steady_clock::now();
  auto pki = GenerateKubePki();
  ASSERT_TRUE(pki.ok());
  ASSERT_TRUE(IssueClientCert(pki->ca, "jane", {"dev"}).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

// An HTTPS server on 127.0.0.1:<ephemeral> whose /whoami answers with the verified client certificate's identity
// ("jane system:masters,dev"), "anonymous", or 401 with the reason, as the API server's authenticator would.
class TlsServer {
 public:
  TlsServer(const KubePki& pki, bool request_client_cert) {
    auto server = MakeSslServer(pki, request_client_cert);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) return;
    server_ = std::move(server).value();
    server_->Get("/whoami", [](const httplib::Request& req, httplib::Response& res) {
      auto id = ClientCertIdentity(req.ssl);
      if (!id.ok()) {
        res.status = 401;
        res.set_content(id.status().message(), "text/plain");
      } else if (!id->has_value()) {
        res.set_content("anonymous", "text/plain");
      } else {
        std::string groups;
        for (const std::string& g : (*id)->groups) groups += (groups.empty() ? "" : ",") + g;
        res.set_content((*id)->user + " " + groups, "text/plain");
      }
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 500 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(server_->is_running());
  }
  ~TlsServer() {
    if (!server_) return;
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
};

class KubeTlsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kube_tls_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  struct CurlResult {
    int exit_code = -1;
    std::string http_code;
    std::string body;
  };
  // Runs a shell command; returns its exit code and stdout (stderr goes to <dir>/stderr).
  std::pair<int, std::string> Run(const std::string& command) {
    std::string full = command + " 2>" + (dir_ / "stderr").string();
    FILE* out = popen(full.c_str(), "r");
    if (out == nullptr) return {-1, ""};
    std::string text;
    char buf[256];
    while (size_t n = fread(buf, 1, sizeof(buf), out)) text.append(buf, n);
    int status = pclose(out);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
  }

  // Runs the real curl binary, no proxy, 10 s cap.
  CurlResult Curl(const std::string& args) {
    std::string body_path = (dir_ / "body").string();
    std::filesystem::remove(body_path);
    CurlResult result;
    std::tie(result.exit_code, result.http_code) =
        Run("curl -sS --noproxy '*' --max-time 10 -o " + body_path + " -w '%{http_code}' " + args);
    std::ifstream body(body_path);
    std::stringstream ss;
    ss << body.rdbuf();
    result.body = ss.str();
    return result;
  }

  std::filesystem::path dir_;
};

TEST_F(KubeTlsCliTest, CurlTrustsOnlyTheCaAndClientCertsAreOptionalButVerified) {
  auto pki = GenerateKubePki();
  auto other = GenerateKubePki();
  ASSERT_TRUE(pki.ok() && other.ok());
  auto jane = IssueClientCert(pki->ca, "jane", {"system:masters", "dev"});
  auto mallory = IssueClientCert(other->ca, "mallory", {"system:masters"});
  ASSERT_TRUE(jane.ok() && mallory.ok());
  std::string ca = Write("ca.crt", pki->ca.cert_pem);
  std::string jane_args = " --cert " + Write("jane.crt", jane->cert_pem) + " --key " + Write("jane.key", jane->key_pem);
  std::string mallory_args =
      " --cert " + Write("mallory.crt", mallory->cert_pem) + " --key " + Write("mallory.key", mallory->key_pem);
  std::string server_as_client_args =
      " --cert " + Write("server.crt", pki->server.cert_pem) + " --key " + Write("server.key", pki->server.key_pem);

  TlsServer server(*pki, /*request_client_cert=*/true);
  std::string url = " https://127.0.0.1:" + std::to_string(server.port()) + "/whoami";

  CurlResult anonymous = Curl("--cacert " + ca + url);
  EXPECT_EQ(anonymous.exit_code, 0);
  EXPECT_EQ(anonymous.http_code, "200");
  EXPECT_EQ(anonymous.body, "anonymous");

  CurlResult as_jane = Curl("--cacert " + ca + jane_args + url);
  EXPECT_EQ(as_jane.exit_code, 0);
  EXPECT_EQ(as_jane.body, "jane system:masters,dev");

  // The DNS names kubeconfigs use resolve to the same server and match the certificate.
  std::string port = std::to_string(server.port());
  CurlResult by_name = Curl("--cacert " + ca + jane_args + " --resolve kubernetes.default.svc:" + port +
                            ":127.0.0.1 https://kubernetes.default.svc:" + port + "/whoami");
  EXPECT_EQ(by_name.exit_code, 0);
  EXPECT_EQ(by_name.body, "jane system:masters,dev");

  // Without our CA, curl refuses the server: CURLE_PEER_FAILED_VERIFICATION.
  EXPECT_EQ(Curl(jane_args + url).exit_code, 60);

  // A certificate from another CA, or one without clientAuth, gets through TLS and is refused by the
  // authenticator, as kube-apiserver does (401, not a handshake failure).
  CurlResult as_mallory = Curl("--cacert " + ca + mallory_args + url);
  EXPECT_EQ(as_mallory.exit_code, 0);
  EXPECT_EQ(as_mallory.http_code, "401");
  EXPECT_NE(as_mallory.body.find("CN=mallory"), std::string::npos) << as_mallory.body;
  CurlResult as_server = Curl("--cacert " + ca + server_as_client_args + url);
  EXPECT_EQ(as_server.http_code, "401") << as_server.body;
}

TEST_F(KubeTlsCliTest, ServerThatDoesNotAskForCertsSeesEveryoneAsAnonymous) {
  auto pki = GenerateKubePki();
  ASSERT_TRUE(pki.ok());
  auto jane = IssueClientCert(pki->ca, "jane", {"dev"});
  ASSERT_TRUE(jane.ok());
  TlsServer server(*pki, /*request_client_cert=*/false);
  CurlResult result = Curl("--cacert " + Write("ca.crt", pki->ca.cert_pem) + " --cert " +
                           Write("jane.crt", jane->cert_pem) + " --key " + Write("jane.key", jane->key_pem) +
                           " https://127.0.0.1:" + std::to_string(server.port()) + "/whoami");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.body, "anonymous");
}

// kubectl is Go's crypto/tls: it must accept the ECDSA chain and offer its certificate for the advertised CA.
TEST_F(KubeTlsCliTest, KubectlTrustsTheCaAndAuthenticatesWithItsClientCert) {
  if (Run("kubectl version --client").first != 0) GTEST_SKIP() << "no kubectl on PATH";
  auto pki = GenerateKubePki();
  ASSERT_TRUE(pki.ok());
  auto jane = IssueClientCert(pki->ca, "jane", {"system:masters", "dev"});
  ASSERT_TRUE(jane.ok());
  TlsServer server(*pki, /*request_client_cert=*/true);
  std::string kubeconfig =
      Write("kubeconfig",
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n"
            "    server: https://127.0.0.1:" +
                std::to_string(server.port()) + "\n    certificate-authority: " + Write("ca.crt", pki->ca.cert_pem) +
                "\nusers:\n- name: jane\n  user:\n    client-certificate: " + Write("jane.crt", jane->cert_pem) +
                "\n    client-key: " + Write("jane.key", jane->key_pem) +
                "\ncontexts:\n- name: sim\n  context: {cluster: sim, user: jane}\n"
                "current-context: sim\n");
  auto [exit_code, out] = Run("NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 kubectl --kubeconfig " + kubeconfig +
                              " --request-timeout=10s get --raw /whoami");
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(out, "jane system:masters,dev");
}

TEST(KubeTlsTest, HttplibClientWithInMemoryCerts) {
  auto pki = GenerateKubePki();
  ASSERT_TRUE(pki.ok());
  auto jane = IssueClientCert(pki->ca, "jane", {"dev"});
  ASSERT_TRUE(jane.ok());
  TlsServer server(*pki, /*request_client_cert=*/true);

  auto get = [&](X509* cert, EVP_PKEY* key, const std::string& ca_pem) {
    httplib::SSLClient client("127.0.0.1", server.port(), cert, key);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ParseCert(ca_pem).get());
    client.set_ca_cert_store(store);  // Takes ownership.
    client.enable_server_certificate_verification(true);
    auto res = client.Get("/whoami");
    return res ? res->body : "error: " + httplib::to_string(res.error());
  };
  X509Ptr cert = ParseCert(jane->cert_pem);
  PkeyPtr key = ParseKey(jane->key_pem);
  EXPECT_EQ(get(cert.get(), key.get(), pki->ca.cert_pem), "jane dev");
  EXPECT_EQ(get(nullptr, nullptr, pki->ca.cert_pem), "anonymous");
  auto other = GenerateKubePki();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(get(nullptr, nullptr, other->ca.cert_pem), "error: SSLServerVerification");
}

}  // namespace
}  // namespace gpuwise::sim
