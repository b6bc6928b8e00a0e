// Conversion of API objects into the cluster model: quantities parse exactly (and round-trip through their
// canonical text), random JSON never crashes a converter, hand-written payloads in the shape the API server returns
// (a GKE spot node, an EKS node, a MIG mixed node, a HAMi node and pod, a KAI pod, a vLLM pod with args, an
// unschedulable pod, a crash-looping pod, a finished Job pod) read into the right fields, errors name the object and
// the path, and serving engines are found from commands and images.
#include "observe/kube/object_convert.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace gpuwise::observe::kube {
namespace {

using nlohmann::json;
using Nanos = Quantity::Nanos;

Nanos N(long long whole, long long nanos = 0) { return static_cast<Nanos>(whole) * 1'000'000'000 + nanos; }

// ---------------------------------------------------------------------------------------------------------------
// Quantities.

TEST(QuantityTest, ParsesEveryFormExactly) {
  struct Case {
    const char* text;
    Nanos nanos;
  };
  const Case cases[] = {
      {"1", N(1)},
      {"500m", N(0, 500'000'000)},
      {"16Gi", N(17'179'869'184)},
      {"1.5e3", N(1500)},
      {"100Ki", N(102'400)},
      {"2k", N(2000)},
      {"0.1", N(0, 100'000'000)},
      {".5", N(0, 500'000'000)},
      {"5.", N(5)},
      {"+3", N(3)},
      {"-250m", -N(0, 250'000'000)},
      {"1n", 1},
      {"3u", 3000},
      {"1.5Gi", N(1'610'612'736)},
      {"1E", N(1'000'000'000'000'000'000LL)},
      {"1e-3", N(0, 1'000'000)},
      {"12E6", N(12'000'000)},
      {"1Ei", N(1'152'921'504'606'846'976LL)},
      {"0", 0},
      {"000", 0},
      {"0.0001n", 1},             // finer than a nano rounds up
      {"1.0000000001", N(1, 1)},  // ten fraction digits: the tenth rounds the ninth up
      {"129e6", N(129'000'000)},
      {"7.5Mi", N(7'864'320)},
  };
  for (const Case& c : cases) {
    base::Result<Quantity> q = ParseQuantity(c.text);
    ASSERT_TRUE(q.ok()) << c.text << ": " << q.status().message();
    EXPECT_TRUE(q->nanos() == c.nanos) << c.text;
  }
  EXPECT_DOUBLE_EQ(ParseQuantity("16Gi")->ToDouble(), 17179869184.0);
  EXPECT_DOUBLE_EQ(ParseQuantity("500m")->ToDouble(), 0.5);
  EXPECT_EQ(ParseQuantity("500m")->Value(), 1);  // rounds up, as apimachinery's Value()
  EXPECT_EQ(ParseQuantity("2")->Value(), 2);
  EXPECT_FALSE(ParseQuantity("500m")->IsInteger());
  EXPECT_TRUE(ParseQuantity("1k")->IsInteger());
}

TEST(QuantityTest, RejectsMalformedTextWithTheText) {
  for (const char* bad : {"", "abc", "1.2.3", "1Kb", "Ki", "1e", "1e+", "--1", "1 ", " 1", "1ki", "1.5.Gi", ".",
                          "+", "1e3.5", "1ee3", "0x10", "1,5", "1Gi1", "NaN", "inf",
                          "1234567890123456789012345678901234567890", "1e40", "1e1001", "200000000Ei"}) {
    base::Result<Quantity> q = ParseQuantity(bad);
    ASSERT_FALSE(q.ok()) << "\"" << bad << "\" parsed";
    EXPECT_EQ(q.status().code(), base::Code::kInvalidArgument);
    EXPECT_NE(q.status().message().find("quantity \""), std::string::npos) << q.status().message();
  }
}

TEST(QuantityTest, CanonicalTextIsWhatTheApiServerWrites) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const Case& c : std::initializer_list<Case>{{"1.5Gi", "1536Mi"}, {"0.5", "500m"}, {"2000", "2k"},
                                                   {"1.5e3", "1500"}, {"1024", "1024"}, {"1Ki", "1Ki"},
                                                   {"1536", "1536"}, {"12e6", "12e6"}, {"0.5Gi", "512Mi"},
                                                   {"100m", "100m"}, {"0", "0"}, {"1.5Ki", "1536"}}) {
    EXPECT_EQ(ParseQuantity(c.in)->ToString(), c.out) << c.in;
  }
}

// The value a generated quantity must have, computed from its parts (independently of the parser's digit loop).
struct GeneratedQuantity {
  std::string text;
  Nanos nanos = 0;
};

rc::Gen<GeneratedQuantity> GenQuantity() {
  return rc::gen::exec([] {
    const auto mantissa = *rc::gen::inRange<long long>(0, 10'000'000);
    const int frac = *rc::gen::inRange(0, 4);  // digits after the point
    const bool negative = *rc::gen::arbitrary<bool>();
    const int kind = *rc::gen::inRange(0, 3);  // 0 decimal SI, 1 binary SI, 2 exponent
    Nanos scaled = mantissa;                   // mantissa x 10^-frac is the number written
    std::string digits = std::to_string(mantissa);
    while (static_cast<int>(digits.size()) <= frac) digits.insert(0, "0");
    std::string number = frac == 0 ? digits : digits.substr(0, digits.size() - frac) + "." + digits.substr(digits.size() - frac);
    GeneratedQuantity g;
    auto exact = [&](Nanos numerator, int pow10) {  // numerator x 10^pow10, rounded up to a whole nano
      if (pow10 >= 0) {
        for (int i = 0; i < pow10; ++i) numerator *= 10;
        return numerator;
      }
      Nanos div = 1;
      for (int i = 0; i < -pow10; ++i) div *= 10;
      return numerator / div + (numerator % div != 0 ? 1 : 0);
    };
    if (kind == 0) {
      static const std::pair<const char*, int> kSuffix[] = {{"n", -9}, {"u", -6}, {"m", -3}, {"", 0}, {"k", 3},
                                                            {"M", 6},  {"G", 9},  {"T", 12}, {"P", 15}};
      const auto& [s, e] = *rc::gen::elementOf(std::vector<std::pair<const char*, int>>(std::begin(kSuffix), std::end(kSuffix)));
      g.text = number + s;
      g.nanos = exact(scaled, 9 + e - frac);
    } else if (kind == 1) {
      const int k = *rc::gen::inRange(1, 6);
      static const char* kSuffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
      g.text = number + kSuffix[k];
      g.nanos = exact(scaled << (10 * k), 9 - frac);
    } else {
      const int e = *rc::gen::inRange(-12, 13);
      g.text = number + (*rc::gen::arbitrary<bool>() ? "e" : "E") + std::to_string(e);
      g.nanos = exact(scaled, 9 + e - frac);
    }
    if (negative) {
      g.text = "-" + g.text;
      g.nanos = -g.nanos;
    }
    return g;
  });
}

RC_GTEST_PROP(QuantityProperty, RandomQuantitiesParseToTheirValueAndRoundTrip, ()) {
  const GeneratedQuantity g = *GenQuantity();
  base::Result<Quantity> q = ParseQuantity(g.text);
  RC_ASSERT(q.ok());
  RC_ASSERT(q->nanos() == g.nanos);
  const std::string canonical = q->ToString();
  base::Result<Quantity> again = ParseQuantity(canonical);
  RC_ASSERT(again.ok());
  RC_ASSERT(again->nanos() == g.nanos);
  RC_ASSERT(again->ToString() == canonical);  // the canonical form is a fixed point
}

RC_GTEST_PROP(QuantityProperty, ArbitraryTextNeverCrashes, ()) {
  const std::string text = *rc::gen::container<std::string>(rc::gen::elementOf(
      std::string("0123456789.+-eEkKmMGTPinu x")));
  base::Result<Quantity> q = ParseQuantity(text);
  if (q.ok()) {
    RC_ASSERT(ParseQuantity(q->ToString()).ok());
    RC_ASSERT(ParseQuantity(q->ToString())->nanos() == q->nanos());
  } else {
    RC_ASSERT(q.status().code() == base::Code::kInvalidArgument);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Nodes.

const char* kGkeSpotNode = R"({
  "kind": "Node", "apiVersion": "v1",
  "metadata": {
    "name": "gke-ml-l4-spot-3f2a1b9c-x7kq",
    "uid": "7d3f6a2e-1b2c-4d5e-8f90-0a1b2c3d4e5f",
    "resourceVersion": "83412991",
    "creationTimestamp": "2026-11-10T08:14:03Z",
    "labels": {
      "beta.kubernetes.io/arch": "amd64",
      "beta.kubernetes.io/instance-type": "g2-standard-24",
      "cloud.google.com/gke-accelerator": "nvidia-l4",
      "cloud.google.com/gke-nodepool": "l4-spot",
      "cloud.google.com/gke-spot": "true",
      "cloud.google.com/gke-provisioning": "spot",
      "failure-domain.beta.kubernetes.io/region": "us-central1",
      "failure-domain.beta.kubernetes.io/zone": "us-central1-a",
      "kubernetes.io/hostname": "gke-ml-l4-spot-3f2a1b9c-x7kq",
      "node.kubernetes.io/instance-type": "g2-standard-24",
      "topology.kubernetes.io/region": "us-central1",
      "topology.kubernetes.io/zone": "us-central1-a"
    },
    "annotations": {"container.googleapis.com/instance_id": "1234567890123456789",
                     "node.alpha.kubernetes.io/ttl": "0"}
  },
  "spec": {
    "podCIDR": "10.84.3.0/24",
    "providerID": "gce://ml-prod/us-central1-a/gke-ml-l4-spot-3f2a1b9c-x7kq",
    "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
               {"key": "cloud.google.com/gke-spot", "value": "true", "effect": "NoSchedule"}]
  },
  "status": {
    "capacity": {"cpu": "24", "ephemeral-storage": "98831908Ki", "hugepages-1Gi": "0", "memory": "98904508Ki",
                 "nvidia.com/gpu": "2", "pods": "110"},
    "allocatable": {"cpu": "23890m", "ephemeral-storage": "47060071478", "hugepages-1Gi": "0",
                    "memory": "89441212Ki", "nvidia.com/gpu": "2", "pods": "110"},
    "conditions": [
      {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
      {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
    ],
    "nodeInfo": {"kubeletVersion": "v1.30.5-gke.1014001", "containerRuntimeVersion": "containerd://1.7.22"}
  }
})";

TEST(NodeFromJsonTest, GkeSpotNode) {
  base::Result<model::Node> n = NodeFromJson(json::parse(kGkeSpotNode));
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->name, "gke-ml-l4-spot-3f2a1b9c-x7kq");
  EXPECT_EQ(n->uid, "7d3f6a2e-1b2c-4d5e-8f90-0a1b2c3d4e5f");
  EXPECT_EQ(n->provider_id, "gce://ml-prod/us-central1-a/gke-ml-l4-spot-3f2a1b9c-x7kq");
  EXPECT_EQ(n->instance_type, "g2-standard-24");
  EXPECT_EQ(n->region, "us-central1");
  EXPECT_EQ(n->zone, "us-central1-a");
  EXPECT_EQ(n->capacity_type, model::CapacityType::kSpot);
  EXPECT_EQ(n->capacity_type_source, "cloud.google.com/gke-spot");
  EXPECT_TRUE(n->ready);
  EXPECT_FALSE(n->unschedulable);
  EXPECT_DOUBLE_EQ(n->cpu_allocatable, 23.89);
  EXPECT_DOUBLE_EQ(n->memory_allocatable_bytes, 89441212.0 * 1024);
  EXPECT_EQ(n->allocatable, (std::map<std::string, double>{{"nvidia.com/gpu", 2}}));
  EXPECT_EQ(n->capacity, (std::map<std::string, double>{{"nvidia.com/gpu", 2}}));
  ASSERT_EQ(n->taints.size(), 2u);
  EXPECT_EQ(n->taints[1], (model::Taint{"cloud.google.com/gke-spot", "true", "NoSchedule"}));
  EXPECT_EQ(n->created_unix_s, 1794298443);  // 2026-11-10T08:14:03Z
  EXPECT_TRUE(n->HasGpus());                  // no GFD labels here (GKE's own driver installer), the resource says so
  EXPECT_EQ(n->gpu_count, 0);
  EXPECT_EQ(n->backend, model::FractionalBackend::kNone);
}

const char* kEksNode = R"({
  "metadata": {
    "name": "ip-10-0-87-12.ec2.internal",
    "uid": "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5",
    "creationTimestamp": "2026-10-02T21:40:11Z",
    "labels": {
      "beta.kubernetes.io/instance-type": "p4d.24xlarge",
      "eks.amazonaws.com/capacityType": "ON_DEMAND",
      "eks.amazonaws.com/nodegroup": "a100",
      "failure-domain.beta.kubernetes.io/region": "us-east-1",
      "failure-domain.beta.kubernetes.io/zone": "us-east-1b",
      "nvidia.com/gpu.count": "8",
      "nvidia.com/gpu.memory": "40960",
      "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB",
      "nvidia.com/gpu.replicas": "1",
      "nvidia.com/gpu.sharing-strategy": "none",
      "nvidia.com/mig.strategy": "single",
      "nvidia.com/mig.config": "all-disabled",
      "nvidia.com/mig.config.state": "success",
      "nvidia.com/gpu.present": "true"
    }
  },
  "spec": {"providerID": "aws:///us-east-1b/i-0a1b2c3d4e5f67890", "unschedulable": true,
           "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
                       "timeAdded": "2026-11-20T10:00:00Z"}]},
  "status": {
    "capacity": {"cpu": "96", "memory": "1176957532Ki", "nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "4"},
    "allocatable": {"cpu": "95690m", "memory": "1154655828Ki", "nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "4"},
    "conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown"}]
  }
})";

TEST(NodeFromJsonTest, EksNodeWithBetaLabelsCordonedAndNotReady) {
  base::Result<model::Node> n = NodeFromJson(json::parse(kEksNode));
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->instance_type, "p4d.24xlarge");  // only the beta label is set
  EXPECT_EQ(n->region, "us-east-1");
  EXPECT_EQ(n->zone, "us-east-1b");
  EXPECT_EQ(n->capacity_type, model::CapacityType::kOnDemand);
  EXPECT_EQ(n->capacity_type_source, "eks.amazonaws.com/capacityType");
  EXPECT_TRUE(n->unschedulable);
  EXPECT_FALSE(n->ready);
  EXPECT_EQ(n->gpu_product, "NVIDIA-A100-SXM4-40GB");
  EXPECT_EQ(n->gpu_count, 8);
  EXPECT_DOUBLE_EQ(n->gpu_memory_mib, 40960);
  EXPECT_EQ(n->gpu_replicas, 1);
  EXPECT_EQ(n->sharing_strategy, "none");
  EXPECT_EQ(n->mig_strategy, "single");
  EXPECT_EQ(n->mig_config, "all-disabled");
  EXPECT_EQ(n->mig_config_state, "success");
  // Every extended resource is kept, GPU or not.
  EXPECT_DOUBLE_EQ(n->allocatable.at("vpc.amazonaws.com/efa"), 4);
  EXPECT_DOUBLE_EQ(n->cpu_allocatable, 95.69);
}

const char* kMigMixedNode = R"({
  "metadata": {
    "name": "h100-mig-0",
    "labels": {
      "karpenter.sh/capacity-type": "reserved",
      "node.kubernetes.io/instance-type": "p5.48xlarge",
      "nvidia.com/gpu.count": "8",
      "nvidia.com/gpu.memory": "81559",
      "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
      "nvidia.com/gpu.replicas": "0",
      "nvidia.com/mig.strategy": "mixed",
      "nvidia.com/mig.config": "all-balanced",
      "nvidia.com/mig.config.state": "pending",
      "nvidia.com/mig-1g.10gb.count": "16",
      "nvidia.com/mig-3g.40gb.count": "8",
      "nvidia.com/device-plugin.config": "h100-mixed"
    }
  },
  "status": {
    "capacity": {"nvidia.com/mig-1g.10gb": "16", "nvidia.com/mig-2g.20gb": "8", "nvidia.com/mig-3g.40gb": "8",
                 "nvidia.com/mig-1g.10gb.me": "0"},
    "allocatable": {"nvidia.com/mig-1g.10gb": "16", "nvidia.com/mig-2g.20gb": "8", "nvidia.com/mig-3g.40gb": "8",
                    "nvidia.com/mig-1g.10gb.me": "0"},
    "conditions": [{"type": "Ready", "status": "True"}]
  }
})";

