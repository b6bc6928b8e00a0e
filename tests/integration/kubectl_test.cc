// The real kubectl against the simulated cluster's API server, over HTTPS with a client certificate: the output a
// user sees must be what a real server gives (server-side Tables), and changes made with kubectl must happen in
// the world (pods start, telemetry follows, nodes reconfigure). Runs with the preinstalled kubectl (1.32) and,
// when present, Debian's kubernetes-client 1.20 (GPUWISE_KUBECTL_120, unpacked by scripts/install-deps).
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <map>
#include <sstream>
#include <thread>

#include "prometheus_process.h"
#include "sim/behavior.h"
#include "sim/cluster_server.h"
#include "sim/kube_store.h"

namespace gpuwise {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Output {
  int code = -1;
  std::string out;
};

// A kubectl binary and the cluster it talks to.
class KubectlTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    auto scenario = sim::BuiltinScenario("demo");
    ASSERT_TRUE(scenario.ok());
    auto world = sim::BuildWorld(*scenario);
    ASSERT_TRUE(world.ok());
    sim::ClusterServerOptions options;
    options.ephemeral_ports = true;
    options.speed = 60;  // a simulated minute per second: cold starts take seconds
    options.kube_api = true;
    options.kube_api_options.tokens["viewer-token"] = {"viewer", {"viewers"}};
    options.kube_api_options.rbac.push_back({"viewers", true, "", {{{"get", "list", "watch"}, {""}, {"pods"}, {}, {}}}});
    cluster_ = new sim::ClusterServer(std::move(*world), options);
    base::Status st = cluster_->Start();
    ASSERT_TRUE(st.ok()) << st.message();
    dir_ = new fs::path(fs::path(::testing::TempDir()) / ("kubectl-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    base::Result<std::string> admin = cluster_->KubeApi()->Kubeconfig("admin", {"system:masters"});
    ASSERT_TRUE(admin.ok());
    std::ofstream(*dir_ / "admin") << *admin;
    // The viewer uses a token; the kubeconfig is the admin's with the user swapped.
    std::string viewer = *admin;
    viewer = std::regex_replace(viewer, std::regex("    client-certificate-data: .*\n    client-key-data: .*\n"),
                                "    token: viewer-token\n");
    std::ofstream(*dir_ / "viewer") << viewer;
  }

  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    delete dir_;
  }

  std::string Binary() const {
    if (GetParam() == "1.32") return testing::Which("kubectl");
    const char* env = std::getenv("GPUWISE_KUBECTL_120");
    return env != nullptr && fs::exists(env) ? env : "";
  }

  void SetUp() override {
    if (Binary().empty()) GTEST_SKIP() << "kubectl " << GetParam() << " is not installed";
  }

  Output Kubectl(const std::string& args, const std::string& user = "admin") const {
    const std::string cmd = "KUBECONFIG=" + (*dir_ / user).string() + " " + Binary() + " --cache-dir=" +
                            (*dir_ / ("cache-" + GetParam())).string() + " " + args + " 2>&1";
    Output r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  static std::vector<std::string> Words(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  }

  // Waits (wall time) until `pred` holds, reconciling the control plane meanwhile.
  static bool Eventually(const std::function<bool()>& pred, double seconds = 30) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return pred();
  }

  static sim::ClusterServer* cluster_;
  static fs::path* dir_;
};

sim::ClusterServer* KubectlTest::cluster_ = nullptr;
fs::path* KubectlTest::dir_ = nullptr;

