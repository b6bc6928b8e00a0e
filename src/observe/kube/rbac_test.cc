// The RBAC table and the ClusterRole printed from it: the YAML parses into exactly the table's grants (read-only,
// no Secrets, pods/proxy only on request, custom owners only in named groups); an API server enforcing that
// ClusterRole lets the cluster reader and endpoint discovery do everything with no 403; and with one rule taken
// out, the request that needed it fails or warns naming it.
#include "observe/kube/rbac.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "observe/kube/cluster_reader.h"
#include "observe/kube/demo_api_for_test.h"
#include "observe/kube/endpoint_discovery.h"

namespace gpuwise::observe::kube {
namespace {

using testing::DemoApi;

TEST(RbacTableTest, EachNeedNamesItsRow) {
  const std::pair<Need, std::string_view> rows[] = {
      {Need::kDiscovery, "discovery"},
      {Need::kListNodes, "list-nodes"},
      {Need::kListNamespaces, "list-namespaces"},
      {Need::kGetNamespaces, "get-namespaces"},
      {Need::kListPods, "list-pods"},
      {Need::kGetBuiltinOwners, "get-builtin-owners"},
      {Need::kListBuiltinOwners, "list-builtin-owners"},
      {Need::kGetCustomOwners, "get-custom-owners"},
      {Need::kListServices, "list-services"},
      {Need::kListEndpointSlices, "list-endpointslices"},
      {Need::kGetEndpoints, "get-endpoints"},
      {Need::kPodProxy, "pod-proxy"},
      {Need::kGetGpuOperatorConfigs, "get-gpu-operator-configs"},
  };
  EXPECT_EQ(AccessRules().size(), std::size(rows));
  for (const auto& [need, id] : rows) {
    EXPECT_EQ(Rule(need).id, id);
    EXPECT_FALSE(Rule(need).why.empty());
  }
}

TEST(RbacTableTest, GrantsAreReadOnlyAndNeverSecrets) {
  RbacOptions plain;
  RbacOptions proxy;
  proxy.pod_proxy = true;
  for (const RbacOptions* o : {&plain, &proxy}) {  // NOLINT
    for (const char* verb : {"create", "update", "patch", "delete", "deletecollection", "impersonate", "escalate"}) {
      for (const AccessRule& r : AccessRules()) {
        for (const std::string& g : r.api_groups) {
          EXPECT_FALSE(Grants(*o, verb, g, r.resources.front())) << verb << " " << r.id;
        }
      }
    }
    for (const char* verb : {"get", "list", "watch"}) {
      EXPECT_FALSE(Grants(*o, verb, "", "secrets"));
      EXPECT_FALSE(Grants(*o, verb, "", "configmaps"));
      EXPECT_FALSE(Grants(*o, verb, "rbac.authorization.k8s.io", "clusterroles"));
    }
  }
  EXPECT_TRUE(Grants(plain, "list", "", "pods"));
  EXPECT_TRUE(Grants(plain, "get", "apps", "replicasets"));
  EXPECT_TRUE(Grants(plain, "list", "apps", "replicasets"));  // built-in owners are listed when many share a kind
  EXPECT_TRUE(Grants(plain, "get", "serving.kserve.io", "inferenceservices"));
  EXPECT_TRUE(Grants(plain, "get", "ray.io", "rayservices"));
  EXPECT_FALSE(Grants(plain, "list", "serving.kserve.io", "inferenceservices"));
  EXPECT_FALSE(Grants(plain, "get", "example.com", "widgets"));
  RbacOptions extra;
  extra.extra_owner_groups = {"example.com"};
  EXPECT_TRUE(Grants(extra, "get", "example.com", "widgets"));
  EXPECT_FALSE(Grants(plain, "get", "", "pods/proxy"));
  EXPECT_TRUE(Grants(proxy, "get", "", "pods/proxy"));
  EXPECT_FALSE(Grants(plain, "get", "", "pods/exec"));
  // The GPU Operator's two ConfigMaps by name, nothing else of configmaps (Grants above: no configmap at large).
  const AccessRule& configs = Rule(Need::kGetGpuOperatorConfigs);
  EXPECT_EQ(configs.verbs, std::vector<std::string>{"get"});
  EXPECT_EQ(configs.resource_names, (std::vector<std::string>{"default-mig-parted-config", "time-slicing-config"}));
  EXPECT_FALSE(Grants(proxy, "create", "", "pods/exec"));
}

// docs/cluster-model.md documents the table: every rule and every owner group appears there.
TEST(RbacTableTest, TheDocumentationListsEveryRuleAndOwnerGroup) {
  const std::filesystem::path doc =
      std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "docs" / "cluster-model.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in.good()) << doc;
  std::stringstream text;
  text << in.rdbuf();
  for (const AccessRule& r : AccessRules()) {
    EXPECT_NE(text.str().find("| `" + std::string(r.id) + "` |"), std::string::npos) << r.id;
  }
  for (const std::string& g : OwnerGroups()) EXPECT_NE(text.str().find("`" + g + "`"), std::string::npos) << g;
}

// The ClusterRole's rules as the simulated API server enforces them, read back from the YAML text.
struct ParsedRole {
  std::vector<sim::RbacRule> rules;
  std::string role_name, binding_role, subject_kind, subject_name, subject_namespace;
};

ParsedRole ParseRole(const std::string& text) {
  ParsedRole out;
  const std::vector<YAML::Node> docs = YAML::LoadAll(text);
  EXPECT_EQ(docs.size(), 2u);
  for (const YAML::Node& d : docs) {
    const std::string kind = d["kind"].as<std::string>();
    EXPECT_EQ(d["apiVersion"].as<std::string>(), "rbac.authorization.k8s.io/v1");
    if (kind == "ClusterRole") {
      out.role_name = d["metadata"]["name"].as<std::string>();
      for (const YAML::Node& r : d["rules"]) {
        sim::RbacRule rule;
        auto list = [&](const char* key) {
          std::vector<std::string> v;
          if (r[key]) v = r[key].as<std::vector<std::string>>();
          return v;
        };
        rule.verbs = list("verbs");
        rule.api_groups = list("apiGroups");
        rule.resources = list("resources");
        rule.non_resource_urls = list("nonResourceURLs");
        out.rules.push_back(rule);
      }
    } else if (kind == "ClusterRoleBinding") {
      out.binding_role = d["roleRef"]["name"].as<std::string>();
      EXPECT_EQ(d["roleRef"]["kind"].as<std::string>(), "ClusterRole");
      EXPECT_EQ(d["subjects"].size(), 1u);
      out.subject_kind = d["subjects"][0]["kind"].as<std::string>();
      out.subject_name = d["subjects"][0]["name"].as<std::string>();
      out.subject_namespace = d["subjects"][0]["namespace"].as<std::string>();
    } else {
      ADD_FAILURE() << "unexpected kind " << kind;
    }
  }
  return out;
}

TEST(ClusterRoleYamlTest, ParsesIntoTheTableAndBindsTheServiceAccount) {
  const std::string yaml = ClusterRoleYaml();
  const ParsedRole role = ParseRole(yaml);
  EXPECT_EQ(role.role_name, "gpuwise-reader");
  EXPECT_EQ(role.binding_role, "gpuwise-reader");
  EXPECT_EQ(role.subject_kind, "ServiceAccount");
  EXPECT_EQ(role.subject_name, "gpuwise");
  EXPECT_EQ(role.subject_namespace, "gpuwise");
  EXPECT_EQ(role.rules.size(), AccessRules().size() - 1);  // all but pods/proxy
  for (const sim::RbacRule& r : role.rules) {
    for (const std::string& v : r.verbs) EXPECT_TRUE(v == "get" || v == "list" || v == "watch") << v;
    for (const std::string& g : r.api_groups) EXPECT_NE(g, "*") << "a wildcard group would include Secrets";
    for (const std::string& res : r.resources) EXPECT_NE(res, "pods/proxy");
  }
  // Every rule carries a comment saying why, and the owner-group choice is explained.
  for (const AccessRule& r : AccessRules()) {
    if (!r.pod_proxy_only) {
      EXPECT_NE(yaml.find("  # " + std::string(r.id) + ": "), std::string::npos) << r.id;
    }
  }
  EXPECT_NE(yaml.find("would include the core group and so every Secret"), std::string::npos);

  RbacOptions o;
  o.pod_proxy = true;
  o.extra_owner_groups = {"example.com"};
  o.service_account = "gw";
  o.namespace_name = "ops";
  const std::string with_proxy = ClusterRoleYaml(o);
  const ParsedRole p = ParseRole(with_proxy);
  EXPECT_EQ(p.rules.size(), AccessRules().size());
  EXPECT_EQ(p.subject_name, "gw");
  EXPECT_EQ(p.subject_namespace, "ops");
  EXPECT_NE(with_proxy.find("pods/proxy is ENABLED"), std::string::npos);
  bool example = false;
  for (const sim::RbacRule& r : p.rules) {
    example = example || std::find(r.api_groups.begin(), r.api_groups.end(), "example.com") != r.api_groups.end();
  }
  EXPECT_TRUE(example);
}

// Runs the reader and discovery as users bound to the printed ClusterRole, whole or with one rule removed.
class RbacEnforcedTest : public ::testing::Test {
 protected:
  static constexpr char kFull[] = "sa-full-token";
  static constexpr char kProxy[] = "sa-proxy-token";  // the role printed with --pod-proxy
  static std::string Without(std::string_view id) { return "without-" + std::string(id); }

