// The Tables kubectl renders for `get`, `get -o wide` and `get --watch`: column definitions and cells as
// kube-apiserver v1.31's printers produce them, checked case by case against printers.go's rules, and rendered the
// way kubectl's table printer does (upper-cased names, priority-1 columns only with -o wide, tabwriter padding).
#include "sim/kube_tables.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/time_parse.h"

namespace gpuwise::sim {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1'700'000'000;  // 2023-11-14T22:13:20Z

// RFC 3339 time `ago_s` seconds before kNow.
std::string Ago(std::int64_t ago_s) { return base::FormatTime((kNow - ago_s) * 1000); }

json Table(std::string_view resource, const std::vector<json>& objects,
           IncludeObject include = IncludeObject::kMetadata, bool with_headers = true) {
  std::vector<const json*> ptrs;
  for (const json& o : objects) ptrs.push_back(&o);
  return KubeTable(resource, ptrs, include, with_headers, kNow);
}

json Cells(std::string_view resource, const json& object) { return Table(resource, {object})["rows"][0]["cells"]; }

// "Name:type:priority" for each column, the contract kubectl reads.
std::vector<std::string> Columns(std::string_view resource) {
  std::vector<std::string> out;
  const json table = Table(resource, {});
  for (const json& c : table["columnDefinitions"]) {
    out.push_back(c["name"].get<std::string>() + ":" + c["type"].get<std::string>() + ":" +
                  std::to_string(c["priority"].get<int>()));
  }
  return out;
}

// kubectl's printTable through its tabwriter (cli-runtime printers/tableprinter.go, tabwriter.go: minwidth 6,
// padding 3): upper-cased names, priority-1 columns only when wide, every column but the last padded.
std::string RenderLikeKubectl(const json& table, bool wide) {
  std::vector<std::size_t> shown;
  const json& defs = table["columnDefinitions"];
  for (std::size_t i = 0; i < defs.size(); ++i) {
    if (wide || defs[i]["priority"] == 0) shown.push_back(i);
  }
  std::vector<std::vector<std::string>> lines(1);
  for (std::size_t i : shown) {
    std::string name = defs[i]["name"];
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    lines[0].push_back(name);
  }
  for (const json& row : table["rows"]) {
    std::vector<std::string> line;
    for (std::size_t i : shown) {
      const json& cell = row["cells"][i];
      line.push_back(cell.is_string() ? cell.get<std::string>() : cell.dump());
    }
    lines.push_back(line);
  }
  std::vector<std::size_t> width(shown.size(), 6);
  for (const auto& line : lines) {
    for (std::size_t c = 0; c + 1 < line.size(); ++c) width[c] = std::max(width[c], line[c].size() + 3);
  }
  std::string out;
  for (const auto& line : lines) {
    for (std::size_t c = 0; c < line.size(); ++c) {
      out += line[c];
      if (c + 1 < line.size()) out += std::string(width[c] - line[c].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

// --- Ages ---

TEST(KubeTables, HumanDurationMatchesApimachineryThresholds) {
  const std::pair<std::int64_t, const char*> cases[] = {
      {-3, "<invalid>"}, {-2, "<invalid>"},  {-1, "0s"},       {0, "0s"},           {45, "45s"},
      {119, "119s"},     {120, "2m"},        {150, "2m30s"},   {599, "9m59s"},      {600, "10m"},
      {7200, "120m"},    {10799, "179m"},    {10800, "3h"},    {11100, "3h5m"},     {28740, "7h59m"},
      {28800, "8h"},     {172799, "47h"},    {172800, "2d"},   {190800, "2d5h"},    {691199, "7d23h"},
      {691200, "8d"},    {63071999, "729d"}, {63072000, "2y"}, {65664000, "2y30d"}, {252287999, "7y364d"},
      {252288000, "8y"}, {315360000, "10y"},
  };
  for (const auto& [secs, want] : cases) {
    EXPECT_EQ(HumanDuration(std::chrono::seconds(secs)), want) << secs << "s";
  }
  // Go truncates toward zero: 1.9s ago is "1s", 1.9s in the future is still "0s".
  EXPECT_EQ(HumanDuration(std::chrono::milliseconds(1900)), "1s");
  EXPECT_EQ(HumanDuration(std::chrono::milliseconds(-1900)), "0s");
}

// --- Pods ---

json Running(std::int64_t restarts = 0) {
  return {
      {"name", "app"}, {"ready", true}, {"restartCount", restarts}, {"state", {{"running", {{"startedAt", Ago(60)}}}}}};
}

json Pod(const std::string& name, const std::string& phase, const json& statuses, const json& extra_status = {}) {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", "default"}, {"creationTimestamp", Ago(300)}}},
              {"spec", {{"containers", {{{"name", "app"}, {"image", "vllm:1"}}}}, {"nodeName", "gpu-1"}}},
              {"status", {{"phase", phase}, {"containerStatuses", statuses}}}};
  if (extra_status.is_object()) pod["status"].update(extra_status);
  return pod;
}

TEST(KubeTablesPods, ColumnsAreThePrinterColumnsWithWideOnesAtPriorityOne) {
  EXPECT_EQ(Columns("pods"),
            (std::vector<std::string>{"Name:string:0", "Ready:string:0", "Status:string:0", "Restarts:string:0",
                                      "Age:string:0", "IP:string:1", "Node:string:1", "Nominated Node:string:1",
                                      "Readiness Gates:string:1"}));
  const json defs = Table("pods", {})["columnDefinitions"];
  EXPECT_EQ(defs[0]["format"], "name");
  EXPECT_EQ(defs[1]["format"], "");  // Always present: the Go field has no omitempty.
  EXPECT_TRUE(defs[4]["description"].get<std::string>().rfind("CreationTimestamp is a timestamp", 0) == 0);
}

TEST(KubeTablesPods, RunningPodShowsReadinessAgeAndWideColumns) {
  const json pod = Pod("web-0", "Running", json::array({Running()}), {{"podIP", "127.0.1.5"}});
  EXPECT_EQ(Cells("pods", pod), json({"web-0", "1/1", "Running", "0", "5m", "127.0.1.5", "gpu-1", "<none>", "<none>"}));
}

TEST(KubeTablesPods, PendingPodsShowWaitingReasonOrPhase) {
  json creating = Pod("a", "Pending",
                      {{{"name", "app"},
                        {"ready", false},
                        {"restartCount", 0},
                        {"state", {{"waiting", {{"reason", "ContainerCreating"}}}}}}});
  EXPECT_EQ(Cells("pods", creating)[1], "0/1");
  EXPECT_EQ(Cells("pods", creating)[2], "ContainerCreating");
  EXPECT_EQ(Cells("pods", creating)[5], "<none>");  // No IP yet.

  json unscheduled = Pod("b", "Pending", json::array(), {{"nominatedNodeName", "gpu-2"}});
  unscheduled["spec"].erase("nodeName");
  const json cells = Cells("pods", unscheduled);
  EXPECT_EQ(cells[2], "Pending");
  EXPECT_EQ(cells[6], "<none>");
  EXPECT_EQ(cells[7], "gpu-2");

  json gated = Pod("c", "Pending", json::array(),
                   {{"conditions", {{{"type", "PodScheduled"}, {"status", "False"}, {"reason", "SchedulingGated"}}}}});
  EXPECT_EQ(Cells("pods", gated)[2], "SchedulingGated");
}

TEST(KubeTablesPods, CrashLoopShowsRestartsWithTheLastTerminationAge) {
  const json pod =
      Pod("crash", "Running",
          {{{"name", "app"},
            {"ready", false},
            {"restartCount", 3},
            {"lastState", {{"terminated", {{"exitCode", 1}, {"reason", "Error"}, {"finishedAt", Ago(300)}}}}},
            {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}}}});
  const json cells = Cells("pods", pod);
  EXPECT_EQ(cells[1], "0/1");
  EXPECT_EQ(cells[2], "CrashLoopBackOff");
  EXPECT_EQ(cells[3], "3 (5m ago)");
  // Restarts without a recorded termination time print the bare count.
  const json no_time = Pod("r", "Running", json::array({Running(2)}));
  EXPECT_EQ(Cells("pods", no_time)[3], "2");
}

TEST(KubeTablesPods, TerminatedContainersShowReasonSignalOrExitCode) {
  auto terminated = [](const json& t) {
    return Pod("t", "Running",
               {{{"name", "app"}, {"ready", false}, {"restartCount", 0}, {"state", {{"terminated", t}}}}});
  };
  EXPECT_EQ(Cells("pods", terminated({{"exitCode", 137}, {"reason", "OOMKilled"}}))[2], "OOMKilled");
  EXPECT_EQ(Cells("pods", terminated({{"exitCode", 137}, {"signal", 9}}))[2], "Signal:9");
  EXPECT_EQ(Cells("pods", terminated({{"exitCode", 2}}))[2], "ExitCode:2");
}

TEST(KubeTablesPods, FinishedPodsCarryACompletedRowCondition) {
  const json done = Pod("job-x", "Succeeded",
                        {{{"name", "app"},
                          {"ready", false},
                          {"restartCount", 0},
                          {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}}});
  const json row = Table("pods", {done})["rows"][0];
  EXPECT_EQ(row["cells"][1], "0/1");
  EXPECT_EQ(row["cells"][2], "Completed");
  EXPECT_EQ(row["conditions"], json::parse(R"([{"type":"Completed","status":"True","reason":"Succeeded",
                                               "message":"The pod has completed successfully."}])"));
  const json failed = Pod("job-y", "Failed",
                          {{{"name", "app"},
                            {"ready", false},
                            {"restartCount", 0},
                            {"state", {{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}}}}});
  const json failed_row = Table("pods", {failed})["rows"][0];
  EXPECT_EQ(failed_row["cells"][2], "Error");
  EXPECT_EQ(failed_row["conditions"][0]["reason"], "Failed");
  EXPECT_EQ(failed_row["conditions"][0]["message"], "The pod failed.");
  // Running pods have no conditions key at all (omitempty).
  EXPECT_FALSE(Table("pods", {Pod("r", "Running", json::array({Running()}))})["rows"][0].contains("conditions"));
}

TEST(KubeTablesPods, DeletionShowsTerminatingUnlessFinishedOrNodeLost) {
  json pod = Pod("bye", "Running", json::array({Running()}));
  pod["metadata"]["deletionTimestamp"] = Ago(5);
  EXPECT_EQ(Cells("pods", pod)[2], "Terminating");

  json done = Pod("done", "Succeeded",
                  {{{"name", "app"},
                    {"ready", false},
                    {"restartCount", 0},
                    {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}}});
  done["metadata"]["deletionTimestamp"] = Ago(5);
  EXPECT_EQ(Cells("pods", done)[2], "Completed");

  json lost = Pod("lost", "Running", json::array({Running()}), {{"reason", "NodeLost"}});
  EXPECT_EQ(Cells("pods", lost)[2], "NodeLost");  // Running containers do not override status.reason.
  lost["metadata"]["deletionTimestamp"] = Ago(5);
  EXPECT_EQ(Cells("pods", lost)[2], "Unknown");
}

TEST(KubeTablesPods, InitContainersShowProgressAndFailures) {
  auto pod_with_init = [](const json& second_state, std::int64_t restarts) {
    json pod = Pod("init", "Pending",
                   {{{"name", "app"},
                     {"ready", false},
                     {"restartCount", 0},
                     {"state", {{"waiting", {{"reason", "PodInitializing"}}}}}}});
    pod["spec"]["initContainers"] = {{{"name", "fetch"}}, {{"name", "warm"}}};
    pod["status"]["initContainerStatuses"] = {
        {{"name", "fetch"}, {"ready", false}, {"restartCount", 0}, {"state", {{"terminated", {{"exitCode", 0}}}}}},
        {{"name", "warm"},
         {"ready", false},
         {"restartCount", restarts},
         {"lastState", {{"terminated", {{"exitCode", 1}, {"finishedAt", Ago(30)}}}}},
         {"state", second_state}}};
    return pod;
  };
  EXPECT_EQ(Cells("pods", pod_with_init({{"running", json::object()}}, 0))[2], "Init:1/2");
  const json crash = Cells("pods", pod_with_init({{"waiting", {{"reason", "CrashLoopBackOff"}}}}, 4));
  EXPECT_EQ(crash[2], "Init:CrashLoopBackOff");
  EXPECT_EQ(crash[3], "4 (30s ago)");  // While initializing, init container restarts count.
  EXPECT_EQ(Cells("pods", pod_with_init({{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}}, 0))[2], "Init:Error");
  EXPECT_EQ(Cells("pods", pod_with_init({{"terminated", {{"exitCode", 3}}}}, 0))[2], "Init:ExitCode:3");
  EXPECT_EQ(Cells("pods", pod_with_init({{"terminated", {{"exitCode", 3}, {"signal", 15}}}}, 0))[2], "Init:Signal:15");
}

TEST(KubeTablesPods, SidecarsCountAsContainers) {
  json pod =
      Pod("side", "Running", json::array({Running()}),
          {{"conditions", {{{"type", "Initialized"}, {"status", "True"}}, {{"type", "Ready"}, {"status", "True"}}}}});
  pod["spec"]["initContainers"] = {{{"name", "proxy"}, {"restartPolicy", "Always"}}};
  pod["status"]["initContainerStatuses"] = {{{"name", "proxy"},
                                             {"ready", true},
                                             {"started", true},
                                             {"restartCount", 1},
                                             {"state", {{"running", json::object()}}}}};
  const json cells = Cells("pods", pod);
  EXPECT_EQ(cells[1], "2/2");
  EXPECT_EQ(cells[2], "Running");
  EXPECT_EQ(cells[3], "1");
}

TEST(KubeTablesPods, CompletedContainerNextToARunningOneShowsPodReadiness) {
  const json done = {{"name", "once"},
                     {"ready", false},
                     {"restartCount", 0},
                     {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}};
  json pod = Pod("mixed", "Running", json::array({Running(), done}));
  EXPECT_EQ(Cells("pods", pod)[1], "1/1");  // Ready count is over spec containers (1 here).
  EXPECT_EQ(Cells("pods", pod)[2], "NotReady");
  pod["status"]["conditions"] = {{{"type", "Ready"}, {"status", "True"}}};
  EXPECT_EQ(Cells("pods", pod)[2], "Running");
}

TEST(KubeTablesPods, ReadinessGatesAndPodIpsFallback) {
  json pod =
      Pod("gated", "Running", json::array({Running()}),
          {{"podIPs", {{{"ip", "10.1.0.7"}}}}, {"conditions", {{{"type", "example.com/lb"}, {"status", "True"}}}}});
  pod["spec"]["readinessGates"] = {{{"conditionType", "example.com/lb"}}, {{"conditionType", "example.com/dns"}}};
  const json cells = Cells("pods", pod);
  EXPECT_EQ(cells[5], "10.1.0.7");
  EXPECT_EQ(cells[8], "1/2");
}

TEST(KubeTablesPods, RenderedLikeKubectlGetAndWide) {
  json pod = Pod("hello-world", "Running", json::array({Running()}), {{"podIP", "10.244.0.5"}});
  pod["metadata"]["creationTimestamp"] = Ago(34 * 60);
  const json table = Table("pods", {pod});
  // The real `kubectl get pod` output for such a pod.
  EXPECT_EQ(RenderLikeKubectl(table, false),
            "NAME          READY   STATUS    RESTARTS   AGE\n"
            "hello-world   1/1     Running   0          34m\n");
  EXPECT_EQ(RenderLikeKubectl(table, true),
            "NAME          READY   STATUS    RESTARTS   AGE   IP           NODE    NOMINATED NODE   READINESS GATES\n"
            "hello-world   1/1     Running   0          34m   10.244.0.5   gpu-1   <none>           <none>\n");
}

// --- Nodes ---

json Node(const std::string& name) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", {{"name", name}, {"creationTimestamp", Ago(3 * 86400)}, {"labels", json::object()}}},
      {"spec", json::object()},
      {"status",
       {{"conditions", {{{"type", "MemoryPressure"}, {"status", "False"}}, {{"type", "Ready"}, {"status", "True"}}}},
        {"addresses", {{{"type", "InternalIP"}, {"address", "10.0.0.11"}}, {{"type", "Hostname"}, {"address", name}}}},
        {"nodeInfo",
         {{"kubeletVersion", "v1.31.4"},
          {"osImage", "Ubuntu 22.04.4 LTS"},
          {"kernelVersion", "5.15.0-105-generic"},
          {"containerRuntimeVersion", "containerd://1.7.13"}}}}}};
}

