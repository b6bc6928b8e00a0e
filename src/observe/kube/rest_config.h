// RestConfig: everything needed to talk to one Kubernetes API server, as a kubeconfig context or the in-cluster
// service account resolves it, and the loaders that produce it (kubeconfig.cc). Credentials that change over
// time (token files, exec plugins) are not read here: CredentialProvider (credentials.h) reads them on use.
// Secrets (tokens, keys) are held in memory only and never logged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace gpuwise::observe::kube {

// users[].user.exec of a kubeconfig: a client.authentication.k8s.io credential plugin (EKS, GKE, AKS, ...).
struct ExecConfig {
  std::string api_version;     // client.authentication.k8s.io/v1 or v1beta1
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  bool provide_cluster_info = false;
  std::string interactive_mode;  // Never | IfAvailable | Always (gpuwise never gives the plugin a terminal)
  // JSON text of the cluster's extensions[client.authentication.k8s.io/exec], sent as spec.cluster.config when
  // provide_cluster_info is set ("" = none).
  std::string cluster_config_json;
};

struct RestConfig {
  std::string server;            // "https://10.0.0.1:6443" (no trailing slash)
  std::string context;           // context name ("" for in-cluster)
  std::string cluster_name, user_name;
  std::string namespace_name = "default";  // the context's namespace
  // TLS: CA bundle as PEM text (certificate-authority-data decoded, or the file read). Empty = system roots.
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;   // SNI and certificate name to verify, when it differs from the host
  // Client certificate and key, PEM (client-certificate-data / client-certificate file).
  std::string client_cert_pem, client_key_pem;
  std::string token;             // static bearer token
  std::string token_file;        // re-read when used (projected service-account tokens rotate)
  std::optional<ExecConfig> exec;
  std::string username, password;  // basic auth (deprecated upstream, still read)
  // proxy-url of the cluster entry; else HTTPS_PROXY / https_proxy (and NO_PROXY) at connect time.
  std::string proxy_url;
  std::string source;            // "kubeconfig /home/u/.kube/config, context prod" or "in-cluster service account"
  std::vector<std::string> warnings;  // what was ignored (unknown auth provider, ...), for the user
};

struct KubeconfigOptions {
  std::string path;           // --kubeconfig; overrides KUBECONFIG
  std::string context;        // --context; overrides current-context
  std::string namespace_name; // -n overrides the context's namespace only when the caller says so (not here)
  // The environment, passed in so tests are hermetic. kubeconfig_env: the KUBECONFIG value (':'-separated);
  // home: $HOME (for ~/.kube/config).
  std::string kubeconfig_env;
  std::string home;
};

// kubectl's rules: --kubeconfig (one file) else every file in KUBECONFIG merged (the first file to set a map
// entry or current-context wins; missing files are skipped) else ~/.kube/config. Relative file paths inside a
// file are relative to that file's directory. Errors name the file and the entry: a missing context, a user or
// cluster the context names that no file defines, unreadable CA/cert/key files, bad base64.
base::Result<RestConfig> LoadKubeconfig(const KubeconfigOptions& options);

struct InClusterOptions {
  std::string service_host;   // KUBERNETES_SERVICE_HOST
  std::string service_port;   // KUBERNETES_SERVICE_PORT
  std::string pod_namespace;  // POD_NAMESPACE; when set it wins over the namespace file (as client-go)
  std::string account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";  // token, ca.crt, namespace
};
// The pod's service account: server https://host:port, CA from ca.crt, the token file (re-read on use).
base::Result<RestConfig> InClusterConfig(const InClusterOptions& options);

// What gpuwise uses when not told: --kubeconfig / KUBECONFIG / ~/.kube/config when one exists, else the in-cluster
// service account when KUBERNETES_SERVICE_HOST is set, else an error saying what was looked for. Reads the process
// environment for the fields the options leave empty.
base::Result<RestConfig> ResolveRestConfig(KubeconfigOptions options);

}  // namespace gpuwise::observe::kube
