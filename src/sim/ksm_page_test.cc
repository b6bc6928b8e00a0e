// Tests for the simulated kube-state-metrics page. Golden lines are quoted from a real kube-state-metrics
// v2.12.0 scrape of a kind cluster: elastic/beats metricbeat/module/kubernetes/_meta/test/KSM/ksm.v2.12.0.plain
// (same format as v2.13 for every family emitted here). Conventions not visible in that capture come from
// kubernetes/kube-state-metrics v2.13.0 internal/store/utils_test.go. The demo world's page is parsed back with
// gpuwise's own exposition parser.
#include "sim/ksm_page.h"
#include "sim/parsed_page_for_test.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "observe/prom/exposition_parser.h"
#include "sim/scenario.h"

namespace gpuwise::sim {
namespace {

using observe::prom::Entry;
using observe::prom::EntryKind;
using observe::prom::ExpositionParser;
using observe::prom::ParserOptions;

// ---- helpers ----

using Sample = PageSample;
using Parsed = ParsedPage;
Parsed Parse(const std::string& page) { return ParsePage(page); }

std::vector<std::string> Lines(const std::string& page) {
  std::vector<std::string> out;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool HasLine(const std::string& page, const std::string& line) {
  const std::vector<std::string> lines = Lines(page);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

const World& Demo() {
  static const World* world = [] {
    auto scenario = BuiltinScenario("demo");
    EXPECT_TRUE(scenario.ok());
    auto w = BuildWorld(*scenario);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return new World(std::move(*w));
  }();
  return *world;
}

KsmOptions AllLabels() {
  KsmOptions o;
  o.pod_label_allowlist = o.namespace_label_allowlist = o.node_label_allowlist = o.workload_label_allowlist = {"*"};
  return o;
}
KsmOptions PodLabels(std::vector<std::string> allow) {
  KsmOptions o;
  o.pod_label_allowlist = std::move(allow);
  return o;
}
KsmOptions Minor(int minor) {
  KsmOptions o;
  o.minor_version = minor;
  return o;
}

// ---- values, quantities, names ----

TEST(KsmValueTest, FormatsLikeKsmWriteFloat) {
  // Values as they appear in the v2.12.0 capture.
  EXPECT_EQ(FormatKsmValue(1713862198), "1.713862198e+09");
  EXPECT_EQ(FormatKsmValue(1713873300), "1.7138733e+09");
  EXPECT_EQ(FormatKsmValue(1713873360), "1.71387336e+09");
  EXPECT_EQ(FormatKsmValue(369759891456.0), "3.69759891456e+11");
  EXPECT_EQ(FormatKsmValue(16769380352.0), "1.6769380352e+10");
  EXPECT_EQ(FormatKsmValue(178257920), "1.7825792e+08");
  EXPECT_EQ(FormatKsmValue(52428800), "5.24288e+07");
  EXPECT_EQ(FormatKsmValue(110), "110");
  EXPECT_EQ(FormatKsmValue(16), "16");
  EXPECT_EQ(FormatKsmValue(0.1), "0.1");
  EXPECT_EQ(FormatKsmValue(0.25), "0.25");
  EXPECT_EQ(FormatKsmValue(1024), "1024");
  EXPECT_EQ(FormatKsmValue(16932), "16932");
  // writeFloat's shortcuts and Go's %g switch at exponent 6 (strconv.FormatFloat(v, 'g', -1, 64)).
  EXPECT_EQ(FormatKsmValue(0), "0");
  EXPECT_EQ(FormatKsmValue(1), "1");
  EXPECT_EQ(FormatKsmValue(-1), "-1");
  EXPECT_EQ(FormatKsmValue(123456), "123456");
  EXPECT_EQ(FormatKsmValue(1e6), "1e+06");
  EXPECT_EQ(FormatKsmValue(0.0001), "0.0001");
  EXPECT_EQ(FormatKsmValue(0.00001), "1e-05");
  EXPECT_EQ(FormatKsmValue(-2.5), "-2.5");
  EXPECT_EQ(FormatKsmValue(137), "137");
  EXPECT_EQ(FormatKsmValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatKsmValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatKsmValue(-INFINITY), "-Inf");
}

TEST(KsmQuantityTest, MilliValuesRoundUp) {
  double m = 0;
  ASSERT_TRUE(ParseKubeQuantityMilli("100m", &m));
  EXPECT_EQ(m, 100);
  ASSERT_TRUE(ParseKubeQuantityMilli("4", &m));
  EXPECT_EQ(m, 4000);
  ASSERT_TRUE(ParseKubeQuantityMilli("70Mi", &m));
  EXPECT_EQ(m, 73400320000.0);
  ASSERT_TRUE(ParseKubeQuantityMilli("64Gi", &m));
  EXPECT_EQ(m, 68719476736000.0);
  ASSERT_TRUE(ParseKubeQuantityMilli("16376348Ki", &m));
  EXPECT_EQ(m, 16769380352000.0);
  ASSERT_TRUE(ParseKubeQuantityMilli("0.5", &m));
  EXPECT_EQ(m, 500);
  ASSERT_TRUE(ParseKubeQuantityMilli("1.5G", &m));
  EXPECT_EQ(m, 1.5e12);
  ASSERT_TRUE(ParseKubeQuantityMilli("2e3", &m));
  EXPECT_EQ(m, 2e6);
  ASSERT_TRUE(ParseKubeQuantityMilli("1n", &m));  // MilliValue rounds up
  EXPECT_EQ(m, 1);
  EXPECT_FALSE(ParseKubeQuantityMilli("", &m));
  EXPECT_FALSE(ParseKubeQuantityMilli("Gi", &m));
  EXPECT_FALSE(ParseKubeQuantityMilli("12Xi", &m));
  EXPECT_FALSE(ParseKubeQuantityMilli("3 cores", &m));
}

TEST(KsmNamesTest, LabelAndResourceNamesAsKsm) {
  // internal/store/utils_test.go TestKubeLabelsToPrometheusLabels.
  EXPECT_EQ(KsmLabelName("label", "app1"), "label_app1");
  EXPECT_EQ(KsmLabelName("label", "0_app3"), "label_0_app3");
  EXPECT_EQ(KsmLabelName("label", ""), "label_");
  EXPECT_EQ(KsmLabelName("label", "$app4"), "label__app4");
  EXPECT_EQ(KsmLabelName("label", "_app5"), "label__app5");
  EXPECT_EQ(KsmLabelName("label", "camelCase"), "label_camel_case");
  EXPECT_EQ(KsmLabelName("label", "snake_camelCase"), "label_snake_camel_case");
  EXPECT_EQ(KsmLabelName("label", "app.kubernetes.io/name"), "label_app_kubernetes_io_name");
  EXPECT_EQ(KsmLabelName("label", "nvidia.com/gpu.product"), "label_nvidia_com_gpu_product");
  // Resource labels keep their case (capture: resource="hugepages_2Mi", "ephemeral_storage").
  EXPECT_EQ(KsmResourceName("hugepages-2Mi"), "hugepages_2Mi");
  EXPECT_EQ(KsmResourceName("ephemeral-storage"), "ephemeral_storage");
  EXPECT_EQ(KsmResourceName("nvidia.com/gpu"), "nvidia_com_gpu");
  EXPECT_EQ(KsmResourceName("nvidia.com/mig-1g.10gb"), "nvidia_com_mig_1g_10gb");
}

// ---- golden lines: a World holding the objects of the v2.12.0 capture ----

constexpr double kCaptureTime = 1713873373;  // the capture's latest lease renewal

World CaptureWorld() {
  World w;
  w.options.epoch_unix_s = 0;  // created_s below are Unix seconds
  for (const char* name : {"default", "kube-system"}) {
    SimNamespace ns;
    ns.meta.name = name;
    ns.meta.uid = std::string("ns-") + name;
    ns.meta.created_s = 1713862181;
    ns.meta.labels["kubernetes.io/metadata.name"] = name;
    w.namespaces.push_back(ns);
  }
  SimNode node;
  node.meta.name = "kind-control-plane";
  node.meta.uid = "node-1";
  node.meta.created_s = 1713862181;
  node.capacity = {{"cpu", "16"}, {"memory", "16376348Ki"}, {"pods", "110"},
                   {"ephemeral-storage", "361093644Ki"}, {"hugepages-2Mi", "0"}};
  w.nodes.push_back(node);

  auto controller = [&](std::string kind, std::string ns, std::string name, double created, std::vector<OwnerRef> owners,
                        int replicas) -> OwnerRef {
    Controller c;
    c.api_version = kind == "Job" || kind == "CronJob" ? "batch/v1" : "apps/v1";
    c.kind = kind;
    c.meta.name = name;
    c.meta.namespace_name = ns;
    c.meta.uid = "uid-" + kind + "-" + name;
    c.meta.created_s = created;
    c.owners = std::move(owners);
    c.replicas = replicas;
    w.controllers.push_back(c);
    return {c.api_version, kind, name, c.meta.uid};
  };
  const OwnerRef cron = controller("CronJob", "default", "hello", 1713862291, {}, 1);
  w.controllers.back().schedule = "*/1 * * * *";
  const OwnerRef job0 = controller("Job", "default", "hello", 1713862291, {}, 1);
  const OwnerRef job4 = controller("Job", "default", "hello-28564554", 1713873240, {cron}, 1);
  const OwnerRef job5 = controller("Job", "default", "hello-28564555", 1713873300, {cron}, 1);
  const OwnerRef job6 = controller("Job", "default", "hello-28564556", 1713873360, {cron}, 1);
  const OwnerRef ksm = controller("Deployment", "kube-system", "kube-state-metrics", 1713862243, {}, 1);
  controller("ReplicaSet", "kube-system", "kube-state-metrics-885b7d5c8", 1713862243, {ksm}, 1);
  const OwnerRef ksm_rs = controller("ReplicaSet", "kube-system", "kube-state-metrics-5bcd4898", 1713873333, {ksm}, 1);
  const OwnerRef coredns = controller("Deployment", "kube-system", "coredns", 1713862184, {}, 2);
  const OwnerRef coredns_rs = controller("ReplicaSet", "kube-system", "coredns-76f75df574", 1713862198, {coredns}, 2);
  const OwnerRef web = controller("StatefulSet", "default", "web", 1713862291, {}, 1);
  const OwnerRef kindnet = controller("DaemonSet", "kube-system", "kindnet", 1713862185, {}, 1);

  auto pod = [&](std::string ns, std::string name, std::string uid, OwnerRef owner, std::string ip,
                 std::string container, std::string image, double start, double end) -> SimPod& {
    SimPod p;
    p.meta.name = name;
    p.meta.namespace_name = ns;
    p.meta.uid = uid;
    p.meta.created_s = start;
    p.meta.deleted_s = end;
    p.owner = owner;
    p.node = "kind-control-plane";
    p.ip = ip;
    p.container = container;
    p.image = image;
    p.start_s = start;
    p.end_s = end;
    p.succeeds = owner.kind == "Job";
    w.pods.push_back(p);
    return w.pods.back();
  };
  pod("default", "hello-wlb5q", "4b2ec9ad-32a1-41a0-aa76-991c6a19b4e4", job0, "10.244.0.7", "hello", "busybox",
      1713862291, 1713862307);
  pod("default", "hello-28564554-llbsx", "aa4d2818-9ba4-4c07-bf1a-dea4e5912aea", job4, "10.244.0.172", "hello",
      "busybox", 1713873240, 1713873240);
  pod("default", "hello-28564555-zdfjz", "d884f26e-3141-4ec9-9013-c5934e413c17", job5, "10.244.0.173", "hello",
      "busybox", 1713873300, 1713873300);
  pod("default", "hello-28564556-gkqsk", "888e4e15-5ffc-40cd-826d-af822fee80dd", job6, "10.244.0.176", "hello",
      "busybox", 1713873360, 1713873360);
  pod("kube-system", "kube-state-metrics-5bcd4898-bntgt", "38cad684-d5e5-4187-8a98-2999c0f5b252", ksm_rs,
      "10.244.0.174", "kube-state-metrics", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.12.0",
      1713873333, kForever);
  SimPod& dns = pod("kube-system", "coredns-76f75df574-v8skx", "b02dd54a-7c6b-4a45-8f42-cbc00c6fb040", coredns_rs,
                    "10.244.0.3", "coredns", "registry.k8s.io/coredns/coredns:v1.11.1", 1713862199, kForever);
  dns.requests = {{"cpu", "100m"}, {"memory", "70Mi"}};
  dns.limits = {{"memory", "170Mi"}};
  pod("default", "web-0", "37dd3592-b439-4090-a233-49b8faa2b9b3", web, "10.244.0.8", "nginx",
      "docker.io/nginx:1.24.0-alpine-slim", 1713862291, kForever);
  SimPod& kn = pod("kube-system", "kindnet-98xlt", "425270a7-5a38-4d26-a2ae-5f186f3d6493", kindnet, "172.21.0.2",
                   "kindnet-cni", "docker.io/kindest/kindnetd:v20240202-8f1494ea", 1713862199, kForever);
  kn.requests = {{"cpu", "100m"}, {"memory", "50Mi"}};
  kn.limits = {{"cpu", "100m"}, {"memory", "50Mi"}};
  return w;
}

TEST(KsmGoldenTest, LinesMatchTheV212Capture) {
  const World w = CaptureWorld();
  const std::string page = RenderKsmPage(w, kCaptureTime);
  // Copied from ksm.v2.12.0.plain.
  const char* kCaptured[] = {
      R"(kube_cronjob_info{namespace="default",cronjob="hello",schedule="*/1 * * * *",concurrency_policy="Allow"} 1)",
      R"(kube_cronjob_created{namespace="default",cronjob="hello"} 1.713862291e+09)",
      R"(kube_cronjob_status_active{namespace="default",cronjob="hello"} 0)",
      R"(kube_cronjob_status_last_schedule_time{namespace="default",cronjob="hello"} 1.71387336e+09)",
      R"(kube_cronjob_spec_suspend{namespace="default",cronjob="hello"} 0)",
      R"(kube_daemonset_created{namespace="kube-system",daemonset="kindnet"} 1.713862185e+09)",
      R"(kube_daemonset_status_current_number_scheduled{namespace="kube-system",daemonset="kindnet"} 1)",
      R"(kube_daemonset_status_desired_number_scheduled{namespace="kube-system",daemonset="kindnet"} 1)",
      R"(kube_daemonset_status_number_available{namespace="kube-system",daemonset="kindnet"} 1)",
      R"(kube_daemonset_status_number_misscheduled{namespace="kube-system",daemonset="kindnet"} 0)",
      R"(kube_daemonset_status_number_ready{namespace="kube-system",daemonset="kindnet"} 1)",
      R"(kube_daemonset_status_number_unavailable{namespace="kube-system",daemonset="kindnet"} 0)",
      R"(kube_daemonset_status_updated_number_scheduled{namespace="kube-system",daemonset="kindnet"} 1)",
      R"(kube_deployment_created{namespace="kube-system",deployment="kube-state-metrics"} 1.713862243e+09)",
      R"(kube_deployment_status_replicas{namespace="kube-system",deployment="kube-state-metrics"} 1)",
      R"(kube_deployment_status_replicas_ready{namespace="kube-system",deployment="kube-state-metrics"} 1)",
      R"(kube_deployment_status_replicas_available{namespace="kube-system",deployment="kube-state-metrics"} 1)",
      R"(kube_deployment_status_replicas_unavailable{namespace="kube-system",deployment="kube-state-metrics"} 0)",
      R"(kube_deployment_status_replicas_updated{namespace="kube-system",deployment="kube-state-metrics"} 1)",
      R"(kube_deployment_status_condition{namespace="kube-system",deployment="kube-state-metrics",condition="Available",status="true"} 1)",
      R"(kube_deployment_status_condition{namespace="kube-system",deployment="kube-state-metrics",condition="Available",status="false"} 0)",
      R"(kube_deployment_status_condition{namespace="kube-system",deployment="kube-state-metrics",condition="Available",status="unknown"} 0)",
      R"(kube_deployment_status_condition{namespace="kube-system",deployment="kube-state-metrics",condition="Progressing",status="true"} 1)",
      R"(kube_deployment_status_condition{namespace="kube-system",deployment="kube-state-metrics",condition="Progressing",status="false"} 0)",
      R"(kube_deployment_status_condition{namespace="kube-system",deployment="kube-state-metrics",condition="Progressing",status="unknown"} 0)",
      R"(kube_deployment_spec_replicas{namespace="kube-system",deployment="kube-state-metrics"} 1)",
      R"(kube_deployment_spec_paused{namespace="kube-system",deployment="kube-state-metrics"} 0)",
      R"(kube_job_info{namespace="default",job_name="hello-28564554"} 1)",
      R"(kube_job_created{namespace="default",job_name="hello-28564554"} 1.71387324e+09)",
      R"(kube_job_created{namespace="default",job_name="hello-28564555"} 1.7138733e+09)",
      R"(kube_job_spec_parallelism{namespace="default",job_name="hello-28564554"} 1)",
      R"(kube_job_spec_completions{namespace="default",job_name="hello-28564554"} 1)",
      R"(kube_job_status_succeeded{namespace="default",job_name="hello-28564554"} 1)",
      R"(kube_job_status_failed{namespace="default",job_name="hello-28564554"} 0)",
      R"(kube_job_status_active{namespace="default",job_name="hello-28564554"} 0)",
      R"(kube_job_complete{namespace="default",job_name="hello-28564556",condition="true"} 1)",
      R"(kube_job_complete{namespace="default",job_name="hello-28564556",condition="false"} 0)",
      R"(kube_job_complete{namespace="default",job_name="hello-28564556",condition="unknown"} 0)",
      R"(kube_job_status_start_time{namespace="default",job_name="hello-28564555"} 1.7138733e+09)",
      R"(kube_job_status_start_time{namespace="default",job_name="hello"} 1.713862291e+09)",
      R"(kube_job_owner{namespace="default",job_name="hello-28564554",owner_kind="CronJob",owner_name="hello",owner_is_controller="true"} 1)",
      R"(kube_job_owner{namespace="default",job_name="hello-28564556",owner_kind="CronJob",owner_name="hello",owner_is_controller="true"} 1)",
      R"(kube_job_owner{namespace="default",job_name="hello",owner_kind="",owner_name="",owner_is_controller=""} 1)",
      R"(kube_namespace_created{namespace="default"} 1.713862181e+09)",
      R"(kube_namespace_created{namespace="kube-system"} 1.713862181e+09)",
      R"(kube_namespace_status_phase{namespace="default",phase="Active"} 1)",
      R"(kube_namespace_status_phase{namespace="default",phase="Terminating"} 0)",
      R"(kube_node_created{node="kind-control-plane"} 1.713862181e+09)",
      R"(kube_node_spec_unschedulable{node="kind-control-plane"} 0)",
      R"(kube_node_status_allocatable{node="kind-control-plane",resource="pods",unit="integer"} 110)",
      R"(kube_node_status_allocatable{node="kind-control-plane",resource="cpu",unit="core"} 16)",
      R"(kube_node_status_allocatable{node="kind-control-plane",resource="ephemeral_storage",unit="byte"} 3.69759891456e+11)",
      R"(kube_node_status_allocatable{node="kind-control-plane",resource="hugepages_2Mi",unit="byte"} 0)",
      R"(kube_node_status_allocatable{node="kind-control-plane",resource="memory",unit="byte"} 1.6769380352e+10)",
      R"(kube_node_status_capacity{node="kind-control-plane",resource="memory",unit="byte"} 1.6769380352e+10)",
      R"(kube_node_status_capacity{node="kind-control-plane",resource="pods",unit="integer"} 110)",
      R"(kube_node_status_capacity{node="kind-control-plane",resource="cpu",unit="core"} 16)",
      R"(kube_node_status_condition{node="kind-control-plane",condition="MemoryPressure",status="true"} 0)",
      R"(kube_node_status_condition{node="kind-control-plane",condition="MemoryPressure",status="false"} 1)",
      R"(kube_node_status_condition{node="kind-control-plane",condition="Ready",status="true"} 1)",
      R"(kube_node_status_condition{node="kind-control-plane",condition="Ready",status="unknown"} 0)",
      R"(kube_node_status_addresses{node="kind-control-plane",type="Hostname",address="kind-control-plane"} 1)",
      R"(kube_pod_completion_time{namespace="default",pod="hello-28564555-zdfjz",uid="d884f26e-3141-4ec9-9013-c5934e413c17"} 1.7138733e+09)",
      R"(kube_pod_completion_time{namespace="default",pod="hello-wlb5q",uid="4b2ec9ad-32a1-41a0-aa76-991c6a19b4e4"} 1.713862307e+09)",
      R"(kube_pod_completion_time{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea"} 1.71387324e+09)",
      R"(kube_pod_container_resource_limits{namespace="kube-system",pod="coredns-76f75df574-v8skx",uid="b02dd54a-7c6b-4a45-8f42-cbc00c6fb040",container="coredns",node="kind-control-plane",resource="memory",unit="byte"} 1.7825792e+08)",
      R"(kube_pod_container_resource_limits{namespace="kube-system",pod="kindnet-98xlt",uid="425270a7-5a38-4d26-a2ae-5f186f3d6493",container="kindnet-cni",node="kind-control-plane",resource="cpu",unit="core"} 0.1)",
      R"(kube_pod_container_resource_limits{namespace="kube-system",pod="kindnet-98xlt",uid="425270a7-5a38-4d26-a2ae-5f186f3d6493",container="kindnet-cni",node="kind-control-plane",resource="memory",unit="byte"} 5.24288e+07)",
      R"(kube_pod_container_resource_requests{namespace="kube-system",pod="coredns-76f75df574-v8skx",uid="b02dd54a-7c6b-4a45-8f42-cbc00c6fb040",container="coredns",node="kind-control-plane",resource="cpu",unit="core"} 0.1)",
      R"(kube_pod_container_resource_requests{namespace="kube-system",pod="coredns-76f75df574-v8skx",uid="b02dd54a-7c6b-4a45-8f42-cbc00c6fb040",container="coredns",node="kind-control-plane",resource="memory",unit="byte"} 7.340032e+07)",
      R"(kube_pod_container_resource_requests{namespace="kube-system",pod="kindnet-98xlt",uid="425270a7-5a38-4d26-a2ae-5f186f3d6493",container="kindnet-cni",node="kind-control-plane",resource="memory",unit="byte"} 5.24288e+07)",
      R"(kube_pod_container_state_started{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",container="hello"} 1.71387324e+09)",
      R"(kube_pod_container_state_started{namespace="default",pod="hello-28564556-gkqsk",uid="888e4e15-5ffc-40cd-826d-af822fee80dd",container="hello"} 1.71387336e+09)",
      R"(kube_pod_container_status_ready{namespace="default",pod="hello-28564556-gkqsk",uid="888e4e15-5ffc-40cd-826d-af822fee80dd",container="hello"} 0)",
      R"(kube_pod_container_status_ready{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3",container="nginx"} 1)",
      R"(kube_pod_container_status_restarts_total{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252",container="kube-state-metrics"} 0)",
      R"(kube_pod_container_status_restarts_total{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",container="hello"} 0)",
      R"(kube_pod_container_status_running{namespace="default",pod="hello-28564556-gkqsk",uid="888e4e15-5ffc-40cd-826d-af822fee80dd",container="hello"} 0)",
      R"(kube_pod_container_status_running{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252",container="kube-state-metrics"} 1)",
      R"(kube_pod_container_status_terminated{namespace="default",pod="hello-wlb5q",uid="4b2ec9ad-32a1-41a0-aa76-991c6a19b4e4",container="hello"} 1)",
      R"(kube_pod_container_status_terminated{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3",container="nginx"} 0)",
      R"(kube_pod_container_status_terminated_reason{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",container="hello",reason="Completed"} 1)",
      R"(kube_pod_container_status_waiting{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3",container="nginx"} 0)",
      R"(kube_pod_created{namespace="default",pod="hello-28564556-gkqsk",uid="888e4e15-5ffc-40cd-826d-af822fee80dd"} 1.71387336e+09)",
      R"(kube_pod_created{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252"} 1.713873333e+09)",
      R"(kube_pod_created{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3"} 1.713862291e+09)",
      R"(kube_pod_ips{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",ip="10.244.0.172",ip_family="4"} 1)",
      R"(kube_pod_ips{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252",ip="10.244.0.174",ip_family="4"} 1)",
      R"(kube_pod_owner{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3",owner_kind="StatefulSet",owner_name="web",owner_is_controller="true"} 1)",
      R"(kube_pod_owner{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252",owner_kind="ReplicaSet",owner_name="kube-state-metrics-5bcd4898",owner_is_controller="true"} 1)",
      R"(kube_pod_owner{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",owner_kind="Job",owner_name="hello-28564554",owner_is_controller="true"} 1)",
      R"(kube_pod_owner{namespace="kube-system",pod="kindnet-98xlt",uid="425270a7-5a38-4d26-a2ae-5f186f3d6493",owner_kind="DaemonSet",owner_name="kindnet",owner_is_controller="true"} 1)",
      R"(kube_pod_restart_policy{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252",type="Always"} 1)",
      R"(kube_pod_restart_policy{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",type="OnFailure"} 1)",
      R"(kube_pod_start_time{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252"} 1.713873333e+09)",
      R"(kube_pod_start_time{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea"} 1.71387324e+09)",
      R"(kube_pod_status_phase{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",phase="Pending"} 0)",
      R"(kube_pod_status_phase{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",phase="Succeeded"} 1)",
      R"(kube_pod_status_phase{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",phase="Failed"} 0)",
      R"(kube_pod_status_phase{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",phase="Unknown"} 0)",
      R"(kube_pod_status_phase{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",phase="Running"} 0)",
      R"(kube_pod_status_phase{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3",phase="Running"} 1)",
      R"(kube_pod_status_qos_class{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",qos_class="BestEffort"} 1)",
      R"(kube_pod_status_qos_class{namespace="kube-system",pod="coredns-76f75df574-v8skx",uid="b02dd54a-7c6b-4a45-8f42-cbc00c6fb040",qos_class="Burstable"} 1)",
      R"(kube_pod_status_qos_class{namespace="kube-system",pod="kindnet-98xlt",uid="425270a7-5a38-4d26-a2ae-5f186f3d6493",qos_class="Guaranteed"} 1)",
      R"(kube_pod_status_qos_class{namespace="kube-system",pod="kindnet-98xlt",uid="425270a7-5a38-4d26-a2ae-5f186f3d6493",qos_class="Burstable"} 0)",
      R"(kube_pod_status_ready{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",condition="true"} 0)",
      R"(kube_pod_status_ready{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",condition="false"} 1)",
      R"(kube_pod_status_ready{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3",condition="true"} 1)",
      R"(kube_pod_status_scheduled{namespace="default",pod="hello-wlb5q",uid="4b2ec9ad-32a1-41a0-aa76-991c6a19b4e4",condition="true"} 1)",
      R"(kube_pod_status_scheduled{namespace="default",pod="hello-wlb5q",uid="4b2ec9ad-32a1-41a0-aa76-991c6a19b4e4",condition="false"} 0)",
      R"(kube_replicaset_created{namespace="kube-system",replicaset="kube-state-metrics-5bcd4898"} 1.713873333e+09)",
      R"(kube_replicaset_created{namespace="kube-system",replicaset="kube-state-metrics-885b7d5c8"} 1.713862243e+09)",
      R"(kube_replicaset_status_replicas{namespace="kube-system",replicaset="kube-state-metrics-5bcd4898"} 1)",
      R"(kube_replicaset_status_replicas{namespace="kube-system",replicaset="kube-state-metrics-885b7d5c8"} 0)",
      R"(kube_replicaset_status_fully_labeled_replicas{namespace="kube-system",replicaset="kube-state-metrics-885b7d5c8"} 0)",
      R"(kube_replicaset_status_ready_replicas{namespace="kube-system",replicaset="kube-state-metrics-5bcd4898"} 1)",
      R"(kube_replicaset_spec_replicas{namespace="kube-system",replicaset="kube-state-metrics-5bcd4898"} 1)",
      R"(kube_replicaset_spec_replicas{namespace="kube-system",replicaset="kube-state-metrics-885b7d5c8"} 0)",
      R"(kube_replicaset_owner{namespace="kube-system",replicaset="coredns-76f75df574",owner_kind="Deployment",owner_name="coredns",owner_is_controller="true"} 1)",
      R"(kube_replicaset_owner{namespace="kube-system",replicaset="kube-state-metrics-885b7d5c8",owner_kind="Deployment",owner_name="kube-state-metrics",owner_is_controller="true"} 1)",
      R"(kube_statefulset_created{namespace="default",statefulset="web"} 1.713862291e+09)",
      R"(kube_statefulset_status_replicas{namespace="default",statefulset="web"} 1)",
      R"(kube_statefulset_status_replicas_available{namespace="default",statefulset="web"} 1)",
      R"(kube_statefulset_status_replicas_current{namespace="default",statefulset="web"} 1)",
      R"(kube_statefulset_status_replicas_ready{namespace="default",statefulset="web"} 1)",
      R"(kube_statefulset_status_replicas_updated{namespace="default",statefulset="web"} 1)",
      R"(kube_statefulset_replicas{namespace="default",statefulset="web"} 1)",
  };
  for (const char* line : kCaptured) EXPECT_TRUE(HasLine(page, line)) << "missing: " << line;

  // kube_pod_info and kube_pod_container_info: the capture's lines up to the values the simulator makes up
  // itself (the node's InternalIP, image digests and container ids).
  const std::vector<std::string> lines = Lines(page);
  auto starts = [&](const std::string& prefix) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
  };
  auto with_host_ip = [&](std::string captured) {
    const std::string from = "host_ip=\"172.21.0.2\"", to = "host_ip=\"10.0.0.10\"";
    captured.replace(captured.find(from), from.size(), to);
    return captured;
  };
  EXPECT_TRUE(HasLine(page, with_host_ip(
      R"(kube_pod_info{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",host_ip="172.21.0.2",pod_ip="10.244.0.172",node="kind-control-plane",created_by_kind="Job",created_by_name="hello-28564554",priority_class="",host_network="false"} 1)")));
  EXPECT_TRUE(HasLine(page, with_host_ip(
      R"(kube_pod_info{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3",host_ip="172.21.0.2",pod_ip="10.244.0.8",node="kind-control-plane",created_by_kind="StatefulSet",created_by_name="web",priority_class="",host_network="false"} 1)")));
  EXPECT_TRUE(HasLine(page, with_host_ip(
      R"(kube_pod_info{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252",host_ip="172.21.0.2",pod_ip="10.244.0.174",node="kind-control-plane",created_by_kind="ReplicaSet",created_by_name="kube-state-metrics-5bcd4898",priority_class="",host_network="false"} 1)")));
  EXPECT_TRUE(starts(
      R"(kube_pod_container_info{namespace="default",pod="hello-28564554-llbsx",uid="aa4d2818-9ba4-4c07-bf1a-dea4e5912aea",container="hello",image_spec="busybox",image="docker.io/library/busybox:latest",image_id="docker.io/library/busybox@sha256:)"));
  EXPECT_TRUE(starts(
      R"(kube_pod_container_info{namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3",container="nginx",image_spec="docker.io/nginx:1.24.0-alpine-slim",image="docker.io/library/nginx:1.24.0-alpine-slim",image_id="docker.io/library/nginx@sha256:)"));
  EXPECT_TRUE(starts(
      R"(kube_pod_container_info{namespace="kube-system",pod="kube-state-metrics-5bcd4898-bntgt",uid="38cad684-d5e5-4187-8a98-2999c0f5b252",container="kube-state-metrics",image_spec="registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.12.0",image="registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.12.0",image_id="registry.k8s.io/kube-state-metrics/kube-state-metrics@sha256:)"));
  // No allow-list: the labels families print their headers and no series (the capture has none).
  EXPECT_EQ(page.find("kube_pod_labels{"), std::string::npos);
  EXPECT_EQ(page.find("kube_namespace_labels{"), std::string::npos);
  EXPECT_NE(page.find("# HELP kube_pod_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n"
                      "# TYPE kube_pod_labels gauge\n# HELP kube_pod_owner [STABLE] Information about the Pod's owner.\n"),
            std::string::npos);
}

TEST(KsmGoldenTest, HeadersMatchTheCaptureAndItsOrder) {
  // Every HELP/TYPE pair the capture prints for the families emitted here, in the capture's order.
  const char* kCapturedHeaders[] = {
      "# HELP kube_cronjob_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_cronjob_labels gauge",
      "# HELP kube_cronjob_info [STABLE] Info about cronjob.\n# TYPE kube_cronjob_info gauge",
      "# HELP kube_cronjob_created [STABLE] Unix creation timestamp\n# TYPE kube_cronjob_created gauge",
      "# HELP kube_cronjob_status_active [STABLE] Active holds pointers to currently running jobs.\n# TYPE kube_cronjob_status_active gauge",
      "# HELP kube_cronjob_status_last_schedule_time [STABLE] LastScheduleTime keeps information of when was the last time the job was successfully scheduled.\n# TYPE kube_cronjob_status_last_schedule_time gauge",
      "# HELP kube_cronjob_status_last_successful_time LastSuccessfulTime keeps information of when was the last time the job was completed successfully.\n# TYPE kube_cronjob_status_last_successful_time gauge",
      "# HELP kube_cronjob_spec_suspend [STABLE] Suspend flag tells the controller to suspend subsequent executions.\n# TYPE kube_cronjob_spec_suspend gauge",
      "# HELP kube_daemonset_created [STABLE] Unix creation timestamp\n# TYPE kube_daemonset_created gauge",
      "# HELP kube_daemonset_status_current_number_scheduled [STABLE] The number of nodes running at least one daemon pod and are supposed to.\n# TYPE kube_daemonset_status_current_number_scheduled gauge",
      "# HELP kube_daemonset_status_desired_number_scheduled [STABLE] The number of nodes that should be running the daemon pod.\n# TYPE kube_daemonset_status_desired_number_scheduled gauge",
      "# HELP kube_daemonset_status_number_available [STABLE] The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available\n# TYPE kube_daemonset_status_number_available gauge",
      "# HELP kube_daemonset_status_number_misscheduled [STABLE] The number of nodes running a daemon pod but are not supposed to.\n# TYPE kube_daemonset_status_number_misscheduled gauge",
      "# HELP kube_daemonset_status_number_ready [STABLE] The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.\n# TYPE kube_daemonset_status_number_ready gauge",
      "# HELP kube_daemonset_status_number_unavailable [STABLE] The number of nodes that should be running the daemon pod and have none of the daemon pod running and available\n# TYPE kube_daemonset_status_number_unavailable gauge",
      "# HELP kube_daemonset_status_updated_number_scheduled [STABLE] The total number of nodes that are running updated daemon pod\n# TYPE kube_daemonset_status_updated_number_scheduled gauge",
      "# HELP kube_daemonset_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_daemonset_labels gauge",
      "# HELP kube_deployment_created [STABLE] Unix creation timestamp\n# TYPE kube_deployment_created gauge",
      "# HELP kube_deployment_status_replicas [STABLE] The number of replicas per deployment.\n# TYPE kube_deployment_status_replicas gauge",
      "# HELP kube_deployment_status_replicas_ready [STABLE] The number of ready replicas per deployment.\n# TYPE kube_deployment_status_replicas_ready gauge",
      "# HELP kube_deployment_status_replicas_available [STABLE] The number of available replicas per deployment.\n# TYPE kube_deployment_status_replicas_available gauge",
      "# HELP kube_deployment_status_replicas_unavailable [STABLE] The number of unavailable replicas per deployment.\n# TYPE kube_deployment_status_replicas_unavailable gauge",
      "# HELP kube_deployment_status_replicas_updated [STABLE] The number of updated replicas per deployment.\n# TYPE kube_deployment_status_replicas_updated gauge",
      "# HELP kube_deployment_status_condition [STABLE] The current status conditions of a deployment.\n# TYPE kube_deployment_status_condition gauge",
      "# HELP kube_deployment_spec_replicas [STABLE] Number of desired pods for a deployment.\n# TYPE kube_deployment_spec_replicas gauge",
      "# HELP kube_deployment_spec_paused [STABLE] Whether the deployment is paused and will not be processed by the deployment controller.\n# TYPE kube_deployment_spec_paused gauge",
      "# HELP kube_deployment_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_deployment_labels gauge",
      "# HELP kube_job_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_job_labels gauge",
      "# HELP kube_job_info [STABLE] Information about job.\n# TYPE kube_job_info gauge",
      "# HELP kube_job_created [STABLE] Unix creation timestamp\n# TYPE kube_job_created gauge",
      "# HELP kube_job_spec_parallelism [STABLE] The maximum desired number of pods the job should run at any given time.\n# TYPE kube_job_spec_parallelism gauge",
      "# HELP kube_job_spec_completions [STABLE] The desired number of successfully finished pods the job should be run with.\n# TYPE kube_job_spec_completions gauge",
      "# HELP kube_job_status_succeeded [STABLE] The number of pods which reached Phase Succeeded.\n# TYPE kube_job_status_succeeded gauge",
      "# HELP kube_job_status_failed [STABLE] The number of pods which reached Phase Failed and the reason for failure.\n# TYPE kube_job_status_failed gauge",
      "# HELP kube_job_status_active [STABLE] The number of actively running pods.\n# TYPE kube_job_status_active gauge",
      "# HELP kube_job_complete [STABLE] The job has completed its execution.\n# TYPE kube_job_complete gauge",
      "# HELP kube_job_status_start_time [STABLE] StartTime represents time when the job was acknowledged by the Job Manager.\n# TYPE kube_job_status_start_time gauge",
      "# HELP kube_job_status_completion_time [STABLE] CompletionTime represents time when the job was completed.\n# TYPE kube_job_status_completion_time gauge",
      "# HELP kube_job_owner [STABLE] Information about the Job's owner.\n# TYPE kube_job_owner gauge",
      "# HELP kube_namespace_created [STABLE] Unix creation timestamp\n# TYPE kube_namespace_created gauge",
      "# HELP kube_namespace_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_namespace_labels gauge",
      "# HELP kube_namespace_status_phase [STABLE] kubernetes namespace status phase.\n# TYPE kube_namespace_status_phase gauge",
      "# HELP kube_node_created [STABLE] Unix creation timestamp\n# TYPE kube_node_created gauge",
      "# HELP kube_node_info [STABLE] Information about a cluster node.\n# TYPE kube_node_info gauge",
      "# HELP kube_node_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_node_labels gauge",
      "# HELP kube_node_spec_unschedulable [STABLE] Whether a node can schedule new pods.\n# TYPE kube_node_spec_unschedulable gauge",
      "# HELP kube_node_status_allocatable [STABLE] The allocatable for different resources of a node that are available for scheduling.\n# TYPE kube_node_status_allocatable gauge",
      "# HELP kube_node_status_capacity [STABLE] The capacity for different resources of a node.\n# TYPE kube_node_status_capacity gauge",
      "# HELP kube_node_status_condition [STABLE] The condition of a cluster node.\n# TYPE kube_node_status_condition gauge",
      "# HELP kube_node_status_addresses Node address information.\n# TYPE kube_node_status_addresses gauge",
      "# HELP kube_pod_completion_time [STABLE] Completion time in unix timestamp for a pod.\n# TYPE kube_pod_completion_time gauge",
      "# HELP kube_pod_container_info [STABLE] Information about a container in a pod.\n# TYPE kube_pod_container_info gauge",
      "# HELP kube_pod_container_resource_limits The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.\n# TYPE kube_pod_container_resource_limits gauge",
      "# HELP kube_pod_container_resource_requests The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.\n# TYPE kube_pod_container_resource_requests gauge",
      "# HELP kube_pod_container_state_started [STABLE] Start time in unix timestamp for a pod container.\n# TYPE kube_pod_container_state_started gauge",
      "# HELP kube_pod_container_status_last_terminated_reason Describes the last reason the container was in terminated state.\n# TYPE kube_pod_container_status_last_terminated_reason gauge",
      "# HELP kube_pod_container_status_last_terminated_exitcode Describes the exit code for the last container in terminated state.\n# TYPE kube_pod_container_status_last_terminated_exitcode gauge",
      "# HELP kube_pod_container_status_last_terminated_timestamp Last terminated time for a pod container in unix timestamp.\n# TYPE kube_pod_container_status_last_terminated_timestamp gauge",
      "# HELP kube_pod_container_status_ready [STABLE] Describes whether the containers readiness check succeeded.\n# TYPE kube_pod_container_status_ready gauge",
      "# HELP kube_pod_container_status_restarts_total [STABLE] The number of container restarts per container.\n# TYPE kube_pod_container_status_restarts_total counter",
      "# HELP kube_pod_container_status_running [STABLE] Describes whether the container is currently in running state.\n# TYPE kube_pod_container_status_running gauge",
      "# HELP kube_pod_container_status_terminated [STABLE] Describes whether the container is currently in terminated state.\n# TYPE kube_pod_container_status_terminated gauge",
      "# HELP kube_pod_container_status_terminated_reason Describes the reason the container is currently in terminated state.\n# TYPE kube_pod_container_status_terminated_reason gauge",
      "# HELP kube_pod_container_status_waiting [STABLE] Describes whether the container is currently in waiting state.\n# TYPE kube_pod_container_status_waiting gauge",
      "# HELP kube_pod_container_status_waiting_reason [STABLE] Describes the reason the container is currently in waiting state.\n# TYPE kube_pod_container_status_waiting_reason gauge",
      "# HELP kube_pod_created [STABLE] Unix creation timestamp\n# TYPE kube_pod_created gauge",
      "# HELP kube_pod_info [STABLE] Information about pod.\n# TYPE kube_pod_info gauge",
      "# HELP kube_pod_ips Pod IP addresses\n# TYPE kube_pod_ips gauge",
      "# HELP kube_pod_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_pod_labels gauge",
      "# HELP kube_pod_owner [STABLE] Information about the Pod's owner.\n# TYPE kube_pod_owner gauge",
      "# HELP kube_pod_restart_policy [STABLE] Describes the restart policy in use by this pod.\n# TYPE kube_pod_restart_policy gauge",
      "# HELP kube_pod_start_time [STABLE] Start time in unix timestamp for a pod.\n# TYPE kube_pod_start_time gauge",
      "# HELP kube_pod_status_phase [STABLE] The pods current phase.\n# TYPE kube_pod_status_phase gauge",
      "# HELP kube_pod_status_qos_class The pods current qosClass.\n# TYPE kube_pod_status_qos_class gauge",
      "# HELP kube_pod_status_ready [STABLE] Describes whether the pod is ready to serve requests.\n# TYPE kube_pod_status_ready gauge",
      "# HELP kube_pod_status_scheduled [STABLE] Describes the status of the scheduling process for the pod.\n# TYPE kube_pod_status_scheduled gauge",
      // These two are past the part of the capture quoted above; text from internal/store/pod.go and its test.
      "# HELP kube_pod_status_scheduled_time [STABLE] Unix timestamp when pod moved into scheduled status\n# TYPE kube_pod_status_scheduled_time gauge",
      "# HELP kube_pod_status_unschedulable [STABLE] Describes the unschedulable status for the pod.\n# TYPE kube_pod_status_unschedulable gauge",
      "# HELP kube_replicaset_created [STABLE] Unix creation timestamp\n# TYPE kube_replicaset_created gauge",
      "# HELP kube_replicaset_status_replicas [STABLE] The number of replicas per ReplicaSet.\n# TYPE kube_replicaset_status_replicas gauge",
      "# HELP kube_replicaset_status_fully_labeled_replicas [STABLE] The number of fully labeled replicas per ReplicaSet.\n# TYPE kube_replicaset_status_fully_labeled_replicas gauge",
      "# HELP kube_replicaset_status_ready_replicas [STABLE] The number of ready replicas per ReplicaSet.\n# TYPE kube_replicaset_status_ready_replicas gauge",
      "# HELP kube_replicaset_spec_replicas [STABLE] Number of desired pods for a ReplicaSet.\n# TYPE kube_replicaset_spec_replicas gauge",
      "# HELP kube_replicaset_owner [STABLE] Information about the ReplicaSet's owner.\n# TYPE kube_replicaset_owner gauge",
      "# HELP kube_replicaset_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_replicaset_labels gauge",
      "# HELP kube_statefulset_created [STABLE] Unix creation timestamp\n# TYPE kube_statefulset_created gauge",
      "# HELP kube_statefulset_status_replicas [STABLE] The number of replicas per StatefulSet.\n# TYPE kube_statefulset_status_replicas gauge",
      "# HELP kube_statefulset_status_replicas_available The number of available replicas per StatefulSet.\n# TYPE kube_statefulset_status_replicas_available gauge",
      "# HELP kube_statefulset_status_replicas_current [STABLE] The number of current replicas per StatefulSet.\n# TYPE kube_statefulset_status_replicas_current gauge",
      "# HELP kube_statefulset_status_replicas_ready [STABLE] The number of ready replicas per StatefulSet.\n# TYPE kube_statefulset_status_replicas_ready gauge",
      "# HELP kube_statefulset_status_replicas_updated [STABLE] The number of updated replicas per StatefulSet.\n# TYPE kube_statefulset_status_replicas_updated gauge",
      "# HELP kube_statefulset_replicas [STABLE] Number of desired pods for a StatefulSet.\n# TYPE kube_statefulset_replicas gauge",
      "# HELP kube_statefulset_labels [STABLE] Kubernetes labels converted to Prometheus labels.\n# TYPE kube_statefulset_labels gauge",
  };
  const std::string page = RenderKsmPage(CaptureWorld(), kCaptureTime);
  std::vector<std::string> headers;  // the page's HELP+TYPE pairs, in order
  const std::vector<std::string> lines = Lines(page);
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i].rfind("# HELP ", 0) == 0) headers.push_back(lines[i] + "\n" + lines[i + 1]);
  }
  ASSERT_EQ(headers.size(), std::size(kCapturedHeaders));
  for (std::size_t i = 0; i < headers.size(); ++i) EXPECT_EQ(headers[i], kCapturedHeaders[i]);
  EXPECT_EQ(page.back(), '\n');
}

// ---- the demo world ----

TEST(KsmPageTest, DemoPagesParseWithoutErrors) {
  const World& w = Demo();
  for (double t : {0.0, 1.5 * 86400, 2 * 86400 + 2.5 * 3600, 6.5 * 86400, 7.9 * 86400}) {
    const std::string page = RenderKsmPage(w, t, AllLabels());
    const Parsed p = Parse(page);
    EXPECT_EQ(p.errors, 0) << "t=" << t << ": " << p.first_error;
    EXPECT_GT(p.samples.size(), 1000u);
    for (const auto& [family, n] : p.help_count) {
      EXPECT_EQ(n, 1) << family;
      EXPECT_EQ(p.type_count.at(family), 1) << family;
    }
    for (const Sample& s : p.samples) {
      EXPECT_TRUE(p.help_count.count(s.name)) << s.name;
      EXPECT_TRUE(std::isfinite(s.value)) << s.name;
    }
    EXPECT_EQ(page, RenderKsmPage(w, t, AllLabels()));
  }
}

TEST(KsmPageTest, EveryListedPodHasExactlyOneOwnerLineNamingItsController) {
  const World& w = Demo();
  for (double t : {0.0, 3 * 86400.0, 6.2 * 86400}) {
    const Parsed p = Parse(RenderKsmPage(w, t));
    std::map<std::string, std::vector<Sample>> owners;  // pod uid -> owner lines
    for (const Sample& s : p.Of("kube_pod_owner")) owners[s.Label("uid")].push_back(s);
    int workload_pods = 0;
    for (std::size_t i = 0; i < w.pods.size(); ++i) {
      const SimPod& pod = w.pods[i];
      const bool listed = KsmListsPod(w, static_cast<int>(i), t);
      if (!listed) {
        EXPECT_EQ(owners.count(pod.meta.uid), 0u) << pod.meta.name;
        continue;
      }
      workload_pods += pod.role == PodRole::kWorkload;
      ASSERT_EQ(owners[pod.meta.uid].size(), 1u) << pod.meta.name;
      const Sample& o = owners[pod.meta.uid].front();
      EXPECT_EQ(o.Label("owner_kind"), pod.owner.kind);
      EXPECT_EQ(o.Label("owner_name"), pod.owner.name);
      EXPECT_EQ(o.Label("owner_is_controller"), "true");
      EXPECT_EQ(o.Label("namespace"), pod.meta.namespace_name);
      EXPECT_EQ(o.Label("pod"), pod.meta.name);
    }
    EXPECT_GT(workload_pods, 10);
    EXPECT_EQ(owners.size(), p.Of("kube_pod_info").size());
  }
}

TEST(KsmPageTest, RolloutMovesADeploymentsPodsToANewReplicaSet) {
  const World& w = Demo();
  // A Deployment with two ReplicaSets: the second is the rollout.
  const Controller* rs_old = nullptr;
  const Controller* rs_new = nullptr;
  for (const Controller& a : w.controllers) {
    if (a.kind != "ReplicaSet" || a.workload < 0) continue;
    for (const Controller& b : w.controllers) {
      if (b.kind == "ReplicaSet" && &b != &a && !a.owners.empty() && !b.owners.empty() &&
          a.owners.front().uid == b.owners.front().uid && b.meta.created_s > a.meta.created_s) {
        rs_old = &a;
        rs_new = &b;
      }
    }
    if (rs_new != nullptr) break;
  }
  ASSERT_NE(rs_new, nullptr);
  const std::string deployment = rs_old->owners.front().name;
  auto owners_at = [&](double t) {
    std::set<std::string> rs;
    const Parsed p = Parse(RenderKsmPage(w, t));
    for (const Sample& s : p.Of("kube_pod_owner")) {
      if (s.Label("owner_kind") == "ReplicaSet" && s.Label("owner_name").rfind(deployment + "-", 0) == 0 &&
          s.Label("namespace") == rs_old->meta.namespace_name) {
        rs.insert(s.Label("owner_name"));
      }
    }
    return std::make_pair(rs, p);
  };
  const auto [before, page_before] = owners_at(rs_new->meta.created_s - 3600);
  const auto [after, page_after] = owners_at(rs_new->meta.created_s + 3600);
  EXPECT_EQ(before, std::set<std::string>{rs_old->meta.name});
  EXPECT_EQ(after, std::set<std::string>{rs_new->meta.name});
  // The old ReplicaSet stays, scaled to zero (as kube-state-metrics-885b7d5c8 in the capture); the new one
  // appears only after the rollout.
  auto spec = [&](const Parsed& p, const std::string& rs) {
    for (const Sample& s : p.Of("kube_replicaset_spec_replicas")) {
      if (s.Label("replicaset") == rs) return s.value;
    }
    return -1.0;
  };
  EXPECT_GT(spec(page_before, rs_old->meta.name), 0);
  EXPECT_EQ(spec(page_before, rs_new->meta.name), -1);
  EXPECT_EQ(spec(page_after, rs_old->meta.name), 0);
  EXPECT_GT(spec(page_after, rs_new->meta.name), 0);
  for (const Sample& s : page_after.Of("kube_replicaset_owner")) {
    if (s.Label("replicaset") == rs_new->meta.name) {
      EXPECT_EQ(s.Label("owner_kind"), "Deployment");
      EXPECT_EQ(s.Label("owner_name"), deployment);
    }
  }
}

TEST(KsmPageTest, LabelAllowLists) {
  const World& w = Demo();
  const double t = 86400;
  // Default: no series in the labels families (ksm >= 2.10).
  Parsed p = Parse(RenderKsmPage(w, t));
  EXPECT_TRUE(p.Of("kube_pod_labels").empty());
  EXPECT_TRUE(p.Of("kube_namespace_labels").empty());
  EXPECT_TRUE(p.Of("kube_node_labels").empty());
  EXPECT_EQ(p.help_count["kube_pod_labels"], 1);

  // One key: only it, as label_<sanitised key>; pods without it get the identifying labels alone.
  KsmOptions some = PodLabels({"app.kubernetes.io/name", "pod-template-hash"});
  some.namespace_label_allowlist = {"team"};
  some.node_label_allowlist = {"nvidia.com/gpu.product"};
  p = Parse(RenderKsmPage(w, t, some));
  const std::vector<Sample> pods = p.Of("kube_pod_labels");
  EXPECT_EQ(pods.size(), p.Of("kube_pod_info").size());
  int with_hash = 0;
  for (const Sample& s : pods) {
    for (const auto& [k, v] : s.labels) {
      EXPECT_TRUE(k == "namespace" || k == "pod" || k == "uid" || k == "label_app_kubernetes_io_name" ||
                  k == "label_pod_template_hash")
          << k;
    }
    with_hash += s.Has("label_pod_template_hash") ? 1 : 0;
  }
  EXPECT_GT(with_hash, 0);
  bool search_team = false;
  for (const Sample& s : p.Of("kube_namespace_labels")) {
    if (s.Label("namespace") == "search") search_team = s.Label("label_team") == "search";
    EXPECT_FALSE(s.Has("label_kubernetes_io_metadata_name"));
  }
  EXPECT_TRUE(search_team);
  std::set<std::string> products;
  for (const Sample& s : p.Of("kube_node_labels")) products.insert(s.Label("label_nvidia_com_gpu_product"));
  EXPECT_TRUE(products.count("NVIDIA-H100-80GB-HBM3")) << *products.begin();

  // "*": every label, keys sorted by the original Kubernetes key (page order).
  const std::string page = RenderKsmPage(w, t, PodLabels({"*"}));
  p = Parse(page);
  for (std::size_t i = 0; i < w.pods.size(); ++i) {
    if (!KsmListsPod(w, static_cast<int>(i), t) || w.pods[i].role != PodRole::kWorkload) continue;
    const SimPod& pod = w.pods[i];
    for (const Sample& s : p.Of("kube_pod_labels")) {
      if (s.Label("uid") != pod.meta.uid) continue;
      EXPECT_EQ(s.labels.size(), 3 + pod.meta.labels.size());
      for (const auto& [k, v] : pod.meta.labels) EXPECT_EQ(s.Label(KsmLabelName("label", k)), v) << k;
    }
    break;
  }
}

TEST(KsmPageTest, LabelConflictsAreRenamedAsKsmDoes) {
  // internal/store/utils_test.go: keys that sanitise to the same name get _conflictN in sorted-key order.
  World w = CaptureWorld();
  SimPod& pod = w.pods.back();
  pod.meta.labels = {{"conflicting_label1", "underscore"}, {"conflicting.label1", "dot"},
                     {"conflicting-label1", "hyphen"}, {"conflicting_camelCase", "camel_case"},
                     {"conflicting_camel_case", "snake_case"}};
  const std::string page = RenderKsmPage(w, kCaptureTime, PodLabels({"*"}));
  EXPECT_TRUE(HasLine(
      page, R"(kube_pod_labels{namespace="kube-system",pod="kindnet-98xlt",uid="425270a7-5a38-4d26-a2ae-5f186f3d6493",)"
            R"(label_conflicting_label1_conflict1="hyphen",label_conflicting_label1_conflict2="dot",)"
            R"(label_conflicting_camel_case_conflict1="camel_case",label_conflicting_camel_case_conflict2="snake_case",)"
            R"(label_conflicting_label1_conflict3="underscore"} 1)"))
      << page.substr(page.find("kube_pod_labels{"), 600);
}

TEST(KsmPageTest, CronJobRunsLinkToTheirCronJob) {
  const World& w = Demo();
  const Controller* cron = nullptr;
  for (const Controller& c : w.controllers) {
    if (c.kind == "CronJob") cron = &c;
  }
  ASSERT_NE(cron, nullptr);
  std::set<std::string> runs;
  for (int day = 0; day < 7; ++day) {
    const double t = day * 86400.0 + 2.5 * 3600;  // a nightly run is going (02:00 + 1.5 h)
    const Parsed p = Parse(RenderKsmPage(w, t));
    std::set<std::string> jobs;
    for (const Sample& s : p.Of("kube_job_owner")) {
      if (s.Label("owner_kind") != "CronJob") continue;
      EXPECT_EQ(s.Label("owner_name"), cron->meta.name);
      EXPECT_EQ(s.Label("namespace"), cron->meta.namespace_name);
      EXPECT_EQ(s.Label("job_name").rfind(cron->meta.name + "-", 0), 0u);
      jobs.insert(s.Label("job_name"));
      runs.insert(s.Label("job_name"));
    }
    EXPECT_FALSE(jobs.empty());
    // Each listed run's pods name their Job.
    int run_pods = 0;
    for (const Sample& s : p.Of("kube_pod_owner")) {
      if (s.Label("owner_kind") == "Job" && jobs.count(s.Label("owner_name"))) ++run_pods;
    }
    EXPECT_GE(run_pods, static_cast<int>(jobs.size()));
    double active = -1;
    for (const Sample& s : p.Of("kube_cronjob_status_active")) active = s.value;
    EXPECT_EQ(active, 1) << "day " << day;
  }
  EXPECT_GE(runs.size(), 7u);
  // A standalone Job (embed-backfill) has no owner: empty owner labels.
  const Parsed p = Parse(RenderKsmPage(w, 6.5 * 86400));
  bool standalone = false;
  for (const Sample& s : p.Of("kube_job_owner")) {
    if (s.Label("job_name") == "embed-backfill") {
      standalone = true;
      EXPECT_EQ(s.Label("owner_kind"), "");
      EXPECT_EQ(s.Label("owner_is_controller"), "");
    }
  }
  EXPECT_TRUE(standalone);
}

TEST(KsmPageTest, FinishedJobPodsStayUntilTheirJobIsDeleted) {
  const World& w = Demo();
  const Controller* job = nullptr;
  for (const Controller& c : w.controllers) {
    if (c.kind == "Job" && !c.owners.empty() && c.meta.created_s > 86400 && c.meta.deleted_s < w.options.horizon_s) {
      job = &c;
      break;
    }
  }
  ASSERT_NE(job, nullptr);
  int pod = -1;
  for (std::size_t i = 0; i < w.pods.size(); ++i) {
    if (w.pods[i].owner.uid == job->meta.uid) pod = static_cast<int>(i);
  }
  ASSERT_GE(pod, 0);
  const SimPod& p = w.pods[static_cast<std::size_t>(pod)];
  auto phase = [&](double t) {
    const Parsed parsed = Parse(RenderKsmPage(w, t));
    for (const Sample& s : parsed.Of("kube_pod_status_phase")) {
      if (s.Label("uid") == p.meta.uid && s.value == 1) return s.Label("phase");
    }
    return std::string("absent");
  };
  EXPECT_EQ(phase(p.start_s - 60), "absent");
  EXPECT_EQ(phase(p.start_s + 60), p.node.empty() ? "Pending" : "Running");
  EXPECT_EQ(phase(p.end_s + 3600), "Succeeded");
  EXPECT_EQ(phase(job->meta.deleted_s + 60), "absent");
  const std::string page = RenderKsmPage(w, p.end_s + 3600);
  EXPECT_TRUE(HasLine(page, "kube_job_complete{namespace=\"" + job->meta.namespace_name + "\",job_name=\"" +
                                job->meta.name + "\",condition=\"true\"} 1"));
  EXPECT_TRUE(HasLine(page, "kube_pod_completion_time{namespace=\"" + p.meta.namespace_name + "\",pod=\"" +
                                p.meta.name + "\",uid=\"" + p.meta.uid + "\"} " +
                                FormatKsmValue(std::floor(w.options.epoch_unix_s + p.end_s))));
}

TEST(KsmPageTest, GpuRequestsUseKsmResourceNamesAndUnits) {
  const World& w = Demo();
  const double t = 86400;
  const Parsed p = Parse(RenderKsmPage(w, t));
  std::map<std::string, std::map<std::string, Sample>> requests;  // uid -> resource -> sample
  for (const Sample& s : p.Of("kube_pod_container_resource_requests")) requests[s.Label("uid")][s.Label("resource")] = s;
  std::set<std::string> gpu_resources;
  for (std::size_t i = 0; i < w.pods.size(); ++i) {
    const SimPod& pod = w.pods[i];
    if (!KsmListsPod(w, static_cast<int>(i), t)) continue;
    for (const auto& [resource, quantity] : pod.requests) {
      const std::string name = KsmResourceName(resource);
      ASSERT_TRUE(requests[pod.meta.uid].count(name)) << pod.meta.name << " " << resource;
      const Sample& s = requests[pod.meta.uid][name];
      EXPECT_EQ(s.Label("node"), pod.node);
      EXPECT_EQ(s.Label("container"), pod.container);
      double milli = 0;
      ASSERT_TRUE(ParseKubeQuantityMilli(quantity, &milli));
      if (resource == "cpu") {
        EXPECT_EQ(s.Label("unit"), "core");
        EXPECT_DOUBLE_EQ(s.value, milli / 1000);
      } else if (resource == "memory") {
        EXPECT_EQ(s.Label("unit"), "byte");
        EXPECT_DOUBLE_EQ(s.value, milli / 1000);
      } else {
        EXPECT_EQ(s.Label("unit"), "integer") << resource;
        EXPECT_DOUBLE_EQ(s.value, milli / 1000);
        gpu_resources.insert(name);
      }
    }
  }
  EXPECT_TRUE(gpu_resources.count("nvidia_com_gpu"));
  EXPECT_TRUE(gpu_resources.count("nvidia_com_mig_2g_20gb"));
  EXPECT_TRUE(gpu_resources.count("nvidia_com_gpu_shared"));
  EXPECT_TRUE(gpu_resources.count("nvidia_com_gpumem"));
  // Node capacity carries the device plugin's resources.
  std::set<std::string> node_resources;
  for (const Sample& s : p.Of("kube_node_status_capacity")) {
    if (s.Label("unit") == "integer") node_resources.insert(s.Label("resource"));
  }
  EXPECT_TRUE(node_resources.count("nvidia_com_mig_1g_10gb"));
  EXPECT_TRUE(node_resources.count("pods"));
}

TEST(KsmPageTest, OlderVersionsAsTheyPrinted) {
  const World& w = Demo();
  const double t = 6.5 * 86400;
  // v2.7: "<none>" for a missing owner (changed in v2.8), no qos_class, no last_terminated_timestamp.
  std::string page = RenderKsmPage(w, t, Minor(7));
  EXPECT_TRUE(HasLine(page, R"(kube_job_owner{namespace="search",job_name="embed-backfill",owner_kind="<none>",owner_name="<none>",owner_is_controller="<none>"} 1)"));
  EXPECT_EQ(page.find("kube_pod_status_qos_class"), std::string::npos);
  EXPECT_EQ(page.find("kube_pod_container_status_last_terminated_timestamp"), std::string::npos);
  EXPECT_EQ(page.find("kube_node_status_addresses"), std::string::npos);
  // v2.9: one labels series per object even without an allow-list.
  Parsed p = Parse(RenderKsmPage(w, t, Minor(9)));
  EXPECT_EQ(p.Of("kube_pod_labels").size(), p.Of("kube_pod_info").size());
  for (const Sample& s : p.Of("kube_pod_labels")) EXPECT_EQ(s.labels.size(), 3u);
  // v2.10+: a resource with no objects prints nothing; before, its headers.
  World empty = CaptureWorld();
  empty.controllers.clear();
  empty.pods.clear();
  EXPECT_EQ(RenderKsmPage(empty, kCaptureTime).find("kube_cronjob"), std::string::npos);
  EXPECT_NE(RenderKsmPage(empty, kCaptureTime, Minor(9)).find("# TYPE kube_cronjob_info gauge"),
            std::string::npos);
  // Out-of-range versions clamp.
  EXPECT_EQ(RenderKsmPage(w, t, Minor(99)), RenderKsmPage(w, t));
}

TEST(KsmPageTest, RuntimeAndSchedulingStatesAsKsmReportsThem) {
  World w = CaptureWorld();
  SimPod& web = w.pods[6];
  ASSERT_EQ(web.meta.name, "web-0");
  web.workload = 0;  // runtime applies to workload pods
  SimPod pending = web;
  pending.meta.name = "web-1";
  pending.meta.uid = "uid-web-1";
  pending.node.clear();
  pending.ip.clear();
  w.pods.push_back(pending);
  PodRuntime crash;
  crash.phase = PodPhase::kRunning;
  crash.container.running = false;
  crash.container.waiting_reason = "CrashLoopBackOff";
  crash.container.restarts = 3;
  crash.container.last_reason = "OOMKilled";
  crash.container.last_exit_code = 137;
  crash.container.last_finished_s = 1713873000;
  const std::string page = RenderKsmPage(w, kCaptureTime, {}, [&](int i) { return i == 6 ? &crash : nullptr; });
  const std::string id = R"(namespace="default",pod="web-0",uid="37dd3592-b439-4090-a233-49b8faa2b9b3")";
  for (const std::string& line : std::vector<std::string>{
           "kube_pod_container_status_waiting_reason{" + id + R"(,container="nginx",reason="CrashLoopBackOff"} 1)",
           "kube_pod_container_status_waiting{" + id + R"(,container="nginx"} 1)",
           "kube_pod_container_status_running{" + id + R"(,container="nginx"} 0)",
           "kube_pod_container_status_ready{" + id + R"(,container="nginx"} 0)",
           "kube_pod_container_status_restarts_total{" + id + R"(,container="nginx"} 3)",
           "kube_pod_container_status_last_terminated_reason{" + id + R"(,container="nginx",reason="OOMKilled"} 1)",
           "kube_pod_container_status_last_terminated_exitcode{" + id + R"(,container="nginx"} 137)",
           "kube_pod_container_status_last_terminated_timestamp{" + id + R"(,container="nginx"} 1.713873e+09)",
           "kube_pod_status_phase{" + id + R"(,phase="Running"} 1)",
           "kube_pod_status_ready{" + id + R"(,condition="false"} 1)",
           R"(kube_statefulset_status_replicas_ready{namespace="default",statefulset="web"} 0)",
       }) {
    EXPECT_TRUE(HasLine(page, line)) << "missing: " << line;
  }
  EXPECT_EQ(page.find("kube_pod_container_state_started{" + id), std::string::npos);  // waiting: no start
  // Not placed: PodScheduled=False and Unschedulable (ksm's pod_test.go expects
  // kube_pod_status_unschedulable{namespace="ns2",pod="pod2",uid="uid2"} 1 for such a pod), no container status.
  const std::string pid = R"(namespace="default",pod="web-1",uid="uid-web-1")";
  for (const std::string& line : std::vector<std::string>{
           "kube_pod_status_unschedulable{" + pid + "} 1",
           "kube_pod_status_scheduled{" + pid + R"(,condition="true"} 0)",
           "kube_pod_status_scheduled{" + pid + R"(,condition="false"} 1)",
           "kube_pod_status_phase{" + pid + R"(,phase="Pending"} 1)",
           "kube_pod_info{" + pid +
               R"(,host_ip="",pod_ip="",node="",created_by_kind="StatefulSet",created_by_name="web",priority_class="",host_network="false"} 1)",
       }) {
    EXPECT_TRUE(HasLine(page, line)) << "missing: " << line;
  }
  for (const char* family : {"kube_pod_start_time{", "kube_pod_status_ready{", "kube_pod_container_status_running{",
                             "kube_pod_ips{", "kube_pod_status_scheduled_time{", "kube_pod_container_info{"}) {
    EXPECT_EQ(page.find(family + pid), std::string::npos) << family;
  }
}

TEST(KsmPageTest, SimulatorRuntimeDrivesContainerStatus) {
  const World& w = Demo();
  SimulatorOptions sim_options;
  sim_options.step_s = 15;
  sim_options.start_s = 0;
  Simulator sim(w, sim_options);
  sim.AdvanceTo(86400 + 11 * 3600);
  const std::string page = RenderKsmPage(sim);
  const Parsed p = Parse(page);
  ASSERT_EQ(p.errors, 0) << p.first_error;
  std::map<std::string, double> restarts, ready;
  std::map<std::string, std::string> waiting, last_reason;
  for (const Sample& s : p.Of("kube_pod_container_status_restarts_total")) restarts[s.Label("uid")] = s.value;
  for (const Sample& s : p.Of("kube_pod_container_status_ready")) ready[s.Label("uid")] = s.value;
  for (const Sample& s : p.Of("kube_pod_container_status_waiting_reason")) waiting[s.Label("uid")] = s.Label("reason");
  for (const Sample& s : p.Of("kube_pod_container_status_last_terminated_reason")) {
    last_reason[s.Label("uid")] = s.Label("reason");
  }
  int checked = 0;
  for (std::size_t i = 0; i < w.pods.size(); ++i) {
    const SimPod& pod = w.pods[i];
    if (pod.role != PodRole::kWorkload || !pod.alive(sim.now()) || pod.node.empty()) continue;
    const PodRuntime& rt = sim.pod(static_cast<int>(i));
    if (rt.phase != PodPhase::kRunning) continue;
    ++checked;
    EXPECT_EQ(restarts[pod.meta.uid], rt.container.restarts) << pod.meta.name;
    EXPECT_EQ(ready[pod.meta.uid], rt.container.running && rt.container.ready ? 1 : 0) << pod.meta.name;
    if (!rt.container.running && !rt.container.waiting_reason.empty()) {
      EXPECT_EQ(waiting[pod.meta.uid], rt.container.waiting_reason) << pod.meta.name;
    }
    if (!rt.container.last_reason.empty()) {
      EXPECT_EQ(last_reason[pod.meta.uid], rt.container.last_reason);
    }
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace gpuwise::sim