TEST(KubeTablesNodes, CordonedNodeWithRolesAndWideColumns) {
  EXPECT_EQ(Columns("nodes"),
            (std::vector<std::string>{"Name:string:0", "Status:string:0", "Roles:string:0", "Age:string:0",
                                      "Version:string:0", "Internal-IP:string:1", "External-IP:string:1",
                                      "OS-Image:string:1", "Kernel-Version:string:1", "Container-Runtime:string:1"}));
  json node = Node("gpu-1");
  node["spec"]["unschedulable"] = true;
  node["metadata"]["labels"] = {{"node-role.kubernetes.io/worker", ""},
                                {"node-role.kubernetes.io/control-plane", ""},
                                {"kubernetes.io/role", "gpu"},
                                {"nvidia.com/gpu.present", "true"}};
  EXPECT_EQ(Cells("nodes", node),
            json({"gpu-1", "Ready,SchedulingDisabled", "control-plane,gpu,worker", "3d", "v1.31.4", "10.0.0.11",
                  "<none>", "Ubuntu 22.04.4 LTS", "5.15.0-105-generic", "containerd://1.7.13"}));
}

TEST(KubeTablesNodes, StatusFromTheReadyConditionOnly) {
  json node = Node("n");
  EXPECT_EQ(Cells("nodes", node)[1], "Ready");
  EXPECT_EQ(Cells("nodes", node)[2], "<none>");
  node["status"]["conditions"][1]["status"] = "Unknown";
  EXPECT_EQ(Cells("nodes", node)[1], "NotReady");
  node["status"]["conditions"] = {{{"type", "DiskPressure"}, {"status", "True"}}};
  EXPECT_EQ(Cells("nodes", node)[1], "Unknown");
  node["status"].erase("nodeInfo");
  EXPECT_EQ(Cells("nodes", node)[7], "<unknown>");
}