TEST(NodeFromJsonTest, MigMixedNode) {
  base::Result<model::Node> n = NodeFromJson(json::parse(kMigMixedNode));
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->mig_strategy, "mixed");
  EXPECT_EQ(n->mig_config, "all-balanced");
  EXPECT_EQ(n->mig_config_state, "pending");
  EXPECT_EQ(n->device_plugin_config, "h100-mixed");
  EXPECT_EQ(n->gpu_replicas, 1);  // "0" = no sharing config (mixed parent): one user per device
  EXPECT_EQ(n->capacity_type, model::CapacityType::kReserved);
  EXPECT_EQ(n->capacity_type_source, "karpenter.sh/capacity-type");
  EXPECT_DOUBLE_EQ(n->allocatable.at("nvidia.com/mig-3g.40gb"), 8);
  EXPECT_DOUBLE_EQ(n->allocatable.at("nvidia.com/mig-1g.10gb.me"), 0);
  EXPECT_EQ(n->allocatable.size(), 4u);
  EXPECT_EQ(n->instance_type, "p5.48xlarge");
  EXPECT_EQ(n->region, "");  // no region label: unknown, not guessed
}

TEST(NodeFromJsonTest, HamiNodeFromResourcesOrAnnotations) {
  json by_annotation = json::parse(R"({
    "metadata": {"name": "a100-hami-1", "labels": {"gpu": "on"},
                 "annotations": {"hami.io/node-handshake": "Reported 2026-11-20 10:00:00",
                                 "hami.io/node-nvidia-register": "GPU-1,10,40960,100,NVIDIA-A100-SXM4-40GB,0,true:"}},
    "status": {"allocatable": {"nvidia.com/gpu": "80"}}})");
  base::Result<model::Node> a = NodeFromJson(by_annotation);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->backend, model::FractionalBackend::kHami);
  json by_resource = json::parse(R"({"metadata": {"name": "n"},
    "status": {"capacity": {"nvidia.com/gpu": "10", "nvidia.com/gpumem": "40960", "nvidia.com/gpucores": "100"}}})");
  EXPECT_EQ(NodeFromJson(by_resource)->backend, model::FractionalBackend::kHami);
  json kai = json::parse(R"({"metadata": {"name": "n", "labels": {"kai.scheduler/node-pool": "inference"}}})");
  EXPECT_EQ(NodeFromJson(kai)->backend, model::FractionalBackend::kKai);
  json plain = json::parse(R"({"metadata": {"name": "n", "labels": {"gpu": "on"}}})");
  EXPECT_EQ(NodeFromJson(plain)->backend, model::FractionalBackend::kNone);  // gpu=on alone says nothing
}