  static void SetUpTestSuite() {
    const ParsedRole role = ParseRole(ClusterRoleYaml());
    sim::KubeApiOptions o;
    // How the API server names a service account.
    const std::string sa = "system:serviceaccount:" + role.subject_namespace + ":" + role.subject_name;
    o.tokens[kFull] = {sa, {"system:serviceaccounts", "system:authenticated"}};
    o.rbac.push_back({sa, false, "", role.rules});
    RbacOptions with_proxy;
    with_proxy.pod_proxy = true;
    o.tokens[kProxy] = {"proxy-user", {"system:authenticated"}};
    o.rbac.push_back({"proxy-user", false, "", ParseRole(ClusterRoleYaml(with_proxy)).rules});
    // One user per rule, with that rule removed (the table and the printed rules are in the same order).
    for (std::size_t i = 0; i < role.rules.size(); ++i) {
      const std::string user = Without(AccessRules()[i].id);
      std::vector<sim::RbacRule> rules = role.rules;
      rules.erase(rules.begin() + static_cast<std::ptrdiff_t>(i));
      o.tokens[user] = {user, {"system:authenticated"}};
      o.rbac.push_back({user, false, "", rules});
    }
    api_ = new DemoApi(o);
    ASSERT_TRUE(api_->status().ok()) << api_->status().ToString();
  }
  static void TearDownTestSuite() { delete api_; }