TEST(KubeTablesNodes, RenderedLikeKubectlGetNodes) {
  json cordoned = Node("gpu-b");
  cordoned["spec"]["unschedulable"] = true;
  EXPECT_EQ(RenderLikeKubectl(Table("nodes", {Node("gpu-a"), cordoned}), false),
            "NAME    STATUS                     ROLES    AGE   VERSION\n"
            "gpu-a   Ready                      <none>   3d    v1.31.4\n"
            "gpu-b   Ready,SchedulingDisabled   <none>   3d    v1.31.4\n");
}

// --- Workloads ---

json PodTemplate() {
  return {{"spec",
           {{"containers", {{{"name", "app"}, {"image", "vllm:1"}}, {{"name", "exporter"}, {"image", "dcgm:3"}}}}}}};
}

json Workload(const std::string& kind, const std::string& name) {
  return {{"kind", kind},
          {"metadata", {{"name", name}, {"namespace", "ml"}, {"creationTimestamp", Ago(2 * 86400 + 5 * 3600)}}},
          {"spec", {{"template", PodTemplate()}}},
          {"status", json::object()}};
}

TEST(KubeTablesDeployments, MidRolloutShowsReadyOverDesired) {
  EXPECT_EQ(Columns("deployments"),
            (std::vector<std::string>{"Name:string:0", "Ready:string:0", "Up-to-date:string:0", "Available:string:0",
                                      "Age:string:0", "Containers:string:1", "Images:string:1", "Selector:string:1"}));
  json d = Workload("Deployment", "web");
  d["spec"]["replicas"] = 3;
  d["spec"]["selector"] = {{"matchLabels", {{"app", "web"}}},
                           {"matchExpressions",
                            {{{"key", "tier"}, {"operator", "In"}, {"values", {"b", "a"}}},
                             {{"key", "canary"}, {"operator", "DoesNotExist"}}}}};
  d["status"] = {{"replicas", 4}, {"updatedReplicas", 1}, {"readyReplicas", 2}, {"availableReplicas", 2}};
  EXPECT_EQ(Cells("deployments", d),
            json({"web", "2/3", 1, 2, "2d5h", "app,exporter", "vllm:1,dcgm:3", "app=web,!canary,tier in (a,b)"}));
  d["spec"].erase("replicas");  // Defaulted to 1 by the API.
  d["spec"]["selector"]["matchExpressions"][0]["operator"] = "Bogus";
  const json cells = Cells("deployments", d);
  EXPECT_EQ(cells[1], "2/1");
  EXPECT_EQ(cells[7], "<invalid>");
}