TEST(NodeFromJsonTest, BadGfdLabelValuesAreWarningsNamingNodeAndKey) {
  json node = json::parse(R"({"metadata": {"name": "odd", "labels": {
      "nvidia.com/gpu.count": "eight", "nvidia.com/gpu.memory": "-1", "nvidia.com/gpu.replicas": "2.5"}}})");
  std::vector<std::string> warnings;
  base::Result<model::Node> n = NodeFromJson(node, &warnings);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->gpu_count, 0);
  EXPECT_EQ(n->gpu_replicas, 1);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[0].find("node odd: label nvidia.com/gpu.count: \"eight\""), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("nvidia.com/gpu.memory"), std::string::npos);
  EXPECT_NE(warnings[2].find("nvidia.com/gpu.replicas"), std::string::npos);
}

TEST(CapacityTypeTest, EachCloudsLabel) {
  using model::CapacityType;
  struct Case {
    model::Labels labels;
    CapacityType want;
    const char* source;
  };
  const Case cases[] = {
      {{{"karpenter.sh/capacity-type", "spot"}}, CapacityType::kSpot, "karpenter.sh/capacity-type"},
      {{{"karpenter.sh/capacity-type", "on-demand"}}, CapacityType::kOnDemand, "karpenter.sh/capacity-type"},
      {{{"eks.amazonaws.com/capacityType", "SPOT"}}, CapacityType::kSpot, "eks.amazonaws.com/capacityType"},
      {{{"eks.amazonaws.com/capacityType", "CAPACITY_BLOCK"}}, CapacityType::kReserved,
       "eks.amazonaws.com/capacityType"},
      {{{"cloud.google.com/gke-preemptible", "true"}}, CapacityType::kSpot, "cloud.google.com/gke-preemptible"},
      {{{"cloud.google.com/gke-provisioning", "standard"}}, CapacityType::kOnDemand,
       "cloud.google.com/gke-provisioning"},
      {{{"kubernetes.azure.com/scalesetpriority", "spot"}}, CapacityType::kSpot,
       "kubernetes.azure.com/scalesetpriority"},
      {{{"node.kubernetes.io/lifecycle", "spot"}}, CapacityType::kSpot, "node.kubernetes.io/lifecycle"},
      {{{"node.kubernetes.io/lifecycle", "normal"}}, CapacityType::kOnDemand, "node.kubernetes.io/lifecycle"},
      // Karpenter's label wins over the managed node group's; an unknown value falls through to the next label.
      {{{"karpenter.sh/capacity-type", "spot"}, {"eks.amazonaws.com/capacityType", "ON_DEMAND"}},
       CapacityType::kSpot, "karpenter.sh/capacity-type"},
      {{{"karpenter.sh/capacity-type", "weird"}, {"eks.amazonaws.com/capacityType", "ON_DEMAND"}},
       CapacityType::kOnDemand, "eks.amazonaws.com/capacityType"},
      {{{"cloud.google.com/gke-spot", "false"}}, CapacityType::kUnknown, ""},
      {{}, CapacityType::kUnknown, ""},
  };
  for (const Case& c : cases) {
    auto [type, source] = CapacityTypeFromLabels(c.labels);
    EXPECT_EQ(type, c.want) << c.source;
    EXPECT_EQ(source, c.source);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pods.

const char* kHamiPod = R"({
  "metadata": {
    "name": "intent-classifier-7f9c8d6b5-abcde", "namespace": "support",
    "uid": "11111111-2222-3333-4444-555555555555",
    "creationTimestamp": "2026-11-18T09:00:00Z",
    "labels": {"app.kubernetes.io/name": "intent-classifier", "pod-template-hash": "7f9c8d6b5"},
    "annotations": {"hami.io/vgpu-node": "a100-hami-1", "hami.io/bind-phase": "success",
                    "hami.io/vgpu-devices-allocated": "GPU-0a1b,NVIDIA,16384,25:;"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "intent-classifier-7f9c8d6b5",
                         "uid": "rs-uid-1", "controller": true, "blockOwnerDeletion": true}]
  },
  "spec": {
    "schedulerName": "hami-scheduler",
    "nodeName": "a100-hami-1",
    "containers": [{
      "name": "server", "image": "nvcr.io/nvidia/tritonserver:24.08-py3",
      "command": ["tritonserver"], "args": ["--model-repository=/models", "--metrics-port=9002"],
      "ports": [{"name": "http", "containerPort": 8000}, {"name": "metrics", "containerPort": 9002}],
      "resources": {
        "limits": {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "16384", "nvidia.com/gpucores": "25",
                   "memory": "16Gi"},
        "requests": {"cpu": "4", "memory": "16Gi"}
      }
    }]
  },
  "status": {"phase": "Running", "podIP": "10.42.3.17", "startTime": "2026-11-18T09:00:05Z",
             "containerStatuses": [{"name": "server", "ready": true, "restartCount": 0,
                                    "state": {"running": {"startedAt": "2026-11-18T09:01:00Z"}}}]}
})";

