// Whole plans on random clusters: whatever the optimizers decide, the plan is well formed, a cluster can carry it
// out (the deployment model), and once applied nothing is overcommitted. Checked with code independent of the
// optimizers: the projection, the MIG catalog's placement rules, and the plan's own dependency graph.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "analyze/cost.h"
#include "analyze/report.h"
#include "optimize/fractional/mig_catalog.h"
#include "optimize/optimizer.h"
#include "optimize/projection.h"
#include "solve/cbc/cbc_solver.h"

namespace gpuwise::optimize {
namespace {

constexpr std::int64_t kEnd = 1'794'787'200;
constexpr const char* kA100 = "NVIDIA A100-SXM4-80GB";
constexpr const char* kL40s = "NVIDIA L40S";  // no MIG: sharing there is MPS or time-slicing

struct RandomCluster {
  model::Snapshot s;
  std::map<std::string, double> fb_bytes;  // pod "ns/name" -> the framebuffer it uses
  std::set<std::string> tensor_parallel;  // workloads whose pods hold 2 GPUs
  std::set<std::string> without_slo;
  std::map<std::string, double> node_gpu_memory;  // node -> bytes of one GPU
  std::set<std::string> apart;                     // workloads whose replicas a required anti-affinity keeps apart
};

RandomCluster Generate() {
  RandomCluster c;
  model::Snapshot& s = c.s;
  s.start_unix_s = s.grid_start_unix_s = kEnd - 3600;
  s.end_unix_s = kEnd;
  s.intervals = 1;
  s.live = true;
  const int nodes = *rc::gen::inRange(2, 7);
  std::vector<std::vector<int>> free_devices(static_cast<std::size_t>(nodes));
  std::vector<double> gpu_memory;
  for (int n = 0; n < nodes; ++n) {
    const bool l40s = *rc::gen::arbitrary<bool>();
    model::SnapshotNode sn;
    sn.node.name = "n" + std::to_string(n);
    if (!l40s) {
      sn.node.mig_strategy = "mixed";
      sn.node.labels["nvidia.com/mig.strategy"] = "mixed";
    }
    sn.node.allocatable["nvidia.com/gpu"] = 8;
    sn.node.cpu_allocatable = 96;
    sn.node.memory_allocatable_bytes = 1e12;
    sn.node.gpu_memory_mib = l40s ? 46068 : 81920;
    gpu_memory.push_back(l40s ? 48e9 : 80e9);
    c.node_gpu_memory[sn.node.name] = gpu_memory.back();
    sn.gpus = 8;
    sn.price_micro_per_gpu_hour = l40s ? 2'000'000 : 4'000'000;
    sn.price_rule = "test";
    s.nodes.push_back(sn);
    for (int g = 0; g < 8; ++g) {
      model::Device d;
      d.node = n;
      d.uuid = "GPU-" + std::to_string(n) + "-" + std::to_string(g);
      d.key = sn.node.name + "/" + d.uuid;
      d.model_name = l40s ? kL40s : kA100;
      d.memory_bytes = gpu_memory.back();
      d.compute_source = "sm_active";
      free_devices[static_cast<std::size_t>(n)].push_back(static_cast<int>(s.devices.size()));
      s.devices.push_back(d);
    }
  }
  s.usage.resize(s.devices.size());
  for (std::size_t d = 0; d < s.devices.size(); ++d) {
    s.usage[d].device = static_cast<int>(d);
    s.usage[d].interval = 0;
    s.usage[d].samples = 60;
  }
  const int workloads = *rc::gen::inRange(nodes, 4 * nodes + 1);  // room to consolidate, often
  for (int w = 0; w < workloads; ++w) {
    model::Workload wl;
    wl.key = {"ns" + std::to_string(w), "Deployment", "app" + std::to_string(w)};
    const bool notebook = *rc::gen::inRange(0, 4) == 0;  // no engine, no SLO, isolation timeslice by class
    const bool tp = !notebook && *rc::gen::inRange(0, 8) == 0;
    const bool slo = !notebook && *rc::gen::arbitrary<bool>();
    if (tp) c.tensor_parallel.insert(wl.key.str());
    if (!slo) c.without_slo.insert(wl.key.str());
    const int replicas = *rc::gen::inRange(1, 3);
    const double compute = *rc::gen::inRange(1, 40) / 100.0;
    const double fb = *rc::gen::inRange(3, 45) / 100.0;  // of the GPU the pod runs on
    const bool mps = *rc::gen::arbitrary<bool>();  // allows MPS (gpuwise.io/isolation: mps)
    const bool apart = *rc::gen::inRange(0, 4) == 0;  // required pod anti-affinity against its own replicas
    if (apart) c.apart.insert(wl.key.namespace_name + "/" + wl.key.name);
    for (int r = 0; r < replicas; ++r) {
      // A node with enough free GPUs, else the pod is not generated.
      // Replicas of one workload on one GPU model, as a Deployment's nodeAffinity or a node pool would keep them.
      int node = -1;
      const int start = *rc::gen::inRange(0, nodes);
      for (int k = 0; k < nodes && node < 0; ++k) {
        const int n = (start + k) % nodes;
        bool taken = false;  // a replica of an anti-affine workload is there already
        for (int q : wl.pods) taken |= apart && s.pods[static_cast<std::size_t>(q)].node == "n" + std::to_string(n);
        if (taken) continue;
        const bool same_model = wl.pods.empty() || gpu_memory[static_cast<std::size_t>(n)] ==
                                                       c.node_gpu_memory[s.pods[static_cast<std::size_t>(wl.pods.front())].node];
        if (same_model && free_devices[static_cast<std::size_t>(n)].size() >= (tp ? 2u : 1u)) node = n;
      }
      if (node < 0) break;
      model::Pod p;
      p.namespace_name = wl.key.namespace_name;
      p.name = wl.key.name + "-" + std::to_string(r);
      p.node = s.nodes[static_cast<std::size_t>(node)].node.name;
      p.phase = "Running";
      p.created_unix_s = kEnd - 7200;
      p.owners = {{"apps/v1", "ReplicaSet", wl.key.name + "-abc", ""}, {"apps/v1", "Deployment", wl.key.name, ""}};
      p.labels = {{"app", wl.key.name}};
      if (apart) p.anti_affinity.hostname = {{{"app", wl.key.name}}};
      if (mps && !notebook) p.annotations["gpuwise.io/isolation"] = "mps";
      if (slo) {
        p.annotations["gpuwise.io/slo-ttft-p99"] = std::to_string(*rc::gen::inRange(5, 50) * 100) + "ms";
        p.annotations["gpuwise.io/slo-tpot-p99"] = std::to_string(*rc::gen::inRange(5, 30) * 10) + "ms";
      }
      // A vLLM server (class interactive, isolation mig by default) whose demand is known, or a notebook.
      if (notebook) {
        p.annotations["gpuwise.io/class"] = "notebook";
      } else {
        p.annotations["gpuwise.io/class"] = "interactive";
        p.engine.name = "vllm";
        p.engine.container = "main";
        p.engine.model = "llama-3-8b";
        p.engine.tensor_parallel = tp ? 2 : 1;
      }
      model::Container ct;
      ct.name = "main";
      ct.gpu.gpus = tp ? 2 : 1;
      ct.cpu_request = 4;
      p.containers.push_back(ct);
      const int pod = static_cast<int>(s.pods.size());
      for (int k = 0; k < (tp ? 2 : 1); ++k) {
        const int d = free_devices[static_cast<std::size_t>(node)].back();
        free_devices[static_cast<std::size_t>(node)].pop_back();
        model::DeviceHold h;
        h.pod = pod;
        h.how = model::HoldHow::kLabel;
        s.usage[static_cast<std::size_t>(d)].holds.push_back(h);
        s.usage[static_cast<std::size_t>(d)].compute = compute;
        const double mem = gpu_memory[static_cast<std::size_t>(node)];
        s.usage[static_cast<std::size_t>(d)].fb_used_bytes = notebook ? fb * mem : 0.9 * mem;
        s.usage[static_cast<std::size_t>(d)].fb_reserved = !notebook;
        if (!notebook) s.usage[static_cast<std::size_t>(d)].fb_demand_bytes = fb * mem;
      }
      c.fb_bytes[p.namespace_name + "/" + p.name] = fb * gpu_memory[static_cast<std::size_t>(node)];
      s.pods.push_back(p);
      wl.pods.push_back(pod);
      s.pod_workload.push_back(static_cast<int>(s.workloads.size()));
    }
    if (wl.pods.empty()) break;
    for (int k = 0; k < 60; ++k) {
      wl.usage[static_cast<std::size_t>(model::UsageSignal::kCompute)].Insert(compute * (0.8 + 0.004 * k));
      wl.usage[static_cast<std::size_t>(model::UsageSignal::kFbShare)].Insert(fb);
    }
    wl.compute_source = "sm_active";
    wl.serving.ttft_p99_s = *rc::gen::inRange(1, 6) / 10.0;
    wl.serving.tpot_p99_s = *rc::gen::inRange(1, 5) / 100.0;
    s.workloads.push_back(std::move(wl));
  }
  return c;
}

int WorkloadIndex(const model::Snapshot& s, const model::ObjectRef& target) {
  for (std::size_t w = 0; w < s.workloads.size(); ++w) {
    const model::WorkloadKey& k = s.workloads[w].key;
    if (k.namespace_name == target.namespace_name && k.kind == target.kind && k.name == target.name) return static_cast<int>(w);
  }
  RC_FAIL("an action targets a workload that is not in the snapshot");
}

// The ids an action depends on, transitively.
std::set<std::string> Ancestors(const model::Plan& plan, const model::Action& a) {
  std::set<std::string> seen;
  std::function<void(const model::Action&)> walk = [&](const model::Action& x) {
    for (const std::string& d : x.depends_on) {
      if (seen.insert(d).second) walk(*plan.Find(d));
    }
  };
  walk(a);
  return seen;
}

RC_GTEST_PROP(PlanProperty, EveryPlanIsCarriedOutWithinTheDeploymentModel, ()) {
  RandomCluster c = Generate();
  RC_PRE(!c.s.workloads.empty());
  const model::Snapshot& s = c.s;
  const analyze::CostLedger ledger = analyze::ComputeCosts(s);
  const analyze::Report report = analyze::BuildReport(s, ledger);
  auto cbc = solve::cbc::NewCbcSolver();
  OptimizeInput in{s, ledger, report, ResolvePolicies(s), RowsByWorkload(s, report), cbc.get()};
  const model::Plan plan = BuildPlan(in, RecommendOptions{});

  // Well formed, no risk flagged (no pod left Pending, no strategy change).
  RC_ASSERT(ValidatePlan(plan).ok());
  if (!plan.risks.empty()) {
    RC_LOG() << "risk: " << plan.risks.front() << "\n";
    for (const auto& n : plan.savings.notes) RC_LOG() << "note: " << n << "\n";
    for (const auto& a : plan.actions) RC_LOG() << a.id << " " << model::ActionKindName(a.kind) << " " << a.target.str() << "\n";
  }
  RC_ASSERT(plan.risks.empty());
  RC_ASSERT(plan.savings.pods_left_pending == 0);

  const fractional::MigGpu* a100 = fractional::FindMigGpu(kA100);
  std::map<std::string, std::map<std::string, int>> layouts;
  for (const model::Action& a : plan.actions) {
    if (const auto* v = std::get_if<model::ConfigMapValue>(&a.after)) {
      for (const auto& [name, layout] : v->mig_layouts) {
        // Every layout is valid on the GPU (the catalog's placement rules).
        if (!layout.empty()) RC_ASSERT(fractional::PlaceCounts(*a100, fractional::MigCounts(layout.begin(), layout.end())).ok());
        layouts[name] = layout;
      }
    }
  }
  for (const model::Action& a : plan.actions) {
    if (a.kind == model::ActionKind::kSetNodeLabel) {
      const auto& l = std::get<model::LabelValue>(a.after);
      if (l.key != "nvidia.com/mig.config") continue;
      // A node is re-laid out only after its config exists, it is cordoned and every GPU pod on it is evicted (or
      // scaled away).
      RC_ASSERT(layouts.count(l.value.value_or("")) == 1);
      const std::set<std::string> before = Ancestors(plan, a);
      bool cordoned = false;
      std::set<std::string> evicted;
      for (const std::string& id : before) {
        const model::Action* x = plan.Find(id);
        if (x->kind == model::ActionKind::kCordon && x->target.name == a.target.name) cordoned = true;
        if (x->kind == model::ActionKind::kEvict) evicted.insert(x->target.namespace_name + "/" + x->target.name);
        if (x->kind == model::ActionKind::kSetReplicas && std::get<model::ReplicaCount>(x->after).replicas == 0) {
          for (int pod : s.workloads[static_cast<std::size_t>(WorkloadIndex(s, x->target))].pods) {
            evicted.insert(s.pods[static_cast<std::size_t>(pod)].namespace_name + "/" + s.pods[static_cast<std::size_t>(pod)].name);
          }
        }
      }
      RC_ASSERT(cordoned);
      for (const model::Pod& p : s.pods) {
        if (p.node == a.target.name && p.RequestsGpu()) RC_ASSERT(evicted.count(p.namespace_name + "/" + p.name) == 1);
      }
    }
    if (a.kind == model::ActionKind::kSetResources) {
      const std::string key = a.target.namespace_name + "/" + a.target.kind + "/" + a.target.name;
      for (const auto& [res, q] : std::get<model::ResourceValues>(a.after).requests) {
        if (res == "nvidia.com/gpu.shared") RC_ASSERT(c.tensor_parallel.count(key) == 0);  // no share for a TP pod
        if (!res.starts_with("nvidia.com/mig-")) continue;
        // Tensor-parallel pods never move to MIG; without an SLO compute is never shrunk, and every A100 slice has
        // fewer SMs (98 at most) than the whole GPU (108).
        RC_ASSERT(c.tensor_parallel.count(key) == 0);
        RC_ASSERT(c.without_slo.count(key) == 0);
      }
    }
  }
  bool relaid = false, released = false;
  std::map<std::string, int> ts_nodes, mps_nodes;  // node -> shares per GPU it is given
  for (const model::Action& a : plan.actions) {
    if (a.kind == model::ActionKind::kSetNodeLabel) {
      const auto& l = std::get<model::LabelValue>(a.after);
      relaid |= l.key == "nvidia.com/mig.config";
      if (l.key == "nvidia.com/device-plugin.config") {
        const int n = std::stoi(l.value->substr(l.value->rfind('-') + 1));
        (l.value->starts_with("gpuwise-mps-") ? mps_nodes : ts_nodes)[a.target.name] = n;
      }
    }
    released |= a.kind == model::ActionKind::kCordon && a.optimizer == "fractional";
  }
  RC_TAG(relaid ? "re-laid a node" : "no re-layout", ts_nodes.empty() ? "no time-slicing" : "time-sliced a node",
         mps_nodes.empty() ? "no MPS" : "MPS on a node", released ? "released a node" : "released none");
  // Once applied, no node gives more of any GPU resource than it advertises.
  auto after = ProjectPlan(s, plan);
  RC_ASSERT(after.ok());
  std::map<std::string, std::map<std::string, double>> used;
  for (const ProjectedPod& p : after->pods) {
    if (p.node.empty()) continue;
    for (const auto& [k, v] : p.extended) used[p.node][k] += v;
  }
  // The framebuffer each pod on `node` uses, largest first (an unknown pod: all of a GPU).
  auto memory_on = [&](const std::string& node) {
    std::vector<double> fb;
    for (const ProjectedPod& p : after->pods) {
      if (p.node != node || !p.gpu()) continue;
      std::string name = p.namespace_name + "/" + p.name;
      if (name.ends_with("~")) name.pop_back();
      fb.push_back(c.fb_bytes.count(name) ? c.fb_bytes[name] : c.node_gpu_memory[node]);
    }
    std::sort(fb.rbegin(), fb.rend());
    return fb;
  };
  // A time-sliced node: any N of its pods may share a GPU, and nothing enforces memory: the N largest fit one GPU.
  for (const auto& [node, replicas] : ts_nodes) {
    const std::vector<double> fb = memory_on(node);
    double top = 0;
    for (int k = 0; k < replicas && k < static_cast<int>(fb.size()); ++k) top += fb[static_cast<std::size_t>(k)];
    RC_ASSERT(top <= c.node_gpu_memory[node]);
  }
  // An MPS node: never a GPU that could take MIG instead, and each pod fits the 1/N of memory MPS limits it to.
  for (const auto& [node, replicas] : mps_nodes) {
    RC_ASSERT(c.node_gpu_memory[node] < 80e9);  // the L40S nodes
    const std::vector<double> fb = memory_on(node);
    RC_ASSERT(fb.empty() || fb.front() <= c.node_gpu_memory[node] / replicas);
  }
  // Replicas kept apart by a required anti-affinity stay apart.
  std::set<std::pair<std::string, std::string>> workload_on_node;
  for (const ProjectedPod& p : after->pods) {
    if (p.node.empty() || !c.apart.count(p.workload.namespace_name + "/" + p.workload.name)) continue;
    RC_ASSERT(workload_on_node.insert({p.workload.namespace_name + "/" + p.workload.name, p.node}).second);
  }
  for (const ProjectedNode& n : after->nodes) {
    for (const auto& [k, v] : used[n.name]) {
      auto a = n.allocatable.find(k);
      RC_ASSERT(a != n.allocatable.end());
      RC_ASSERT(v <= a->second + 1e-9);
    }
  }
}

}  // namespace
}  // namespace gpuwise::optimize