TEST(KubeTablesWorkloads, StatefulSetsReplicaSetsAndDaemonSets) {
  json sts = Workload("StatefulSet", "db");
  sts["spec"]["replicas"] = 2;
  sts["status"]["readyReplicas"] = 1;
  EXPECT_EQ(Cells("statefulsets", sts), json({"db", "1/2", "2d5h", "app,exporter", "vllm:1,dcgm:3"}));

  json rs = Workload("ReplicaSet", "web-5d4f");
  rs["spec"]["replicas"] = 3;
  rs["spec"]["selector"] = {{"matchLabels", {{"app", "web"}, {"pod-template-hash", "5d4f"}}}};
  rs["status"] = {{"replicas", 3}, {"readyReplicas", 2}};
  EXPECT_EQ(Cells("replicasets", rs),
            json({"web-5d4f", 3, 3, 2, "2d5h", "app,exporter", "vllm:1,dcgm:3", "app=web,pod-template-hash=5d4f"}));
  EXPECT_EQ(Columns("replicasets")[1], "Desired:integer:0");

  json ds = Workload("DaemonSet", "dcgm-exporter");
  ds["spec"]["template"]["spec"]["nodeSelector"] = {{"nvidia.com/gpu.present", "true"}};
  ds["status"] = {{"desiredNumberScheduled", 4},
                  {"currentNumberScheduled", 4},
                  {"numberReady", 3},
                  {"updatedNumberScheduled", 4},
                  {"numberAvailable", 3}};
  EXPECT_EQ(Cells("daemonsets", ds), json({"dcgm-exporter", 4, 4, 3, 4, 3, "nvidia.com/gpu.present=true", "2d5h",
                                           "app,exporter", "vllm:1,dcgm:3", "<none>"}));
}