TEST(PodFromJsonTest, HamiPodLimitsOnlyCountAsRequests) {
  base::Result<model::Pod> p = PodFromJson(json::parse(kHamiPod));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->namespace_name, "support");
  EXPECT_EQ(p->node, "a100-hami-1");
  EXPECT_EQ(p->scheduler_name, "hami-scheduler");
  ASSERT_EQ(p->containers.size(), 1u);
  const model::GpuRequest& g = p->containers[0].gpu;
  EXPECT_EQ(g.gpus, 1);
  EXPECT_DOUBLE_EQ(g.hami_gpumem_mib, 16384);
  EXPECT_DOUBLE_EQ(g.hami_gpucores_percent, 25);
  EXPECT_TRUE(g.other.empty());
  EXPECT_DOUBLE_EQ(p->containers[0].cpu_request, 4);
  EXPECT_DOUBLE_EQ(p->containers[0].memory_request_bytes, 16.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(p->containers[0].ports, (std::vector<int>{8000, 9002}));
  ASSERT_EQ(p->owners.size(), 1u);
  EXPECT_EQ(p->owners[0], (model::OwnerRef{"apps/v1", "ReplicaSet", "intent-classifier-7f9c8d6b5", "rs-uid-1"}));
  EXPECT_EQ(p->ip, "10.42.3.17");
  EXPECT_EQ(p->start_unix_s, 1794992405);
  EXPECT_EQ(p->end_unix_s, 0);
  EXPECT_TRUE(p->containers[0].running);
  EXPECT_TRUE(p->containers[0].ready);
  EXPECT_EQ(p->engine.name, "triton");
  EXPECT_EQ(p->engine.metrics_port, 9002);
  EXPECT_EQ(p->engine.model, "/models");
}

const char* kKaiPod = R"({
  "metadata": {
    "name": "notebook-0", "namespace": "research",
    "labels": {"kai.scheduler/queue": "research", "runai-gpu-group": "8f2d"},
    "annotations": {"gpu-fraction": "0.5", "gpu-fraction-container-name": "jupyter", "pod-group-name": "pg-notebook-0"}
  },
  "spec": {
    "schedulerName": "kai-scheduler",
    "nodeName": "l40s-2",
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                    {"key": "team", "operator": "Equal", "value": "research", "effect": "NoSchedule"}],
    "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-L40S"},
    "containers": [
      {"name": "sidecar", "image": "busybox", "args": ["sleep", "infinity"]},
      {"name": "jupyter", "image": "quay.io/jupyter/pytorch-notebook:cuda12-2024-10-07",
       "env": [{"name": "JUPYTER_ENABLE_LAB", "value": "yes"},
               {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "nb", "key": "token"}}}],
       "ports": [{"containerPort": 8888}]}
    ]
  },
  "status": {"phase": "Running"}
})";

TEST(PodFromJsonTest, KaiFractionGoesToTheNamedContainer) {
  base::Result<model::Pod> p = PodFromJson(json::parse(kKaiPod));
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->containers.size(), 2u);
  EXPECT_TRUE(p->containers[0].gpu.Empty());
  EXPECT_DOUBLE_EQ(p->containers[1].gpu.kai_fraction, 0.5);
  EXPECT_DOUBLE_EQ(p->GpuTotal().kai_fraction, 0.5);
  EXPECT_TRUE(p->RequestsGpu());
  EXPECT_EQ(p->scheduler_name, "kai-scheduler");
  ASSERT_EQ(p->tolerations.size(), 2u);
  EXPECT_EQ(p->tolerations[0], (model::Taint{"nvidia.com/gpu", "*", "NoSchedule"}));
  EXPECT_EQ(p->tolerations[1], (model::Taint{"team", "research", "NoSchedule"}));
  EXPECT_EQ(p->node_selector.at("nvidia.com/gpu.product"), "NVIDIA-L40S");
  // Literal env values only: a Secret reference is never resolved.
  EXPECT_EQ(p->containers[1].env, (std::map<std::string, std::string>{{"JUPYTER_ENABLE_LAB", "yes"}}));
  EXPECT_TRUE(p->owners.empty());
  EXPECT_EQ(p->Top().kind, "Pod");
  EXPECT_FALSE(p->engine.Found());
}