  // A read of the namespaces holding every kind of owner (CronJob, InferenceService, LeaderWorkerSet, Deployment).
  // Owners are listed from the first one of a kind (list_owners_from 1), so both owner rules are exercised.
  static base::Result<model::ClusterState> SmallRead(KubeClient& c, std::size_t list_owners_from = 1) {
    ReadOptions o;
    o.namespaces = {"ads", "platform", "support"};
    o.list_owners_from = list_owners_from;
    return ReadCluster(c, o);
  }

  static bool Has(const std::vector<std::string>& warnings, std::string_view needle) {
    return std::any_of(warnings.begin(), warnings.end(),
                       [&](const std::string& w) { return w.find(needle) != std::string::npos; });
  }

  static DemoApi* api_;
};
DemoApi* RbacEnforcedTest::api_ = nullptr;

TEST_F(RbacEnforcedTest, TheClusterRoleCoversEverythingTheReaderAndDiscoveryDo) {
  std::unique_ptr<KubeClient> c = api_->Client(kFull);
  base::Result<model::ClusterState> s = ReadCluster(*c);  // the whole cluster: list namespaces, every owner
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->warnings.empty()) << s->warnings.front();
  std::set<std::string> tops;
  for (const model::Pod& p : s->pods) tops.insert(p.Top().kind);
  for (const char* kind : {"Deployment", "StatefulSet", "CronJob", "InferenceService", "LeaderWorkerSet",
                           "DaemonSet"}) {
    EXPECT_TRUE(tops.count(kind)) << kind << " read through the ClusterRole";
  }
  base::Result<model::ClusterState> small = SmallRead(*c);  // get namespaces
  ASSERT_TRUE(small.ok());
  EXPECT_TRUE(small->warnings.empty()) << small->warnings.front();
  std::vector<std::string> warnings;
  base::Result<std::vector<ExporterEndpoint>> dcgm = DiscoverDcgmExporters(*c, {}, &warnings);
  ASSERT_TRUE(dcgm.ok()) << dcgm.status().ToString();
  EXPECT_FALSE(dcgm->empty());
  EXPECT_TRUE(warnings.empty()) << warnings.front();
  for (const ExporterEndpoint& e : *dcgm) EXPECT_EQ(e.source.rfind("endpointslice ", 0), 0u);
}

TEST_F(RbacEnforcedTest, ThePodProxyNeedsItsOptInRule) {
  const std::string path = PodProxyPath("ads", "no-such-pod", 8000, "/metrics");
  base::Result<std::string> refused = api_->Client(kFull)->GetPath(path, "get", "pods/proxy");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::Code::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("pods/proxy"), std::string::npos) << refused.status().message();
  // With --pod-proxy the request passes RBAC and meets the missing pod.
  base::Result<std::string> allowed = api_->Client(kProxy)->GetPath(path, "get", "pods/proxy");
  ASSERT_FALSE(allowed.ok());
  EXPECT_EQ(allowed.status().code(), base::Code::kNotFound) << allowed.status().message();
}

