#include "sim/kube_tls.h"

#include <httplib.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <utility>

namespace gpuwise::sim {
namespace {

template <typename T, void (*kFree)(T*)>
struct Deleter {
  void operator()(T* p) const { kFree(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using Asn1OctetPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;

constexpr long kNotBeforeSkewS = -60 * 60;        // valid from an hour ago: tolerates clock skew.
constexpr long kLifetimeS = 365L * 24 * 60 * 60;  // one year.
constexpr std::string_view kDefaultSans =
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
    "DNS:kubernetes.default.svc,IP:127.0.0.1";
// OpenSSL fails the handshake of a resumed session when client certificates are requested and the context has
// no session id context; any fixed value will do.
constexpr unsigned char kSessionIdContext[] = "gpuwise-sim-apiserver";

// `what` and the reasons OpenSSL queued for the last failure (drains the thread's error queue).
base::Status OpensslError(base::Code code, std::string_view what) {
  std::string message(what);
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    message += message.size() == what.size() ? ": " : "; ";
    message += buf;
  }
  return {code, std::move(message)};
}

base::Result<PkeyPtr> NewKey() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return OpensslError(base::Code::kInternal, "generating an EC P-256 key");
  return key;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

base::Result<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpensslError(base::Code::kInternal, "writing PEM");
  return BioText(bio.get());
}

base::Result<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpensslError(base::Code::kInternal, "writing PEM");
  }
  return BioText(bio.get());
}

base::Result<X509Ptr> ParseCert(std::string_view pem, std::string_view what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return OpensslError(base::Code::kInvalidArgument, std::string(what) + ": not a PEM certificate");
  return cert;
}

base::Result<PkeyPtr> ParseKey(std::string_view pem, std::string_view what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return OpensslError(base::Code::kInvalidArgument, std::string(what) + ": not a PEM private key");
  return key;
}

// A CA certificate and its key, parsed and checked to belong together.
struct Signer {
  X509Ptr cert;
  PkeyPtr key;
};

base::Result<Signer> ParseSigner(const PemPair& pair, std::string_view what) {
  ASSIGN_OR_RETURN(X509Ptr cert, ParseCert(pair.cert_pem, what));
  ASSIGN_OR_RETURN(PkeyPtr key, ParseKey(pair.key_pem, what));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return OpensslError(base::Code::kInvalidArgument, std::string(what) + ": key does not match certificate");
  }
  return Signer{std::move(cert), std::move(key)};
}

// "DNS:name" (letters, digits, '-', '.', '*') or "IP:address"; anything else could smuggle extra names into the
// comma-separated extension text.
base::Status ValidateSan(std::string_view san) {
  if (san.starts_with("DNS:")) {
    std::string_view name = san.substr(4);
    bool ok = !name.empty();
    for (char c : name) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                  c == '*');
    }
    if (ok) return base::Status::Ok();
  } else if (san.starts_with("IP:")) {
    Asn1OctetPtr ip(a2i_IPADDRESS(std::string(san.substr(3)).c_str()));
    if (ip) return base::Status::Ok();
  }
  return base::InvalidArgument("subjectAltName \"" + std::string(san) +
                               "\": want DNS:<hostname> or IP:<IPv4 or IPv6 address>");
}

// What distinguishes the CA, the server and the clients; everything else is shared.
struct CertSpec {
  std::vector<std::pair<int, std::string>> subject;  // (NID, value) in order.
  bool is_ca = false;
  std::string key_usage;      // OpenSSL extension text.
  std::string ext_key_usage;  // empty: none.
  std::string sans;           // empty: none.
};

base::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpensslError(base::Code::kInvalidArgument,
                        std::string("certificate extension ") + OBJ_nid2sn(nid) + " = " + value);
  }
  return base::Status::Ok();
}

// A certificate for `key`, signed by `issuer` (self-signed when null), valid from now-1h for a year.
base::Result<X509Ptr> MakeCert(const CertSpec& spec, EVP_PKEY* key, const Signer* issuer) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpensslError(base::Code::kInternal, "allocating a certificate");
  }
  // A random positive 127-bit serial, as RFC 5280 allows up to 20 octets and Go's tooling uses 128 random bits.
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    return OpensslError(base::Code::kInternal, "choosing a serial number");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), kNotBeforeSkewS) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), kLifetimeS)) {
    return OpensslError(base::Code::kInternal, "setting validity");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  for (const auto& [nid, value] : spec.subject) {
    // V_ASN1_UTF8STRING rather than MBSTRING_UTF8: the latter enforces X.520's 64-character cap, and Kubernetes
    // user names (system:serviceaccount:<ns>:<name>) can be longer.
    if (X509_NAME_add_entry_by_NID(subject, nid, V_ASN1_UTF8STRING,
                                   reinterpret_cast<const unsigned char*>(value.data()), static_cast<int>(value.size()),
                                   -1, 0) != 1) {
      return OpensslError(base::Code::kInvalidArgument, "subject " + std::string(OBJ_nid2sn(nid)) + "=" + value);
    }
  }
  X509* issuer_cert = issuer ? issuer->cert.get() : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpensslError(base::Code::kInternal, "setting issuer and public key");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage, spec.key_usage));
  if (!spec.ext_key_usage.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_ext_key_usage, spec.ext_key_usage));
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (issuer) RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!spec.sans.empty()) RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name, spec.sans));

  EVP_PKEY* signing_key = issuer ? issuer->key.get() : key;
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0) {
    return OpensslError(base::Code::kInternal, "signing the certificate");
  }
  return cert;
}

base::Result<PemPair> ToPem(X509* cert, EVP_PKEY* key) {
  ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert));
  ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key));
  return PemPair{std::move(cert_pem), std::move(key_pem)};
}