TEST(PodFromJsonTest, RequiredPodAntiAffinityByHostnameIsRead) {
  json pod = json::parse(kKaiPod);
  pod["metadata"]["labels"] = {{"app", "chat"}, {"tier", "serving"}};
  json terms = json::array();
  terms.push_back({{"topologyKey", "kubernetes.io/hostname"}, {"labelSelector", {{"matchLabels", {{"app", "chat"}}}}}});
  pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = terms;
  // A preferred term constrains nothing a plan must keep.
  pod["spec"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] =
      json::array({{{"weight", 100}, {"podAffinityTerm", {{"topologyKey", "topology.kubernetes.io/zone"}}}}});
  base::Result<model::Pod> p = PodFromJson(pod);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->anti_affinity.hostname.size(), 1u);
  EXPECT_EQ(p->anti_affinity.hostname[0], (model::Labels{{"app", "chat"}}));
  EXPECT_FALSE(p->anti_affinity.other);
  EXPECT_TRUE(p->anti_affinity.Selects(p->labels));  // it keeps its own replicas apart
  EXPECT_FALSE(p->anti_affinity.Selects({{"app", "embed"}}));

  // A zone term or a matchExpressions selector is not read as a node rule: `other` says so.
  terms.push_back({{"topologyKey", "topology.kubernetes.io/zone"}, {"labelSelector", {{"matchLabels", {{"app", "chat"}}}}}});
  pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = terms;
  p = PodFromJson(pod);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->anti_affinity.hostname.size(), 1u);
  EXPECT_TRUE(p->anti_affinity.other);
  terms = json::array({{{"topologyKey", "kubernetes.io/hostname"},
                        {"labelSelector", {{"matchExpressions", json::array({{{"key", "app"}, {"operator", "In"}, {"values", {"chat"}}}})}}}}});
  pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = terms;
  p = PodFromJson(pod);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->anti_affinity.hostname.empty());
  EXPECT_TRUE(p->anti_affinity.other);

  // Malformed: the path is named.
  pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json::array({"x"});
  p = PodFromJson(pod);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"),
            std::string::npos) << p.status().message();
}

TEST(PodFromJsonTest, KaiMemoryAndMultiDeviceAndBadValues) {
  json pod = json::parse(kKaiPod);
  pod["metadata"]["annotations"] = {{"gpu-memory", "2000"}, {"gpu-fraction", "0.25"},
                                    {"gpu-fraction-num-devices", "4"}};
  base::Result<model::Pod> p = PodFromJson(pod);
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(p->containers[0].gpu.kai_fraction, 1.0);  // 0.25 of each of 4 devices
  EXPECT_DOUBLE_EQ(p->containers[0].gpu.kai_memory_mib, 8000);
  pod["metadata"]["annotations"] = {{"gpu-fraction", "1.5"}, {"gpu-fraction-container-name", "nope"}};
  std::vector<std::string> warnings;
  p = PodFromJson(pod, &warnings);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->GpuTotal().Empty());
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("pod research/notebook-0: annotation gpu-fraction-container-name"), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("annotation gpu-fraction: \"1.5\""), std::string::npos) << warnings[1];
}

const char* kVllmPod = R"({
  "metadata": {
    "name": "llama-3-70b-chat-5d8f7c9b4-q2w3e", "namespace": "search",
    "annotations": {"prometheus.io/scrape": "true"},
    "ownerReferences": [
      {"apiVersion": "v1", "kind": "ConfigMap", "name": "not-the-controller", "uid": "cm"},
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "llama-3-70b-chat-5d8f7c9b4", "uid": "rs",
       "controller": true}]
  },
  "spec": {
    "nodeName": "h100-0",
    "containers": [{
      "name": "vllm", "image": "vllm/vllm-openai:v0.6.3",
      "command": ["vllm", "serve"],
      "args": ["meta-llama/Meta-Llama-3-70B-Instruct", "--enforce-eager", "--gpu-memory-utilization", "0.85",
               "--tensor-parallel-size=4", "--max-model-len", "8192", "--port", "8080"],
      "ports": [{"name": "http", "containerPort": 8080}],
      "resources": {"requests": {"nvidia.com/gpu": "4"}, "limits": {"nvidia.com/gpu": "4"}}
    }]
  },
  "status": {"phase": "Running"}
})";

TEST(PodFromJsonTest, VllmPodWithArgs) {
  base::Result<model::Pod> p = PodFromJson(json::parse(kVllmPod));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->containers[0].gpu.gpus, 4);
  ASSERT_EQ(p->owners.size(), 1u);
  EXPECT_EQ(p->owners[0].kind, "ReplicaSet");  // controller=true wins over the first reference
  const model::ServingEngine& e = p->engine;
  EXPECT_EQ(e.name, "vllm");
  EXPECT_EQ(e.container, "vllm");
  EXPECT_EQ(e.evidence, "command 'vllm serve'");
  EXPECT_EQ(e.model, "meta-llama/Meta-Llama-3-70B-Instruct");
  EXPECT_DOUBLE_EQ(e.gpu_memory_utilization, 0.85);
  EXPECT_EQ(e.tensor_parallel, 4);
  EXPECT_EQ(e.metrics_port, 8080);
  EXPECT_EQ(e.flags.at("max-model-len"), "8192");
  EXPECT_EQ(e.flags.at("enforce-eager"), "");
}

const char* kUnschedulablePod = R"({
  "metadata": {"name": "ranker-finetune-x8k2p", "namespace": "research",
               "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "ranker-finetune", "uid": "j",
                                    "controller": true}]},
  "spec": {"containers": [{"name": "pytorch", "image": "nvcr.io/nvidia/pytorch:24.08-py3",
                           "resources": {"limits": {"nvidia.com/gpu": 8}}}]},
  "status": {"phase": "Pending",
             "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                             "lastTransitionTime": "2026-11-20T10:00:00Z",
                             "message": "0/10 nodes are available: 10 Insufficient nvidia.com/gpu. preemption: 0/10 nodes are available: 10 No preemption victims found for incoming pod."}]}
})";

TEST(PodFromJsonTest, UnschedulablePodKeepsTheSchedulersMessage) {
  base::Result<model::Pod> p = PodFromJson(json::parse(kUnschedulablePod));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->phase, "Pending");
  EXPECT_EQ(p->node, "");
  EXPECT_EQ(p->unschedulable_message.rfind("0/10 nodes are available: 10 Insufficient nvidia.com/gpu.", 0), 0u);
  EXPECT_EQ(p->containers[0].gpu.gpus, 8);  // a JSON number is a quantity too
  EXPECT_FALSE(p->engine.Found());
}