TEST_F(RbacEnforcedTest, EachRuleRemovedShowsAsTheFailureItCauses) {
  auto client = [&](std::string_view id) { return api_->Client(Without(id)); };
  {  // list-pods: the read fails, naming the rule.
    base::Result<model::ClusterState> s = SmallRead(*client("list-pods"));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), base::Code::kPermissionDenied);
    EXPECT_NE(s.status().message().find("grant verb 'list' on 'pods'"), std::string::npos) << s.status().message();
    EXPECT_NE(s.status().message().find("(gpuwise rbac rule list-pods)"), std::string::npos);
  }
  {  // list-nodes: likewise.
    base::Result<model::ClusterState> s = SmallRead(*client("list-nodes"));
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("(gpuwise rbac rule list-nodes)"), std::string::npos) << s.status().message();
  }
  {  // get-namespaces: a warning, the read goes on.
    base::Result<model::ClusterState> s = SmallRead(*client("get-namespaces"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(Has(s->warnings, "namespace ads not read")) << s->warnings.front();
    EXPECT_TRUE(Has(s->warnings, "(gpuwise rbac rule get-namespaces)"));
  }
  {  // list-builtin-owners: owners are read one GET at a time instead, with the same result, and a warning.
    base::Result<model::ClusterState> s = SmallRead(*client("list-builtin-owners"));
    base::Result<model::ClusterState> full = SmallRead(*api_->Client(kFull));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    ASSERT_EQ(s->pods.size(), full->pods.size());
    for (std::size_t i = 0; i < s->pods.size(); ++i) EXPECT_EQ(s->pods[i].owners, full->pods[i].owners);
    EXPECT_TRUE(Has(s->warnings, "not listed, read one GET at a time (slower)")) << s->warnings.front();
    EXPECT_TRUE(Has(s->warnings, "(gpuwise rbac rule list-builtin-owners)"));
  }
  {  // get-builtin-owners: the walk stops at the ReplicaSets, Jobs and StatefulSets with a 403 naming the grant.
    base::Result<model::ClusterState> s = SmallRead(*client("get-builtin-owners"), 0);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(Has(s->warnings, "grant verb 'get' on 'replicasets' (group \"apps\")")) << s->warnings.front();
    for (const model::Pod& p : s->pods) {
      if (!p.owners.empty()) {
        EXPECT_EQ(p.owners.size(), 1u) << p.name;
      }
    }
  }
  {  // get-custom-owners: the InferenceService and LeaderWorkerSet objects are not read. The references to them
     // (from the Deployment and StatefulSet, which are readable) still attribute the pods.
    base::Result<model::ClusterState> s = SmallRead(*client("get-custom-owners"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(Has(s->warnings, "grant verb 'get' on 'inferenceservices' (group \"serving.kserve.io\")"))
        << s->warnings.front();
    EXPECT_TRUE(Has(s->warnings, "on 'leaderworkersets'"));
    std::set<std::string> tops;
    for (const model::Pod& p : s->pods) tops.insert(p.Top().kind);
    EXPECT_TRUE(tops.count("InferenceService"));
    EXPECT_TRUE(tops.count("LeaderWorkerSet"));
  }
  {  // list-endpointslices: discovery falls back to Endpoints and says why.
    std::vector<std::string> warnings;
    base::Result<std::vector<ExporterEndpoint>> d = DiscoverDcgmExporters(*client("list-endpointslices"), {}, &warnings);
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d->empty());
    EXPECT_TRUE(Has(warnings, "not listed (list-endpointslices)"));
    for (const ExporterEndpoint& e : *d) EXPECT_EQ(e.source.rfind("endpoints ", 0), 0u);
  }
  {  // list-services: discovery falls back to the exporter pods.
    std::vector<std::string> warnings;
    base::Result<std::vector<ExporterEndpoint>> d = DiscoverDcgmExporters(*client("list-services"), {}, &warnings);
    ASSERT_TRUE(d.ok());
    EXPECT_FALSE(d->empty());
    EXPECT_TRUE(Has(warnings, "dcgm-exporter Services not listed (list-services)"));
    for (const ExporterEndpoint& e : *d) EXPECT_EQ(e.source.rfind("pod ", 0), 0u);
  }
}

}  // namespace
}  // namespace gpuwise::observe::kube