TEST(KubeTablesJobs, StatusCompletionsAndDuration) {
  EXPECT_EQ(Columns("jobs"),
            (std::vector<std::string>{"Name:string:0", "Status:string:0", "Completions:string:0", "Duration:string:0",
                                      "Age:string:0", "Containers:string:1", "Images:string:1", "Selector:string:1"}));
  json done = Workload("Job", "train");
  done["spec"]["completions"] = 1;
  done["status"] = {{"succeeded", 1},
                    {"startTime", Ago(600)},
                    {"completionTime", Ago(450)},
                    {"conditions", {{{"type", "Complete"}, {"status", "True"}}}}};
  const json cells = Cells("jobs", done);
  EXPECT_EQ(cells[1], "Complete");
  EXPECT_EQ(cells[2], "1/1");
  EXPECT_EQ(cells[3], "2m30s");

  json running = Workload("Job", "sweep");
  running["spec"]["parallelism"] = 3;
  running["status"] = {{"startTime", Ago(90)}, {"active", 3}};
  EXPECT_EQ(Cells("jobs", running)[1], "Running");
  EXPECT_EQ(Cells("jobs", running)[2], "0/1 of 3");
  EXPECT_EQ(Cells("jobs", running)[3], "90s");

  json suspended = Workload("Job", "later");
  suspended["status"]["conditions"] = {{{"type", "Suspended"}, {"status", "True"}}};
  EXPECT_EQ(Cells("jobs", suspended)[1], "Suspended");
  EXPECT_EQ(Cells("jobs", suspended)[3], "");  // Never started.
  suspended["metadata"]["deletionTimestamp"] = Ago(1);
  EXPECT_EQ(Cells("jobs", suspended)[1], "Terminating");
}