TEST(PodFromJsonTest, CrashLoopAndFinishedAndDeletedPods) {
  json crash = json::parse(R"({
    "metadata": {"name": "faq-bot-1", "namespace": "support"},
    "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:latest",
                             "args": ["--model", "Qwen/Qwen2.5-7B-Instruct", "--gpu-memory-utilization", "0.3"]}]},
    "status": {"phase": "Running", "containerStatuses": [{
      "name": "vllm", "ready": false, "restartCount": 7,
      "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
      "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-20T10:03:00Z"}}}]}})");
  base::Result<model::Pod> p = PodFromJson(crash);
  ASSERT_TRUE(p.ok()) << p.status().message();
  const model::Container& k = p->containers[0];
  EXPECT_EQ(k.restarts, 7);
  EXPECT_EQ(k.waiting_reason, "CrashLoopBackOff");
  EXPECT_EQ(k.last_exit_code, 1);
  EXPECT_EQ(k.last_reason, "Error");
  EXPECT_FALSE(k.running);
  EXPECT_EQ(p->end_unix_s, 0);  // still Running: a restart is not an end
  // Engine from the image; the args are the entrypoint's flags.
  EXPECT_EQ(p->engine.name, "vllm");
  EXPECT_EQ(p->engine.evidence, "image vllm/vllm-openai:latest");
  EXPECT_EQ(p->engine.model, "Qwen/Qwen2.5-7B-Instruct");
  EXPECT_DOUBLE_EQ(p->engine.gpu_memory_utilization, 0.3);
  EXPECT_EQ(p->engine.metrics_port, 8000);  // vLLM's default API port

  json done = json::parse(R"({
    "metadata": {"name": "nightly-summaries-29390520-7xk2m", "namespace": "support"},
    "spec": {"containers": [
      {"name": "worker", "image": "nvcr.io/nvidia/pytorch:24.08-py3"},
      {"name": "uploader", "image": "amazon/aws-cli"}]},
    "status": {"phase": "Succeeded", "startTime": "2026-11-20T02:00:04Z", "containerStatuses": [
      {"name": "worker", "ready": false, "restartCount": 0,
       "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": "2026-11-20T03:31:10Z"}}},
      {"name": "uploader", "ready": false, "restartCount": 0,
       "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": "2026-11-20T03:32:00Z"}}}]}})");
  p = PodFromJson(done);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->end_unix_s, 1795145520);  // the later finishedAt, 03:32:00
  EXPECT_EQ(p->containers[0].terminated_reason, "Completed");

  json deleted = done;
  deleted["status"]["phase"] = "Running";
  deleted["metadata"]["deletionTimestamp"] = "2026-11-20T04:00:00Z";
  p = PodFromJson(deleted);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->end_unix_s, 1795147200);
}

TEST(PodFromJsonTest, EveryGpuResourceKind) {
  json pod = json::parse(R"({
    "metadata": {"name": "p", "namespace": "n"},
    "spec": {"containers": [
      {"name": "a", "resources": {"limits": {"nvidia.com/mig-1g.10gb": "2", "nvidia.com/mig-1g.10gb.me": "1",
                                             "nvidia.com/gpu.shared": "1", "amd.com/gpu": "1",
                                             "nvidia.com/priority": "1", "rdma/hca_shared_devices_a": "1",
                                             "nvidia.com/gpumem-percentage": "50"}}},
      {"name": "b", "resources": {"requests": {"nvidia.com/mig-3g.40gb": "1", "nvidia.com/gpu": "2"},
                                  "limits": {"nvidia.com/mig-3g.40gb": "1", "nvidia.com/gpu": "2",
                                             "habana.ai/gaudi": "1", "gpu.intel.com/i915": "1"}}}]}})");
  base::Result<model::Pod> p = PodFromJson(pod);
  ASSERT_TRUE(p.ok()) << p.status().message();
  const model::GpuRequest& a = p->containers[0].gpu;
  EXPECT_EQ(a.mig, (std::map<std::string, int>{{"1g.10gb", 2}, {"1g.10gb+me", 1}}));
  EXPECT_EQ(a.shared, 1);
  EXPECT_DOUBLE_EQ(a.hami_gpumem_percent, 50);
  EXPECT_EQ(a.other, (std::map<std::string, double>{{"amd.com/gpu", 1}}));  // priority and RDMA are not GPUs
  const model::GpuRequest total = p->GpuTotal();
  EXPECT_EQ(total.gpus, 2);
  EXPECT_EQ(total.mig, (std::map<std::string, int>{{"1g.10gb", 2}, {"1g.10gb+me", 1}, {"3g.40gb", 1}}));
  EXPECT_EQ(total.other, (std::map<std::string, double>{{"amd.com/gpu", 1}, {"gpu.intel.com/i915", 1},
                                                         {"habana.ai/gaudi", 1}}));
}

// ---------------------------------------------------------------------------------------------------------------
// Errors.

TEST(ConvertErrorTest, MissingOrMistypedFieldsNameTheObjectAndPath) {
  struct Case {
    std::string object;
    bool pod;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"[]", true, "pod object: expected a JSON object, got array"},
      {R"({"spec": {}})", true, "pod object: metadata: missing"},
      {R"({"metadata": {"namespace": "ml"}, "spec": {"containers": []}})", true, "pod object: metadata.name: missing"},
      {R"({"metadata": {"name": 7}})", false, "node object: metadata.name: expected a string, got number"},
      {R"({"metadata": {"name": "x"}, "spec": {"containers": []}})", true, "pod x: metadata.namespace: missing"},
      {R"({"metadata": {"name": "x", "namespace": "ml"}})", true, "pod ml/x: spec: missing"},
      {R"({"metadata": {"name": "x", "namespace": "ml"}, "spec": {}})", true, "pod ml/x: spec.containers: missing"},
      {R"({"metadata": {"name": "x", "namespace": "ml"}, "spec": {"containers": {}}})", true,
       "pod ml/x: spec.containers: expected an array, got object"},
      {R"({"metadata": {"name": "x", "namespace": "ml"}, "spec": {"containers": [{"name": "a"},
          {"name": "b", "resources": {"limits": {"nvidia.com/gpu": "two"}}}]}})",
       true, "pod ml/x: spec.containers[1].resources.limits[\"nvidia.com/gpu\"]: quantity \"two\""},
      {R"({"metadata": {"name": "x", "namespace": "ml"}, "spec": {"containers": [
          {"name": "a", "resources": {"limits": {"nvidia.com/gpu": "500m"}}}]}})",
       true, "pod ml/x: spec.containers[0].resources.limits[\"nvidia.com/gpu\"]: \"500m\" is not a whole"},
      {R"({"metadata": {"name": "x", "namespace": "ml", "labels": {"a": 1}}, "spec": {"containers": []}})", true,
       "pod ml/x: metadata.labels[\"a\"]: expected a string, got number"},
      {R"({"metadata": {"name": "x", "namespace": "ml", "creationTimestamp": "yesterday"}, "spec": {"containers": []}})",
       true, "pod ml/x: metadata.creationTimestamp:"},
      {R"({"metadata": {"name": "x", "namespace": "ml"}, "spec": {"containers": [{"ports": [{"containerPort": 70000}]}]}})",
       true, "pod ml/x: spec.containers[0].ports[0].containerPort: out of range: 70000"},
      {R"({"metadata": {"name": "x", "namespace": "ml", "ownerReferences": [{"kind": "ReplicaSet"}]},
          "spec": {"containers": []}})",
       true, "pod ml/x: metadata.ownerReferences[0]: apiVersion, kind and name are required"},
      {R"({"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "lots"}}})", false,
       "node n1: status.capacity[\"cpu\"]: quantity \"lots\""},
      {R"({"metadata": {"name": "n1"}, "spec": {"taints": [{"key": 3}]}})", false,
       "node n1: spec.taints[0].key: expected a string, got number"},
      {R"({"metadata": {"name": "n1"}, "status": {"conditions": "Ready"}})", false,
       "node n1: status.conditions: expected an array, got string"},
  };
  for (const Case& c : cases) {
    const json j = json::parse(c.object);
    const base::Status st = c.pod ? PodFromJson(j).status() : NodeFromJson(j).status();
    ASSERT_FALSE(st.ok()) << c.object;
    EXPECT_EQ(st.code(), base::Code::kInvalidArgument);
    EXPECT_EQ(st.message().rfind(c.want, 0), 0u) << "got: " << st.message() << "\nwant prefix: " << c.want;
  }
  EXPECT_EQ(NamespaceFromJson(json::parse(R"({"metadata": {}})")).status().message(),
            "namespace object: metadata.name: missing");
  base::Result<model::Namespace> ns =
      NamespaceFromJson(json::parse(R"({"metadata": {"name": "ml", "labels": {"team": "search"}}})"));
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->labels.at("team"), "search");
}

