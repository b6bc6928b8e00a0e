// The PKI of the simulated kube-apiserver, generated in memory (OpenSSL 3, EC P-256, SHA-256 signatures): a
// self-signed CA, a serving certificate for the API server, client certificates that name a user and its groups
// the way Kubernetes reads them (CN = user, each O = a group), and an httplib::SSLServer built from them.
// Contract: every PEM is text a kubeconfig can carry as base64 (certificate "CERTIFICATE", key PKCS#8
// "PRIVATE KEY"); errors are Status values, nothing throws. Client certificates are requested but optional, as
// kube-apiserver does (tls.RequestClientCert): a client with no certificate, or with one the CA did not sign,
// still completes the handshake, and ClientCertIdentity tells the authenticator which case it has.
// Thread-safety: free functions on values; safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct ssl_st;   // OpenSSL's SSL, the type of httplib::Request::ssl.
struct x509_st;  // OpenSSL's X509.
namespace httplib {
class SSLServer;
}  // namespace httplib

namespace gpuwise::sim {

struct PemPair {
  std::string cert_pem;
  std::string key_pem;
};

struct KubePki {
  PemPair ca;      // CN "gpuwise-sim-ca", CA:TRUE; valid from now-1h for 365 days.
  PemPair server;  // CN "kube-apiserver", serverAuth, signed by `ca`.
};

// A new CA and a serving certificate signed by it, with subjectAltNames DNS:localhost, DNS:kubernetes,
// DNS:kubernetes.default, DNS:kubernetes.default.svc, IP:127.0.0.1, then `extra_sans` in order, each "DNS:name"
// or "IP:address" (IPv4 or IPv6). InvalidArgument for any other form. Takes about a millisecond.
base::Result<KubePki> GenerateKubePki(const std::vector<std::string>& extra_sans = {});

// A clientAuth certificate signed by `ca` with subject O=<group>... CN=<user>: kube-apiserver's x509 authenticator
// makes that the user `user` in `groups`. InvalidArgument if `ca` does not parse or its key does not match,
// or `user` is empty.
base::Result<PemPair> IssueClientCert(const PemPair& ca, std::string_view user, const std::vector<std::string>& groups);

// The subject of a certificate as Kubernetes reads it: user = CN (the last one if several), groups = every O in
// order. Does not verify anything.
struct CertIdentity {
  std::string user;
  std::vector<std::string> groups;
};
CertIdentity IdentityFromCert(const x509_st* cert);

// The client certificate of a TLS connection served by MakeSslServer, judged as kube-apiserver's x509
// authenticator does (k8s.io/apiserver/pkg/authentication/request/x509/x509.go):
// - std::nullopt: no certificate, or its CN is empty: not authenticated by certificate (try a token, else
//   anonymous);
// - PermissionDenied: a certificate that did not verify against the CA for clientAuth (wrong CA, expired, a
//   server-only certificate): kube-apiserver answers 401 unless another authenticator succeeds;
// - a CertIdentity: the user and groups (the caller adds "system:authenticated", as Kubernetes does).
// In an httplib handler: `ClientCertIdentity(req.ssl)` (httplib 0.11.4 sets Request::ssl on SSLServer requests;
// nullptr, as on a plain Server, gives std::nullopt).
base::Result<std::optional<CertIdentity>> ClientCertIdentity(const ssl_st* ssl);

// An HTTPS server (TLS 1.2+) with the PKI's serving certificate. With `request_client_cert` it asks every client
// for a certificate issued by `pki.ca` but does not require one: httplib's own X509_STORE constructor sets
// SSL_VERIFY_FAIL_IF_NO_PEER_CERT, which would shut out bearer-token clients, so this builds the SSL_CTX through
// httplib's setup-callback constructor with SSL_VERIFY_PEER and a verify callback that never fails the handshake;
// the verdict is left for ClientCertIdentity. InvalidArgument if the PEMs do not parse or the key does not match.
// The caller includes <httplib.h> to use (and destroy) the server.
base::Result<std::unique_ptr<httplib::SSLServer>> MakeSslServer(const KubePki& pki, bool request_client_cert);

}  // namespace gpuwise::sim