TEST(KubeTablesCronJobs, SuspendedWithTimeZone) {
  EXPECT_EQ(Columns("cronjobs"),
            (std::vector<std::string>{"Name:string:0", "Schedule:string:0", "Timezone:string:0", "Suspend:boolean:0",
                                      "Active:integer:0", "Last Schedule:string:0", "Age:string:0",
                                      "Containers:string:1", "Images:string:1", "Selector:string:1"}));
  json cj = {{"kind", "CronJob"},
             {"metadata", {{"name", "nightly"}, {"creationTimestamp", Ago(10 * 86400)}}},
             {"spec",
              {{"schedule", "0 2 * * *"},
               {"timeZone", "Europe/Paris"},
               {"suspend", true},
               {"jobTemplate", {{"spec", {{"template", PodTemplate()}}}}}}},
             {"status", {{"active", {{{"name", "nightly-1"}}}}, {"lastScheduleTime", Ago(90)}}}};
  EXPECT_EQ(Cells("cronjobs", cj), json({"nightly", "0 2 * * *", "Europe/Paris", "True", 1, "90s", "10d",
                                         "app,exporter", "vllm:1,dcgm:3", "<none>"}));
  cj["spec"].erase("timeZone");
  cj["spec"].erase("suspend");
  cj["status"] = json::object();
  const json cells = Cells("cronjobs", cj);
  EXPECT_EQ(cells[2], "<none>");
  EXPECT_EQ(cells[3], "<unset>");
  EXPECT_EQ(cells[4], 0);
  EXPECT_EQ(cells[5], "<none>");
}

TEST(KubeTablesAutoscaling, HpaTargetsAndPdbBudgets) {
  EXPECT_EQ(Columns("horizontalpodautoscalers"),
            (std::vector<std::string>{"Name:string:0", "Reference:string:0", "Targets:string:0", "MinPods:string:0",
                                      "MaxPods:string:0", "Replicas:string:0", "Age:string:0"}));
  auto cpu = [](int target) {
    return json{{"type", "Resource"},
                {"resource", {{"name", "cpu"}, {"target", {{"type", "Utilization"}, {"averageUtilization", target}}}}}};
  };
  json hpa = {
      {"kind", "HorizontalPodAutoscaler"},
      {"metadata", {{"name", "web"}, {"creationTimestamp", Ago(3600)}}},
      {"spec",
       {{"scaleTargetRef", {{"kind", "Deployment"}, {"name", "web"}}},
        {"minReplicas", 1},
        {"maxReplicas", 10},
        {"metrics", {cpu(80)}}}},
      {"status",
       {{"currentReplicas", 3},
        {"currentMetrics",
         {{{"type", "Resource"}, {"resource", {{"name", "cpu"}, {"current", {{"averageUtilization", 45}}}}}}}}}}};
  EXPECT_EQ(Cells("horizontalpodautoscalers", hpa), json({"web", "Deployment/web", "cpu: 45%/80%", "1", 10, 3, "60m"}));
  hpa["status"].erase("currentMetrics");
  hpa["spec"]["metrics"] = {
      cpu(80),
      {{"type", "Pods"},
       {"pods", {{"metric", {{"name", "qps"}}}, {"target", {{"type", "AverageValue"}, {"averageValue", "1k"}}}}}},
      cpu(50)};
  hpa["spec"].erase("minReplicas");
  const json cells = Cells("horizontalpodautoscalers", hpa);
  EXPECT_EQ(cells[2], "cpu: <unknown>/80%, <unknown>/1k + 1 more...");
  EXPECT_EQ(cells[3], "<unset>");

  json pdb = {{"kind", "PodDisruptionBudget"},
              {"metadata", {{"name", "web"}, {"creationTimestamp", Ago(45)}}},
              {"spec", {{"minAvailable", 2}}},
              {"status", {{"disruptionsAllowed", 1}}}};
  EXPECT_EQ(Cells("poddisruptionbudgets", pdb), json({"web", "2", "N/A", 1, "45s"}));
  pdb["spec"] = {{"maxUnavailable", "25%"}};
  EXPECT_EQ(Cells("poddisruptionbudgets", pdb)[1], "N/A");
  EXPECT_EQ(Cells("poddisruptionbudgets", pdb)[2], "25%");
  EXPECT_EQ(Columns("poddisruptionbudgets")[3], "Allowed Disruptions:integer:0");
}

// --- Events ---

TEST(KubeTablesEvents, ColumnsAndCellsAsTheServerPrintsThem) {
  EXPECT_EQ(Columns("events"),
            (std::vector<std::string>{"Last Seen:string:0", "Type:string:0", "Reason:string:0", "Object:string:0",
                                      "Subobject:string:1", "Source:string:1", "Message:string:0",
                                      "First Seen:string:1", "Count:string:1", "Name:string:1"}));
  json ev = {{"kind", "Event"},
             {"metadata", {{"name", "web-0.17a2"}, {"creationTimestamp", Ago(3600)}}},
             {"involvedObject", {{"kind", "Pod"}, {"name", "web-0"}, {"fieldPath", "spec.containers{app}"}}},
             {"type", "Warning"},
             {"reason", "BackOff"},
             {"message", "  Back-off restarting failed container\n"},
             {"source", {{"component", "kubelet"}, {"host", "gpu-1"}}},
             {"firstTimestamp", Ago(3600)},
             {"lastTimestamp", Ago(60)},
             {"count", 7}};
  EXPECT_EQ(Cells("events", ev),
            json({"60s", "Warning", "BackOff", "pod/web-0", "spec.containers{app}", "kubelet, gpu-1",
                  "Back-off restarting failed container", "60m", 7, "web-0.17a2"}));
  // events.k8s.io-style: eventTime and series instead of timestamps and count; reporting fields as the source.
  json series = {{"metadata", {{"name", "n.1"}}},
                 {"involvedObject", {{"kind", "Node"}}},
                 {"type", "Normal"},
                 {"reason", "Starting"},
                 {"reportingComponent", "kubelet"},
                 {"eventTime", "2023-11-14T22:03:20.123456Z"},
                 {"series", {{"count", 4}, {"lastObservedTime", "2023-11-14T22:12:20.000001Z"}}}};
  // Microsecond times count: 59.999999s ago is "59s".
  EXPECT_EQ(Cells("events", series), json({"59s", "Normal", "Starting", "node", "", "kubelet", "", "9m59s", 4, "n.1"}));
  series.erase("series");
  const json cells = Cells("events", series);
  EXPECT_EQ(cells[0], "9m59s");  // No lastTimestamp: the first-seen time.
  EXPECT_EQ(cells[8], 1);        // Singleton events count once.
}