// Random JSON values, shaped so that they often hit the converters' keys.
rc::Gen<json> GenJson(int depth) {
  static const std::vector<std::string> kKeys = {
      "metadata", "name", "namespace", "spec", "status", "containers", "resources", "limits", "requests",
      "nvidia.com/gpu", "labels", "annotations", "ownerReferences", "kind", "apiVersion", "controller",
      "containerStatuses", "state", "lastState", "terminated", "exitCode", "ports", "containerPort", "capacity",
      "allocatable", "conditions", "type", "taints", "tolerations", "env", "value", "args", "command", "image",
      "startTime", "creationTimestamp", "gpu-fraction", "nvidia.com/gpu.count", "restartCount", "phase"};
  auto scalar = rc::gen::oneOf(
      rc::gen::just(json(nullptr)), rc::gen::map(rc::gen::arbitrary<bool>(), [](bool b) { return json(b); }),
      rc::gen::map(rc::gen::arbitrary<long long>(), [](long long v) { return json(v); }),
      rc::gen::map(rc::gen::arbitrary<double>(), [](double v) { return std::isfinite(v) ? json(v) : json(0.5); }),
      rc::gen::map(rc::gen::elementOf(std::vector<std::string>{"1", "500m", "16Gi", "x", "", "True", "Ready",
                                                               "2026-11-20T10:00:00Z", "Exists", "vllm", "-1e9"}),
                   [](const std::string& s) { return json(s); }),
      rc::gen::map(rc::gen::arbitrary<std::string>(), [](const std::string& s) {
        return json(json::string_t(s.begin(), s.end()));  // may be invalid UTF-8: never dumped
      }));
  if (depth <= 0) return scalar;
  // At most 5 members per level, so that a depth-4 value stays small (unbounded sizes make it explode).
  auto object = rc::gen::mapcat(rc::gen::inRange(0, 6), [depth](int n) {
    return rc::gen::map(
        rc::gen::container<std::vector<std::pair<std::string, json>>>(
            static_cast<std::size_t>(n),
            rc::gen::pair(rc::gen::elementOf(kKeys), rc::gen::lazy([depth] { return GenJson(depth - 1); }))),
        [](const std::vector<std::pair<std::string, json>>& kv) {
          json o = json::object();
          for (const auto& [k, v] : kv) o[k] = v;
          return o;
        });
  });
  auto array = rc::gen::mapcat(rc::gen::inRange(0, 4), [depth](int n) {
    return rc::gen::map(rc::gen::container<std::vector<json>>(static_cast<std::size_t>(n),
                                                               rc::gen::lazy([depth] { return GenJson(depth - 1); })),
                        [](const std::vector<json>& v) { return json(v); });
  });
  return rc::gen::weightedOneOf<json>({{2, scalar}, {5, object}, {2, array}});
}

// Every path into a JSON value, for replacing one subtree of a realistic object.
void Paths(const json& j, json::json_pointer at, std::vector<json::json_pointer>* out) {
  out->push_back(at);
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) Paths(v, at / k, out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) Paths(j[i], at / i, out);
  }
}

RC_GTEST_PROP(ConvertProperty, RandomJsonNeverCrashesAConverter, ()) {
  const json j = *GenJson(4);
  std::vector<std::string> warnings;
  (void)NodeFromJson(j, &warnings);
  (void)PodFromJson(j, &warnings);
  (void)NamespaceFromJson(j);
  (void)ControllerOwnerFromJson(j, "x");
}