// Lets every client certificate through the handshake; ClientCertIdentity reads the verdict back with
// SSL_get_verify_result. This is Go's tls.RequestClientCert, which kube-apiserver serves with
// (k8s.io/apiserver/pkg/server/secure_serving.go).
int AcceptAnyPeer(int /*preverify_ok*/, X509_STORE_CTX* /*ctx*/) { return 1; }

}  // namespace

base::Result<KubePki> GenerateKubePki(const std::vector<std::string>& extra_sans) {
  std::string sans(kDefaultSans);
  for (const std::string& san : extra_sans) {
    RETURN_IF_ERROR(ValidateSan(san));
    sans += "," + san;
  }

  ASSIGN_OR_RETURN(PkeyPtr ca_key, NewKey());
  CertSpec ca_spec{.subject = {{NID_commonName, "gpuwise-sim-ca"}},
                   .is_ca = true,
                   .key_usage = "critical,keyCertSign,cRLSign,digitalSignature",
                   .ext_key_usage = "",
                   .sans = ""};
  ASSIGN_OR_RETURN(X509Ptr ca_cert, MakeCert(ca_spec, ca_key.get(), nullptr));
  Signer ca{std::move(ca_cert), std::move(ca_key)};

  ASSIGN_OR_RETURN(PkeyPtr server_key, NewKey());
  CertSpec server_spec{.subject = {{NID_commonName, "kube-apiserver"}},
                       .is_ca = false,
                       .key_usage = "critical,digitalSignature",
                       .ext_key_usage = "serverAuth",
                       .sans = sans};
  ASSIGN_OR_RETURN(X509Ptr server_cert, MakeCert(server_spec, server_key.get(), &ca));

  KubePki pki;
  ASSIGN_OR_RETURN(pki.ca, ToPem(ca.cert.get(), ca.key.get()));
  ASSIGN_OR_RETURN(pki.server, ToPem(server_cert.get(), server_key.get()));
  return pki;
}

base::Result<PemPair> IssueClientCert(const PemPair& ca, std::string_view user,
                                      const std::vector<std::string>& groups) {
  if (user.empty()) return base::InvalidArgument("client certificate: empty user name (the CN)");
  ASSIGN_OR_RETURN(Signer signer, ParseSigner(ca, "CA"));
  CertSpec spec{.subject = {},
                .is_ca = false,
                .key_usage = "critical,digitalSignature",
                .ext_key_usage = "clientAuth",
                .sans = ""};
  for (const std::string& group : groups) {
    if (group.empty()) return base::InvalidArgument("client certificate for " + std::string(user) + ": empty group");
    spec.subject.emplace_back(NID_organizationName, group);
  }
  spec.subject.emplace_back(NID_commonName, std::string(user));
  ASSIGN_OR_RETURN(PkeyPtr key, NewKey());
  ASSIGN_OR_RETURN(X509Ptr cert, MakeCert(spec, key.get(), &signer));
  return ToPem(cert.get(), key.get());
}

CertIdentity IdentityFromCert(const x509_st* cert) {
  CertIdentity identity;
  if (cert == nullptr) return identity;
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    if (nid != NID_commonName && nid != NID_organizationName) continue;
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (len < 0) continue;  // Not representable as UTF-8: Go would refuse the certificate too.
    std::string value(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
    // Go's pkix.Name keeps the last CommonName and every Organization.
    if (nid == NID_commonName) {
      identity.user = std::move(value);
    } else {
      identity.groups.push_back(std::move(value));
    }
  }
  return identity;
}

base::Result<std::optional<CertIdentity>> ClientCertIdentity(const ssl_st* ssl) {
  if (ssl == nullptr) return std::optional<CertIdentity>();
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr) return std::optional<CertIdentity>();
  CertIdentity identity = IdentityFromCert(peer);
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return base::PermissionDenied("verifying client certificate CN=" + identity.user +
                                  " failed: " + X509_verify_cert_error_string(verify));
  }
  // CommonNameUserConversion in k8s.io/apiserver/pkg/authentication/request/x509/x509.go: no CN, no user.
  if (identity.user.empty()) return std::optional<CertIdentity>();
  return std::optional<CertIdentity>(std::move(identity));
}

base::Result<std::unique_ptr<httplib::SSLServer>> MakeSslServer(const KubePki& pki, bool request_client_cert) {
  ASSIGN_OR_RETURN(Signer server, ParseSigner(pki.server, "server"));
  ASSIGN_OR_RETURN(X509Ptr ca, ParseCert(pki.ca.cert_pem, "CA"));
  // The callback runs inside the constructor, so the references it captures outlive it.
  auto setup = [&](SSL_CTX& ctx) {
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
    // kube-apiserver's floor (secure_serving.go: MinVersion tls.VersionTLS12).
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate(&ctx, server.cert.get()) != 1 || SSL_CTX_use_PrivateKey(&ctx, server.key.get()) != 1) {
      return false;
    }
    if (!request_client_cert) return true;
    // The store verifies client chains; the client CA list tells clients (Go's crypto/tls among them) which
    // certificate to offer.
    if (X509_STORE_add_cert(SSL_CTX_get_cert_store(&ctx), ca.get()) != 1 ||
        SSL_CTX_add_client_CA(&ctx, ca.get()) != 1 ||
        SSL_CTX_set_session_id_context(&ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1) != 1) {
      return false;
    }
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, AcceptAnyPeer);
    return true;
  };
  auto https = std::make_unique<httplib::SSLServer>(setup);
  if (!https->is_valid()) return OpensslError(base::Code::kInvalidArgument, "building the TLS server context");
  return https;
}

}  // namespace gpuwise::sim