// --- Networking ---

json Service(const std::string& type, const json& spec_extra) {
  json svc = {
      {"kind", "Service"},
      {"metadata", {{"name", "web"}, {"creationTimestamp", Ago(120)}}},
      {"spec", {{"type", type}, {"clusterIP", "10.96.0.10"}, {"ports", {{{"port", 80}, {"protocol", "TCP"}}}}}}};
  if (spec_extra.is_object()) svc["spec"].update(spec_extra);
  return svc;
}

TEST(KubeTablesServices, TypesClusterIpsExternalIpsAndPorts) {
  EXPECT_EQ(Columns("services"),
            (std::vector<std::string>{"Name:string:0", "Type:string:0", "Cluster-IP:string:0", "External-IP:string:0",
                                      "Port(s):string:0", "Age:string:0", "Selector:string:1"}));
  EXPECT_EQ(Cells("services", Service("ClusterIP", {{"selector", {{"app", "web"}}}})),
            json({"web", "ClusterIP", "10.96.0.10", "<none>", "80/TCP", "2m", "app=web"}));
  const json np = Cells(
      "services",
      Service("NodePort", {{"ports", {{{"port", 80}, {"nodePort", 30080}}, {{"port", 9400}, {"protocol", "UDP"}}}}}));
  EXPECT_EQ(np[4], "80:30080/TCP,9400/UDP");  // Protocol defaults to TCP.
  EXPECT_EQ(np[6], "<none>");
  EXPECT_EQ(Cells("services", Service("LoadBalancer", {}))[3], "<pending>");
  json lb = Service("LoadBalancer", {{"externalIPs", {"198.51.100.1"}}});
  lb["status"] = {{"loadBalancer", {{"ingress", {{{"hostname", "lb.example.com"}}, {{"ip", "203.0.113.7"}}}}}}};
  EXPECT_EQ(Cells("services", lb)[3], "203.0.113.7,lb.example.com,198.51.100.1");
  EXPECT_EQ(Cells("services", Service("ClusterIP", {{"clusterIP", "None"}, {"ports", json::array()}}))[2], "None");
  EXPECT_EQ(Cells("services", Service("ClusterIP", {{"ports", json::array()}}))[4], "<none>");
  EXPECT_EQ(Cells("services", Service("ExternalName", {{"externalName", "db.example.com"}}))[3], "db.example.com");
}