TEST_P(KubectlTest, GetPodsAllNamespacesPrintsTheServerColumns) {
  Output r = Kubectl("get pods -A");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GT(lines.size(), 20u) << r.out;
  EXPECT_EQ(Words(lines[0]), (std::vector<std::string>{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"}));
  bool dcgm = false, chat_running = false;
  for (const std::string& l : lines) {
    std::vector<std::string> w = Words(l);
    if (w.size() < 5) continue;
    dcgm = dcgm || (w[0] == "gpu-operator" && w[1].rfind("nvidia-dcgm-exporter-", 0) == 0 && w[2] == "1/1" && w[3] == "Running");
    chat_running = chat_running || (w[0] == "search" && w[1].rfind("llama-3-70b-chat-", 0) == 0 && w[3] == "Running");
  }
  EXPECT_TRUE(dcgm) << r.out;
  EXPECT_TRUE(chat_running) << r.out;
}

TEST_P(KubectlTest, GetWideShowsPodIpsAndNodes) {
  Output r = Kubectl("get pods -n gpu-operator -o wide");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(Words(lines[0]), (std::vector<std::string>{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                                       "NOMINATED", "NODE", "READINESS", "GATES"}));
  std::vector<std::string> first = Words(lines[1]);
  ASSERT_GE(first.size(), 7u);
  EXPECT_EQ(first[5].rfind("127.1.", 0), 0u) << "the pod IP is the exporter's loopback address: " << lines[1];
}

TEST_P(KubectlTest, GetJsonListsEveryPodTheStoreHolds) {
  Output r = Kubectl("get pods -A -o json");
  ASSERT_EQ(r.code, 0) << r.out;
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.out.substr(0, 500);
  const std::size_t stored = cluster_->Store()->List(*sim::FindResourceByKey("pods"), "").items.size();
  EXPECT_EQ(doc["items"].size(), stored);
  EXPECT_EQ(doc["items"][0]["kind"], "Pod");
}

TEST_P(KubectlTest, GetNodesAndDeployments) {
  Output nodes = Kubectl("get nodes");
  ASSERT_EQ(nodes.code, 0) << nodes.out;
  std::vector<std::string> lines = Lines(nodes.out);
  EXPECT_EQ(Words(lines[0]), (std::vector<std::string>{"NAME", "STATUS", "ROLES", "AGE", "VERSION"}));
  EXPECT_EQ(lines.size(), 1 + cluster_->world().nodes.size());
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> w = Words(lines[i]);
    ASSERT_EQ(w.size(), 5u) << lines[i];
    EXPECT_TRUE(w[1] == "Ready" || w[1] == "Ready,SchedulingDisabled") << lines[i];
    EXPECT_EQ(w[4], "v1.31.2");
  }
  Output deploy = Kubectl("get deploy -n ads");
  ASSERT_EQ(deploy.code, 0) << deploy.out;
  lines = Lines(deploy.out);
  EXPECT_EQ(Words(lines[0]), (std::vector<std::string>{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(Words(lines[1])[1], "3/3") << deploy.out;
}

TEST_P(KubectlTest, DescribePodShowsItsNodeIpAndEvents) {
  Output list = Kubectl("get pods -n ads -o name");
  ASSERT_EQ(list.code, 0) << list.out;
  const std::string pod = Lines(list.out).at(0);
  Output r = Kubectl("describe -n ads " + pod);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Namespace:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Node:"), std::string::npos);
  EXPECT_NE(r.out.find("IP:           127.2."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nvidia.com/gpu:"), std::string::npos);
  EXPECT_NE(r.out.find("Events:"), std::string::npos);
}

TEST_P(KubectlTest, LogsAndAuthCanI) {
  Output list = Kubectl("get pods -n search -o name -l app.kubernetes.io/name=llama-3-70b-chat");
  ASSERT_EQ(list.code, 0) << list.out;
  Output logs = Kubectl("logs -n search " + Lines(list.out).at(0));
  EXPECT_EQ(logs.code, 0) << logs.out;
  EXPECT_EQ(Kubectl("auth can-i list pods -A").out, "yes\n");
  EXPECT_EQ(Kubectl("auth can-i list pods -n search", "viewer").out, "yes\n");
  Output no = Kubectl("auth can-i delete pods -n search", "viewer");
  EXPECT_EQ(no.out, "no\n");
  EXPECT_NE(no.code, 0);
  Output forbidden = Kubectl("get nodes", "viewer");
  EXPECT_NE(forbidden.code, 0);
  EXPECT_NE(forbidden.out.find("Error from server (Forbidden): nodes is forbidden: User \"viewer\" cannot list "
                               "resource \"nodes\" in API group \"\" at the cluster scope"),
            std::string::npos)
      << forbidden.out;
}


// The faq-bot Deployment's replica count now.
int Replicas(const std::string& out) {
  json d = json::parse(out, nullptr, false);
  return d.is_object() ? d["spec"].value("replicas", -1) : -1;
}

TEST_P(KubectlTest, WatchSeesANewPodArriveAndStart) {
  const fs::path log = *dir_ / ("watch-" + GetParam() + ".txt");
  const std::string cmd = "KUBECONFIG=" + (*dir_ / "admin").string() + " timeout 25 " + Binary() + " --cache-dir=" +
                          (*dir_ / ("cache-" + GetParam())).string() + " get pods -n support --watch > " +
                          log.string() + " 2>&1 &";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ASSERT_TRUE(Eventually([&] { return fs::exists(log) && fs::file_size(log) > 0; }, 10));
  const int before = Replicas(Kubectl("get deploy -n support faq-bot -o json").out);
  ASSERT_GT(before, 0);
  Output scale = Kubectl("scale deployment -n support faq-bot --replicas=" + std::to_string(before + 1));
  ASSERT_EQ(scale.code, 0) << scale.out;
  EXPECT_EQ(scale.out, "deployment.apps/faq-bot scaled\n");
  // The new pod arrives Pending, then runs (image pull, weights), then is ready: each step is a watch event.
  std::string new_pod;
  const bool ready = Eventually([&] {
    std::ifstream in(log);
    std::map<std::string, std::vector<std::string>> states;
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> w = Words(line);
      if (w.size() >= 3 && w[0].rfind("faq-bot-", 0) == 0) states[w[0]].push_back(w[1] + " " + w[2]);
    }
    for (const auto& [pod, seen] : states) {
      if (seen.front().find("Pending") != std::string::npos && seen.back() == "1/1 Running") new_pod = pod;
    }
    return !new_pod.empty();
  }, 20);
  EXPECT_TRUE(ready) << std::ifstream(log).rdbuf();
  ASSERT_EQ(Kubectl("scale deployment -n support faq-bot --replicas=" + std::to_string(before)).code, 0);
}

TEST_P(KubectlTest, PatchAndScaleStartPodsAndTheTelemetryFollows) {
  const int before = Replicas(Kubectl("get deploy -n support faq-bot -o json").out);
  // A replica an earlier test scaled away may still be terminating, holding its GPU memory: the new replica would
  // land beside it and fail to start (a CUDA OOM on the shared GPU). Start from a settled Deployment.
  ASSERT_TRUE(Eventually([&] {
    return Lines(Kubectl("get pods -n support -l app.kubernetes.io/name=faq-bot -o name").out).size() ==
           static_cast<std::size_t>(before);
  }, 20));
  Output patch = Kubectl("patch deployment -n support faq-bot --type=merge -p '{\"spec\":{\"replicas\":" +
                         std::to_string(before + 1) + "}}'");
  ASSERT_EQ(patch.code, 0) << patch.out;
  EXPECT_EQ(patch.out, "deployment.apps/faq-bot patched\n");
  // The Deployment reports the extra replica ready once it has started, and the new pod's vLLM endpoint serves.
  const std::string want = std::to_string(before + 1) + "/" + std::to_string(before + 1);
  EXPECT_TRUE(Eventually([&] {
    std::vector<std::string> lines = Lines(Kubectl("get deploy -n support faq-bot").out);
    return lines.size() == 2 && Words(lines[1])[1] == want;
  }, 20));
  std::set<std::string> pods;
  for (const std::string& l : Lines(Kubectl("get pods -n support -l app.kubernetes.io/name=faq-bot -o name").out)) {
    pods.insert(l.substr(l.find('/') + 1));
  }
  EXPECT_EQ(pods.size(), static_cast<std::size_t>(before + 1));
  // The server's reconciler opens a new pod's listener on its own pass, which may come just after the API reports
  // the replica ready: wait for it.
  int serving = 0;
  EXPECT_TRUE(Eventually([&] {
    serving = 0;
    for (const sim::Endpoint& e : cluster_->Endpoints()) {
      if (e.kind != "vllm" || pods.count(e.pod) == 0) continue;
      const std::string page = cluster_->RenderFor(e);
      serving += page.find("vllm:num_requests_running") != std::string::npos ? 1 : 0;
    }
    return serving == before + 1;
  }, 20)) << "every replica's /metrics serves: " << serving << " of " << before + 1;
  Output scale = Kubectl("scale deployment -n support faq-bot --replicas=" + std::to_string(before));
  ASSERT_EQ(scale.code, 0) << scale.out;
  EXPECT_TRUE(Eventually([&] {
    return Lines(Kubectl("get pods -n support -l app.kubernetes.io/name=faq-bot -o name").out).size() ==
           static_cast<std::size_t>(before);
  }, 20));
}

TEST_P(KubectlTest, AnUnfittableReplicaStaysPendingWithTheSchedulersReason) {
  Output scale = Kubectl("scale deployment -n ads mistral-7b-ads-predictor --replicas=8");
  ASSERT_EQ(scale.code, 0) << scale.out;
  std::string pending;
  EXPECT_TRUE(Eventually([&] {
    // Unscheduled: Pending with no node (pods pulling their image are Pending too, on a node), and marked
    // Unschedulable by the scheduler (a new replica is also node-less until the scheduler's next pass, and may fit).
    for (const std::string& line :
         Lines(Kubectl(R"(get pods -n ads --field-selector=status.phase=Pending,spec.nodeName= )"
                       R"(-o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.conditions[0].reason}{"\n"}{end}')").out)) {
      const auto space = line.find(' ');
      if (space != std::string::npos && line.substr(space + 1) == "Unschedulable") {
        pending = "pod/" + line.substr(0, space);
        return true;
      }
    }
    return false;
  }, 10));
  ASSERT_FALSE(pending.empty());
  Output describe = Kubectl("describe -n ads " + pending);
  EXPECT_NE(describe.out.find("FailedScheduling"), std::string::npos) << describe.out;
  EXPECT_NE(describe.out.find("Insufficient nvidia.com/gpu"), std::string::npos) << describe.out;
  ASSERT_EQ(Kubectl("scale deployment -n ads mistral-7b-ads-predictor --replicas=3").code, 0);
  EXPECT_TRUE(Eventually([&] {
    return Lines(Kubectl("get pods -n ads --field-selector=status.phase=Pending -o name").out).empty() ||
           Kubectl("get pods -n ads --field-selector=status.phase=Pending -o name").out.find("No resources") !=
               std::string::npos;
  }, 20));
}

TEST_P(KubectlTest, LabelCordonAndDrainHonouringADisruptionBudget) {
  Output label = Kubectl("label node l4-spot-0 team=ml --overwrite");
  ASSERT_EQ(label.code, 0) << label.out;
  EXPECT_EQ(label.out, "node/l4-spot-0 labeled\n");
  EXPECT_EQ(Kubectl("get node l4-spot-0 -o jsonpath={.metadata.labels.team}").out, "ml");
  ASSERT_EQ(Kubectl("label node l4-spot-0 team-").code, 0);

  Output cordon = Kubectl("cordon l4-spot-0");
  ASSERT_EQ(cordon.code, 0) << cordon.out;
  EXPECT_EQ(cordon.out, "node/l4-spot-0 cordoned\n");
  EXPECT_EQ(Words(Lines(Kubectl("get node l4-spot-0").out).at(1))[1], "Ready,SchedulingDisabled");
  // Only a DaemonSet pod runs there: drain skips it and finishes.
  Output drain = Kubectl("drain l4-spot-0 --ignore-daemonsets --timeout=30s");
  EXPECT_EQ(drain.code, 0) << drain.out;
  EXPECT_NE(drain.out.find("node/l4-spot-0 drained"), std::string::npos) << drain.out;
  ASSERT_EQ(Kubectl("uncordon l4-spot-0").code, 0);

  // The ads servers are guarded by a budget of maxUnavailable 1 and have nowhere else to go: draining their node
  // evicts one, whose replacement stays Pending, and then stops at the budget.
  Output blocked = Kubectl("drain a100-80-0 --ignore-daemonsets --timeout=6s");
  EXPECT_NE(blocked.code, 0) << blocked.out;
  EXPECT_NE(blocked.out.find("Cannot evict pod as it would violate the pod's disruption budget"), std::string::npos)
      << blocked.out;
  ASSERT_EQ(Kubectl("uncordon a100-80-0").code, 0);
  EXPECT_TRUE(Eventually([&] {
    return Kubectl("get pods -n ads --field-selector=status.phase=Pending,spec.nodeName= -o name").out.find("pod/") ==
           std::string::npos;
  }, 20)) << "the evicted replica's replacement comes back once the node is uncordoned";
}

INSTANTIATE_TEST_SUITE_P(Versions, KubectlTest, ::testing::Values("1.32", "1.20"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return "kubectl_" + std::regex_replace(p.param, std::regex("\\."), "_");
                         });

}  // namespace
}  // namespace gpuwise