RC_GTEST_PROP(ConvertProperty, RealisticObjectsWithOneSubtreeReplacedNeverCrash, ()) {
  static const std::vector<json> kObjects = {json::parse(kGkeSpotNode), json::parse(kEksNode),
                                             json::parse(kMigMixedNode), json::parse(kHamiPod),
                                             json::parse(kKaiPod), json::parse(kVllmPod),
                                             json::parse(kUnschedulablePod)};
  json j = *rc::gen::elementOf(kObjects);
  std::vector<json::json_pointer> paths;
  Paths(j, json::json_pointer(), &paths);
  const json::json_pointer at = *rc::gen::elementOf(paths);
  j[at] = *GenJson(2);
  std::vector<std::string> warnings;
  const bool pod = j.is_object() && j.contains("spec") && j["spec"].is_object() && j["spec"].contains("containers");
  base::Status st = pod ? PodFromJson(j, &warnings).status() : NodeFromJson(j, &warnings).status();
  if (!st.ok()) {
    // The message names the kind of object it is about.
    RC_ASSERT(st.message().rfind(pod ? "pod " : "node ", 0) == 0u);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Serving engines.

model::Container C(std::string image, std::vector<std::string> command, std::vector<std::string> args,
                   std::vector<int> ports = {}) {
  model::Container c;
  c.name = "main";
  c.image = std::move(image);
  c.command = std::move(command);
  c.args = std::move(args);
  c.ports = std::move(ports);
  return c;
}

TEST(ServingEngineTest, DetectionTable) {
  struct Case {
    const char* what;
    model::Container c;
    const char* name;
    const char* evidence;
    const char* model;
    int tp;
    int port;
  };
  const std::vector<Case> cases = {
      {"module entrypoint", C("python:3.11", {"python3", "-m", "vllm.entrypoints.openai.api_server"},
                              {"--model", "mistralai/Mistral-7B-Instruct-v0.3", "-tp", "2"}),
       "vllm", "command 'python -m vllm.entrypoints.openai.api_server'", "mistralai/Mistral-7B-Instruct-v0.3", 2,
       8000},
      {"shell script", C("ghcr.io/acme/llm:1", {"/bin/sh", "-c"},
                         {"pip install -q hf_transfer && exec vllm serve 'Qwen/Qwen2.5-72B-Instruct' "
                          "--tensor-parallel-size 4 --port=9000"}),
       "vllm", "command 'vllm serve'", "Qwen/Qwen2.5-72B-Instruct", 4, 9000},
      {"rocm image", C("rocm/vllm:latest", {}, {}), "vllm", "image rocm/vllm:latest", "", 1, 8000},
      {"sglang", C("lmsysorg/sglang:v0.4.0", {"python3", "-m", "sglang.launch_server"},
                   {"--model-path", "meta-llama/Llama-3.1-8B-Instruct", "--tp", "2", "--port", "30001"}),
       "sglang", "command 'python -m sglang.launch_server'", "meta-llama/Llama-3.1-8B-Instruct", 2, 30001},
      {"sglang image", C("docker.io/lmsysorg/sglang:latest", {}, {}), "sglang", "image docker.io/lmsysorg/sglang:latest",
       "", 1, 30000},
      {"tgi", C("ghcr.io/huggingface/text-generation-inference:2.4.0", {},
                {"--model-id", "bigscience/bloom-560m", "--num-shard", "2"}, {80}),
       "tgi", "image ghcr.io/huggingface/text-generation-inference:2.4.0", "bigscience/bloom-560m", 2, 80},
      {"tgi launcher", C("custom/tgi:1", {"text-generation-launcher"}, {"--model-id=m", "--port", "3000"}), "tgi",
       "command 'text-generation-launcher'", "m", 1, 3000},
      {"triton", C("nvcr.io/nvidia/tritonserver:24.08-trtllm-python-py3", {}, {}), "triton",
       "image nvcr.io/nvidia/tritonserver:24.08-trtllm-python-py3", "", 1, 8002},
      {"trtllm-serve", C("nvcr.io/nvidia/tensorrt-llm/release:0.17.0", {"trtllm-serve"},
                         {"meta-llama/Llama-3.1-8B", "--tp_size", "2", "--port", "8001"}),
       "tensorrt-llm", "command 'trtllm-serve'", "meta-llama/Llama-3.1-8B", 2, 8001},
      {"lmdeploy", C("openmmlab/lmdeploy:latest", {"lmdeploy", "serve", "api_server"},
                     {"internlm/internlm2_5-7b-chat", "--tp", "2"}),
       "lmdeploy", "command 'lmdeploy serve api_server'", "internlm/internlm2_5-7b-chat", 2, 23333},
      {"ollama", C("ollama/ollama:0.4.1", {}, {}), "ollama", "image ollama/ollama:0.4.1", "", 1, 0},
      {"llama.cpp", C("ghcr.io/ggml-org/llama.cpp:server-cuda", {}, {"-m", "/models/q4.gguf", "--metrics", "--port", "8081"}),
       "llama.cpp", "image ghcr.io/ggml-org/llama.cpp:server-cuda", "/models/q4.gguf", 1, 8081},
      {"llama.cpp without metrics", C("x/y:1", {"llama-server"}, {"-m", "m.gguf"}), "llama.cpp",
       "command 'llama-server'", "m.gguf", 1, 0},
      {"ray serve", C("rayproject/ray-ml:2.9.0-gpu", {"serve", "run"}, {"app:deployment"}, {8000}), "ray-serve",
       "command 'serve run'", "app:deployment", 1, 8000},
      {"torchserve", C("pytorch/torchserve:0.12.0-gpu", {}, {}), "torchserve", "image pytorch/torchserve:0.12.0-gpu",
       "", 1, 8082},
      {"kserve hf", C("kserve/huggingfaceserver:v0.14.0", {"python", "-m", "huggingfaceserver"},
                      {"--model_name=llama", "--model_id=meta-llama/Llama-3.1-8B"}),
       "kserve-huggingface", "command 'python -m huggingfaceserver'", "meta-llama/Llama-3.1-8B", 1, 8080},
      {"nim", C("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3", {}, {}, {8000}), "nim",
       "image nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3", "", 1, 8000},
      {"plain pytorch", C("nvcr.io/nvidia/pytorch:24.08-py3", {"torchrun"}, {"train.py"}), "", "", "", 1, 0},
      {"llama.cpp cli image", C("ghcr.io/ggml-org/llama.cpp:full", {}, {}), "", "", "", 1, 0},
      {"serve that is vllm", C("busybox", {"vllm", "serve", "m", "--port", "x"}, {}), "vllm", "command 'vllm serve'",
       "m", 1, 8000},
  };
  for (const Case& c : cases) {
    model::ServingEngine e = DetectEngineInContainer(c.c);
    EXPECT_EQ(e.name, c.name) << c.what;
    EXPECT_EQ(e.evidence, c.evidence) << c.what;
    EXPECT_EQ(e.model, c.model) << c.what;
    EXPECT_EQ(e.tensor_parallel, c.tp) << c.what;
    EXPECT_EQ(e.metrics_port, c.port) << c.what;
    if (e.Found()) {
      EXPECT_EQ(e.container, "main") << c.what;
    }
  }
}

TEST(ServingEngineTest, TheFirstContainerThatServesIsTheEngine) {
  model::Pod pod;
  pod.containers = {C("envoyproxy/envoy:v1.31", {}, {}), C("vllm/vllm-openai:v0.6.3", {}, {"--model", "m"})};
  pod.containers[1].name = "engine";
  model::ServingEngine e = DetectServingEngine(pod);
  EXPECT_EQ(e.name, "vllm");
  EXPECT_EQ(e.container, "engine");
  EXPECT_TRUE(std::isnan(DetectServingEngine(pod).gpu_memory_utilization));  // not given: the engine's default
  pod.containers.pop_back();
  EXPECT_FALSE(DetectServingEngine(pod).Found());
}

TEST(ResourceNameTest, MigProfilesAndGpuLikeNames) {
  EXPECT_EQ(MigProfileOfResource("nvidia.com/mig-1g.10gb"), "1g.10gb");
  EXPECT_EQ(MigProfileOfResource("nvidia.com/mig-1g.10gb.me"), "1g.10gb+me");
  EXPECT_EQ(MigProfileOfResource("nvidia.com/gpu"), "");
  EXPECT_EQ(MigProfileOfResource("nvidia.com/mig-"), "");
  for (const char* yes : {"amd.com/gpu", "gpu.intel.com/xe", "nvidia.com/a100", "volcano.sh/vgpu-number",
                          "aws.amazon.com/neuroncore", "google.com/tpu", "habana.ai/gaudi", "huawei.com/Ascend910"}) {
    EXPECT_TRUE(IsGpuLikeResource(yes)) << yes;
  }
  for (const char* no : {"cpu", "memory", "nvidia.com/priority", "rdma/hca", "vpc.amazonaws.com/efa",
                         "nvidia.com/hostdev", "hugepages-2Mi"}) {
    EXPECT_FALSE(IsGpuLikeResource(no)) << no;
  }
}

}  // namespace
}  // namespace gpuwise::observe::kube