TEST(KubeTablesServices, EndpointsAndEndpointSlicesListAtMostThree) {
  const json ep = {{"metadata", {{"name", "web"}, {"creationTimestamp", Ago(120)}}},
                   {"subsets",
                    {{{"addresses", {{{"ip", "10.0.0.1"}}, {{"ip", "10.0.0.2"}}}},
                      {"ports", {{{"name", "http"}, {"port", 80}}, {{"name", "https"}, {"port", 443}}}}}}}};
  EXPECT_EQ(Cells("endpoints", ep), json({"web", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...", "2m"}));
  const json headless = {{"metadata", {{"name", "h"}}}, {"subsets", {{{"addresses", {{{"ip", "fd00::1"}}}}}}}};
  EXPECT_EQ(Cells("endpoints", headless)[1], "fd00::1");
  const json v6 = {{"metadata", {{"name", "v6"}}},
                   {"subsets", {{{"addresses", {{{"ip", "fd00::1"}}}}, {"ports", {{{"port", 80}}}}}}}};
  EXPECT_EQ(Cells("endpoints", v6)[1], "[fd00::1]:80");
  EXPECT_EQ(Cells("endpoints", json{{"metadata", {{"name", "none"}}}})[1], "<none>");
  EXPECT_EQ(Cells("endpoints", json{{"metadata", {{"name", "none"}}}})[2], "<unknown>");  // No creationTimestamp.

  const json slice = {
      {"metadata", {{"name", "web-abc12"}, {"creationTimestamp", Ago(120)}}},
      {"addressType", "IPv4"},
      {"ports", {{{"name", "http"}, {"port", 80}}, {{"name", "metrics"}}, json::object()}},
      {"endpoints",
       {{{"addresses", {"10.0.0.1"}}}, {{"addresses", {"10.0.0.2", "10.0.0.3"}}}, {{"addresses", {"10.0.0.4"}}}}}};
  EXPECT_EQ(Cells("endpointslices", slice),
            json({"web-abc12", "IPv4", "80,metrics,*", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "2m"}));
  const json empty = {{"metadata", {{"name", "e"}}}, {"addressType", "IPv4"}};
  EXPECT_EQ(Cells("endpointslices", empty)[2], "<unset>");
  EXPECT_EQ(Cells("endpointslices", empty)[3], "<unset>");
}

// --- Small core resources ---

TEST(KubeTables, NamespacesConfigMapsAndLeases) {
  const json ns = {{"metadata", {{"name", "ml"}, {"creationTimestamp", Ago(8 * 86400)}}},
                   {"status", {{"phase", "Active"}}}};
  EXPECT_EQ(Cells("namespaces", ns), json({"ml", "Active", "8d"}));
  EXPECT_EQ(Columns("namespaces"), (std::vector<std::string>{"Name:string:0", "Status:string:0", "Age:string:0"}));
  const json cm = {{"metadata", {{"name", "cfg"}, {"creationTimestamp", Ago(5)}}},
                   {"data", {{"a", "1"}, {"b", "2"}}},
                   {"binaryData", {{"c", "AA=="}}}};
  EXPECT_EQ(Cells("configmaps", cm), json({"cfg", 3, "5s"}));
  const json lease = {{"metadata", {{"name", "kube-scheduler"}, {"creationTimestamp", Ago(3 * 365 * 86400)}}},
                      {"spec", {{"holderIdentity", "cp-1_7c1e"}}}};
  EXPECT_EQ(Cells("leases", lease), json({"kube-scheduler", "cp-1_7c1e", "3y"}));
  EXPECT_EQ(Cells("leases", json{{"metadata", {{"name", "x"}}}})[1], "");
}

// --- The default convertor, includeObject and watch headers ---

TEST(KubeTables, ResourcesWithoutPrintersGetNameAndCreatedAt) {
  const json secret = {{"kind", "Secret"}, {"metadata", {{"name", "tok"}, {"creationTimestamp", Ago(300)}}}};
  const json table = Table("secrets", {secret});
  EXPECT_EQ(table["columnDefinitions"][1]["name"], "Created At");
  EXPECT_EQ(table["columnDefinitions"][1]["type"], "date");
  EXPECT_EQ(table["rows"][0]["cells"], json({"tok", "2023-11-14T22:08:20Z"}));
  EXPECT_EQ(Table("secrets", {json{{"metadata", {{"name", "t"}}}}})["rows"][0]["cells"][1], "0001-01-01T00:00:00Z");
  // An empty list: the default convertor leaves rows nil (null); the printers return an empty slice.
  EXPECT_TRUE(Table("secrets", {})["rows"].is_null());
  EXPECT_EQ(Table("pods", {})["rows"], json::array());
}

TEST(KubeTables, TableEnvelopeAndIncludeObjectVariants) {
  const json pod = Pod("web-0", "Running", json::array({Running()}));
  const json meta = Table("pods", {pod}, IncludeObject::kMetadata);
  EXPECT_EQ(meta["kind"], "Table");
  EXPECT_EQ(meta["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(meta["metadata"], json::object());
  EXPECT_EQ(meta["rows"][0]["object"],
            json({{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", pod["metadata"]}}));
  EXPECT_EQ(Table("pods", {pod}, IncludeObject::kObject)["rows"][0]["object"], pod);
  const json none = Table("pods", {pod}, IncludeObject::kNone);
  EXPECT_TRUE(none["rows"][0].contains("object"));
  EXPECT_TRUE(none["rows"][0]["object"].is_null());
  // Watch events after the first carry no column definitions, but the same cells.
  const json later = Table("pods", {pod}, IncludeObject::kMetadata, /*with_headers=*/false);
  EXPECT_TRUE(later.contains("columnDefinitions"));
  EXPECT_TRUE(later["columnDefinitions"].is_null());
  EXPECT_EQ(later["rows"], meta["rows"]);
  // Every row has one cell per column definition.
  for (std::string_view r : {"pods", "nodes", "events", "services", "cronjobs", "jobs", "secrets"}) {
    const json t = Table(r, {json{{"metadata", {{"name", "x"}}}}});
    EXPECT_EQ(t["rows"][0]["cells"].size(), t["columnDefinitions"].size()) << r;
  }
}

TEST(KubeTables, ParseIncludeObjectAcceptsTheThreePoliciesAndDefaultsToMetadata) {
  EXPECT_EQ(ParseIncludeObject("").value(), IncludeObject::kMetadata);
  EXPECT_EQ(ParseIncludeObject("Metadata").value(), IncludeObject::kMetadata);
  EXPECT_EQ(ParseIncludeObject("None").value(), IncludeObject::kNone);
  EXPECT_EQ(ParseIncludeObject("Object").value(), IncludeObject::kObject);
  const auto bad = ParseIncludeObject("object");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "unrecognized includeObject value: \"object\"");
}

}  // namespace
}  // namespace gpuwise::sim
