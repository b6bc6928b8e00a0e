#include "optimize/fractional/right_size.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "base/format.h"
#include "base/units.h"
#include "optimize/fractional/mig_catalog.h"

namespace gpuwise::optimize::fractional {
namespace {

using base::kGiB;
using base::kMiB;
constexpr double kEps = 1e-9;


double Gib(double bytes) { return bytes / kGiB; }

// Higher is stronger isolation.
int Strength(model::Isolation i) {
  switch (i) {
    case model::Isolation::kExclusive: return 3;
    case model::Isolation::kMig: return 2;
    case model::Isolation::kMps: return 1;
    case model::Isolation::kTimeslice: return 0;
  }
  return 3;
}

GpuFamily FamilyOf(const MigGpu* gpu) {
  if (gpu == nullptr) return GpuFamily::kOther;
  if (gpu->name.starts_with("A100")) return GpuFamily::kA100;
  if (gpu->name.starts_with("H100")) return GpuFamily::kH100;
  if (gpu->name.starts_with("H200")) return GpuFamily::kH200;
  return GpuFamily::kOther;
}

bool Live(const model::Pod& p) { return p.end_unix_s == 0 && p.phase != "Succeeded" && p.phase != "Failed"; }

bool UsesFractionBackend(const model::GpuRequest& r) {
  return r.hami_gpumem_mib > 0 || r.hami_gpumem_percent > 0 || r.hami_gpucores_percent > 0 || r.kai_fraction > 0 ||
         r.kai_memory_mib > 0;
}

// A device a pod holds in its latest held interval.
struct Held {
  int device = -1;
  double share = 1;
};

// What the workload's pods hold now, read from one pod.
struct Current {
  UnitChoice unit;
  const MigGpu* gpu = nullptr;          // catalog entry of its model (null: not MIG-capable or not in the catalog)
  const MigProfile* profile = nullptr;  // kMig, when the catalog has the profile
  int pod = -1;
  double unit_memory = NAN;  // bytes of one device of the unit: the MIG instance, or the whole GPU it shares
  double gpu_memory = NAN;   // bytes of one whole GPU of the model
  double sm_share = NAN;     // share of one whole GPU's SMs the unit gives (whole, time-slicing, fraction: 1)
  double sms = NAN;          // absolute, when known
  int compute_slices = 7, compute_slices_total = 7;
  int memory_slices = 8, memory_slices_total = 8;
  int tp_gpus = 1;           // GPUs one pod uses (tensor parallelism when > 1)
};

const model::SnapshotNode* NodeNamed(const model::Snapshot& s, const std::string& name) {
  for (const model::SnapshotNode& n : s.nodes) {
    if (n.node.name == name) return &n;
  }
  return nullptr;
}

// A MIG profile's memory: its own row, else a profile of the same GPU with the same memory slices (the framebuffer
// comes with the memory slices). NaN when neither is known.
double ProfileMemoryBytes(const MigGpu& gpu, const MigProfile& p, bool* inferred) {
  if (std::isfinite(p.memory_gib)) return p.memory_gib * kGiB;
  for (const MigProfile& q : gpu.profiles) {
    if (q.memory_slices == p.memory_slices && std::isfinite(q.memory_gib)) {
      *inferred = true;
      return q.memory_gib * kGiB;
    }
  }
  return NAN;
}

double MigShare(int compute_slices, int compute_total, int memory_slices, int memory_total) {
  return std::max(static_cast<double>(compute_slices) / compute_total, static_cast<double>(memory_slices) / memory_total);
}

Current ReadCurrent(const model::Snapshot& s, int pod_index, const std::vector<Held>& held) {
  Current c;
  c.pod = pod_index;
  const model::Pod& pod = s.pods[static_cast<std::size_t>(pod_index)];
  const model::GpuRequest req = pod.GpuTotal();
  const model::Device& d0 = s.devices[static_cast<std::size_t>(held.front().device)];
  const model::SnapshotNode* node =
      d0.node >= 0 && static_cast<std::size_t>(d0.node) < s.nodes.size() ? &s.nodes[static_cast<std::size_t>(d0.node)]
                                                                          : NodeNamed(s, pod.node);
  std::string model_name = d0.model_name;
  if (model_name.empty() && node != nullptr) model_name = node->node.gpu_product;
  c.unit.gpu_model = model_name;
  c.gpu = model_name.empty() ? nullptr : FindMigGpu(model_name);
  if (c.gpu != nullptr) {
    c.compute_slices = c.compute_slices_total = c.gpu->compute_slices;
    c.memory_slices = c.memory_slices_total = c.gpu->memory_slices;
  }
  const double full_sms = c.gpu != nullptr && c.gpu->full_sms > 0 ? c.gpu->full_sms : NAN;

  // One whole GPU's memory.
  if (!d0.is_mig() && d0.memory_bytes > 0) {
    c.gpu_memory = d0.memory_bytes;
  } else if (c.gpu != nullptr && c.gpu->full_memory_mib > 0) {
    c.gpu_memory = c.gpu->full_memory_mib * kMiB;
  } else if (node != nullptr && node->node.gpu_memory_mib > 0) {
    c.gpu_memory = node->node.gpu_memory_mib * kMiB;
  } else if (c.gpu != nullptr) {
    for (const MigProfile& p : c.gpu->profiles) {
      if (std::isfinite(p.memory_gib)) c.gpu_memory = std::max(std::isnan(c.gpu_memory) ? 0.0 : c.gpu_memory, p.memory_gib * kGiB);
    }
  }

  const int devices = static_cast<int>(held.size());
  const double share = held.front().share;
  c.tp_gpus = std::max({devices, req.gpus, pod.engine.tensor_parallel});
  if (d0.is_mig()) {
    c.unit.kind = UnitKind::kMig;
    c.unit.mig_profile = d0.mig_profile;
    if (c.unit.mig_profile.empty() && !req.mig.empty()) c.unit.mig_profile = req.mig.begin()->first;
    c.profile = c.gpu != nullptr ? c.gpu->FindProfile(c.unit.mig_profile) : nullptr;
    c.tp_gpus = std::max({devices, pod.engine.tensor_parallel, 1});
    if (c.profile != nullptr) {
      c.compute_slices = c.profile->compute_slices;
      c.memory_slices = c.profile->memory_slices;
      c.unit.gpu_share =
          MigShare(c.compute_slices, c.compute_slices_total, c.memory_slices, c.memory_slices_total);
      c.unit.relies_on_inferred = c.profile->AnyInferred();
      if (c.profile->sms > 0) c.sms = c.profile->sms;
    } else {
      c.compute_slices = d0.compute_slices > 0 ? d0.compute_slices : 1;
      c.compute_slices_total = d0.total_slices > 0 ? d0.total_slices : 7;
      c.unit.gpu_share = d0.gpu_share;
    }
    c.sm_share = c.sms / full_sms;  // NaN when either is unknown
    c.unit_memory = d0.memory_bytes;
    if (!(c.unit_memory > 0) && c.profile != nullptr && c.gpu != nullptr) {
      bool inferred = false;
      c.unit_memory = ProfileMemoryBytes(*c.gpu, *c.profile, &inferred);
    }
    c.unit.gpu_share *= std::max(1, devices);
    return c;
  }
  c.unit_memory = d0.memory_bytes > 0 ? d0.memory_bytes : c.gpu_memory;
  if (UsesFractionBackend(req)) {
    c.unit.kind = UnitKind::kFraction;
    double f = share < 1 - kEps ? share : NAN;
    if (std::isnan(f) && req.kai_fraction > 0) f = req.kai_fraction;
    if (std::isnan(f) && req.hami_gpumem_mib > 0 && c.gpu_memory > 0) f = req.hami_gpumem_mib * kMiB / c.gpu_memory;
    if (std::isnan(f) && req.kai_memory_mib > 0 && c.gpu_memory > 0) f = req.kai_memory_mib * kMiB / c.gpu_memory;
    if (std::isnan(f) && req.hami_gpumem_percent > 0) f = req.hami_gpumem_percent / 100;
    if (std::isnan(f) && req.hami_gpucores_percent > 0) f = req.hami_gpucores_percent / 100;
    c.unit.gpu_share = std::clamp(std::isnan(f) ? 1.0 : f, 0.0, 1.0);
    c.sm_share = 1;  // HAMi/KAI share by time: the SMs are not partitioned
    c.sms = full_sms;
    c.tp_gpus = std::max({devices, pod.engine.tensor_parallel, 1});
    return c;
  }
  if (share < 1 - kEps || req.shared > 0) {
    int replicas = node != nullptr ? std::max(node->replicas, node->node.gpu_replicas) : 1;
    if (replicas <= 1 && share < 1 - kEps) replicas = static_cast<int>(std::lround(1 / share));
    replicas = std::max(replicas, 1);
    const bool mps = node != nullptr && node->node.sharing_strategy == "mps";
    c.unit.kind = mps ? UnitKind::kMps : UnitKind::kTimeSlice;
    c.unit.replicas = replicas;
    c.unit.gpu_share = share < 1 - kEps ? share : 1.0 / replicas;
    c.sm_share = mps ? 1.0 / replicas : 1.0;
    c.sms = full_sms * c.sm_share;
    if (mps) {
      c.compute_slices = std::max(1, c.compute_slices_total / replicas);
      c.memory_slices = std::max(1, c.memory_slices_total / replicas);
    }
    c.tp_gpus = std::max({devices, req.shared, req.gpus, pod.engine.tensor_parallel, 1});
    return c;
  }
  c.unit.kind = UnitKind::kWholeGpu;
  c.unit.gpus = std::max({devices, req.gpus, 1});
  c.unit.gpu_share = c.unit.gpus;
  c.sm_share = 1;
  c.sms = full_sms;
  return c;
}

// A quantile of a usage signal: from the sketch, else from the Prometheus window profile.
struct SignalValue {
  std::uint64_t count = 0;
  double value = NAN;
  std::string from;  // "sketch" | "window"
};

SignalValue ComputeQuantile(const model::Workload& w, bool p99) {
  SignalValue v;
  const model::UsageSketch& sk = w.usage[static_cast<std::size_t>(model::UsageSignal::kCompute)];
  if (sk.count() > 0) {
    v.count = sk.count();
    v.value = sk.Quantile(p99 ? 0.99 : 0.95);
    v.from = "sketch";
    return v;
  }
  if (w.window.set) {
    const model::WindowStat& st = w.window.stats[static_cast<std::size_t>(model::UsageSignal::kCompute)];
    v.count = st.count;
    v.value = p99 ? st.p99 : st.p95;
    if (std::isnan(v.value)) v.value = st.max;  // an upper bound
    v.from = "window";
  }
  return v;
}

SignalValue FbPeak(const model::Workload& w) {
  SignalValue v;
  const model::UsageSketch& sk = w.usage[static_cast<std::size_t>(model::UsageSignal::kFbShare)];
  if (sk.count() > 0) {
    v.count = sk.count();
    v.value = sk.max();
    v.from = "sketch";
    return v;
  }
  if (w.window.set) {
    const model::WindowStat& st = w.window.stats[static_cast<std::size_t>(model::UsageSignal::kFbShare)];
    if (st.count > 0) {
      v.count = st.count;
      v.value = std::isnan(st.max) ? st.p99 : st.max;
      v.from = "window";
    }
  }
  return v;
}

// A candidate with its verdict. `category` groups rejections for the keep reason ("memory", "no latency SLO", ...).
struct Candidate {
  UnitChoice unit;
  bool ok = false;
  std::string category;
  std::string detail;
  bool family = false;  // stands for every unit of its kind (rejected all at once)
};

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

class Sizer {
 public:
  Sizer(const model::Snapshot& s, int workload, const model::WorkloadPolicy& policy, model::WorkloadClass cls,
        const RightSizeOptions& o, const UsageIndex* index)
      : s_(s), w_(s.workloads[static_cast<std::size_t>(workload)]), policy_(policy), cls_(cls), o_(o) {
    d_.workload = workload;
    // The usage rows its pods hold a device in, in snapshot order.
    if (index != nullptr) {
      for (int p : w_.pods) {
        if (p >= 0 && static_cast<std::size_t>(p) < index->by_pod.size()) {
          rows_.insert(rows_.end(), index->by_pod[static_cast<std::size_t>(p)].begin(), index->by_pod[static_cast<std::size_t>(p)].end());
        }
      }
      std::sort(rows_.begin(), rows_.end());
      rows_.erase(std::unique(rows_.begin(), rows_.end()), rows_.end());
    } else {
      const std::set<int> pods(w_.pods.begin(), w_.pods.end());
      for (std::size_t r = 0; r < s_.usage.size(); ++r) {
        for (const model::DeviceHold& h : s_.usage[r].holds) {
          if (pods.count(h.pod)) {
            rows_.push_back(static_cast<std::uint32_t>(r));
            break;
          }
        }
      }
    }
  }

  SizingDecision Run() {
    FindLivePods();
    d_.pods = static_cast<int>(held_.size());
    if (policy_.ignore.value) {
      if (!held_.empty()) SetCurrentOnly();
      return Keep("gpuwise.io/ignore is set (" + policy_.ignore.source + "): not right-sized");
    }
    if (policy_.automation.value == model::Automation::kOff) {
      if (!held_.empty()) SetCurrentOnly();
      return Keep("gpuwise.io/automation is off (" + policy_.automation.source + "): not right-sized");
    }
    if (held_.empty()) {
      return Unknown(live_requesting_ > 0
                         ? base::StrPrintf("%d live pod(s) request GPUs but none holds a device in the window", live_requesting_)
                         : std::string("no live pod holds a GPU"));
    }
    SetCurrentOnly();
    const Current& c = c_;
    d_.evidence.push_back(base::StrPrintf("current unit: %s on %s (%.2f of a GPU), %d live pod(s)", UnitLabel(c.unit).c_str(),
                                 c.unit.gpu_model.empty() ? "an unnamed GPU model" : c.unit.gpu_model.c_str(),
                                 c.unit.gpu_share, d_.pods));
    if (!other_units_.empty()) {
      d_.evidence.push_back("pods on other units too (" + Join(other_units_, ", ") + "): sized from " +
                            s_.pods[static_cast<std::size_t>(c.pod)].name);
    }

    // Compute.
    const bool interactive = cls_ == model::WorkloadClass::kInteractive;
    const SignalValue compute = ComputeQuantile(w_, interactive);
    if (static_cast<double>(compute.count) < o_.min_samples || std::isnan(compute.value)) {
      return Unknown(base::StrPrintf("%llu compute samples, fewer than the %.0f needed", static_cast<unsigned long long>(compute.count),
                            o_.min_samples));
    }
    activity_ = std::clamp(compute.value, 0.0, 1.0);
    double sm_share = c.sm_share;
    std::string sm_note;
    if (std::isnan(sm_share)) {
      sm_share = static_cast<double>(c.compute_slices) / c.compute_slices_total;
      sm_note = base::StrPrintf(" (SMs unknown: %d of %d compute slices taken instead)", c.compute_slices, c.compute_slices_total);
    }
    compute_need_ = activity_ * sm_share;
    d_.evidence.push_back(base::StrPrintf("compute %s %.3f of the unit (%s, %llu samples%s) = %.3f of a whole GPU%s",
                                 interactive ? "p99 (interactive)" : "p95", activity_,
                                 w_.compute_source.empty() ? "compute" : w_.compute_source.c_str(),
                                 static_cast<unsigned long long>(compute.count),
                                 compute.from == "window" ? ", Prometheus window" : "", compute_need_, sm_note.c_str()));

    // Memory.
    if (auto why = ReadMemoryNeed()) return Unknown(*why);

    // Policy in force.
    iso_ = policy_.IsolationFor(cls_);
    has_slo_ = policy_.HasSlo();
    if (policy_.slo_ttft_p99.value) slo_.ttft_p99_s = static_cast<double>(policy_.slo_ttft_p99.value->count()) / 1000;
    if (policy_.slo_tpot_p99.value) slo_.tpot_p99_s = static_cast<double>(policy_.slo_tpot_p99.value->count()) / 1000;
    d_.evidence.push_back("isolation " + std::string(model::IsolationName(iso_.value)) + " (" + iso_.source + ")");
    if (has_slo_) {
      std::vector<std::string> parts;
      if (slo_.ttft_p99_s) parts.push_back(base::StrPrintf("TTFT p99 <= %.0f ms", *slo_.ttft_p99_s * 1000));
      if (slo_.tpot_p99_s) parts.push_back(base::StrPrintf("TPOT p99 <= %.0f ms", *slo_.tpot_p99_s * 1000));
      const model::ServingUsage& su = w_.serving;
      d_.evidence.push_back("SLO " + Join(parts, ", ") +
                            base::StrPrintf("; measured TTFT p99 %s, TPOT p99 %s",
                                   std::isfinite(su.ttft_p99_s) ? base::StrPrintf("%.1f ms", su.ttft_p99_s * 1000).c_str() : "unknown",
                                   std::isfinite(su.tpot_p99_s) ? base::StrPrintf("%.1f ms", su.tpot_p99_s * 1000).c_str() : "unknown"));
    } else {
      d_.evidence.push_back("no latency SLO: compute is never shrunk, only memory and idle capacity");
    }
    d_.feasible.front().memory_bytes = d_.current.memory_bytes = PodMemory(c.tp_gpus);
    d_.feasible.front().compute_share = d_.current.compute_share = compute_need_ * c.tp_gpus;

    std::vector<Candidate> cands;
    AddWhole(&cands);
    AddMig(&cands);
    AddTimeSlice(&cands);
    AddMps(&cands);
    AddFraction(&cands);
    return Decide(cands);
  }

 private:
  SizingDecision Unknown(std::string why) {
    d_.status = SizingStatus::kUnknown;
    d_.reason = std::move(why);
    return std::move(d_);
  }
  SizingDecision Keep(std::string why) {
    d_.status = SizingStatus::kKeep;
    d_.reason = std::move(why);
    return std::move(d_);
  }

  void SetCurrentOnly() {
    if (c_.pod < 0) {
      const auto& [pod, held] = *held_.begin();
      c_ = ReadCurrent(s_, pod, held);
      c_.unit.reasons = {"current unit"};
      const std::string mine = UnitLabel(c_.unit) + " on " + c_.unit.gpu_model;
      for (const auto& [other, other_held] : held_) {
        if (other == pod) continue;
        const Current oc = ReadCurrent(s_, other, other_held);
        const std::string theirs = UnitLabel(oc.unit) + " on " + oc.unit.gpu_model;
        if (theirs != mine && std::find(other_units_.begin(), other_units_.end(), theirs) == other_units_.end()) {
          other_units_.push_back(theirs);
        }
      }
    }
    d_.current = c_.unit;
    d_.feasible = {c_.unit};
  }

  void FindLivePods() {
    std::set<int> live;
    for (int p : w_.pods) {
      if (p < 0 || static_cast<std::size_t>(p) >= s_.pods.size()) continue;
      const model::Pod& pod = s_.pods[static_cast<std::size_t>(p)];
      if (!Live(pod)) continue;
      live.insert(p);
      if (pod.RequestsGpu()) ++live_requesting_;
    }
    std::map<int, int> latest;  // pod -> latest interval it holds a device in
    for (std::uint32_t row : rows_) {
      const model::DeviceInterval& iv = s_.usage[row];
      for (const model::DeviceHold& h : iv.holds) {
        if (!live.count(h.pod) || h.fraction <= 0) continue;
        auto [it, fresh] = latest.emplace(h.pod, iv.interval);
        if (!fresh && iv.interval > it->second) it->second = iv.interval;
      }
    }
    for (std::uint32_t row : rows_) {
      const model::DeviceInterval& iv = s_.usage[row];
      for (const model::DeviceHold& h : iv.holds) {
        auto it = latest.find(h.pod);
        if (it == latest.end() || it->second != iv.interval || h.fraction <= 0) continue;
        std::vector<Held>& v = held_[h.pod];
        if (std::none_of(v.begin(), v.end(), [&](const Held& x) { return x.device == iv.device; })) {
          v.push_back({iv.device, h.share});
        }
      }
    }
  }

  // Sets need_ (per device) or says why the decision is unknown.
  std::optional<std::string> ReadMemoryNeed() {
    const Current& c = c_;
    std::string engine;
    for (const auto& entry : held_) {
      const model::Pod& p = s_.pods[static_cast<std::size_t>(entry.first)];
      if (p.engine.ReservesMemory()) {
        engine = p.engine.name;
        // vLLM takes gpu_memory_utilization of whatever device it gets (a MIG slice included, facts 4.1): only that
        // share of a unit is its budget. Default 0.9 (most releases; facts 4.1).
        if (engine == "vllm") budget_ = std::isfinite(p.engine.gpu_memory_utilization) ? p.engine.gpu_memory_utilization : 0.9;
      }
    }
    const SignalValue fb = FbPeak(w_);
    if (!engine.empty()) {
      // The framebuffer used is the reservation: the demand comes from the engine's metrics, per device interval.
      std::set<int> pods(w_.pods.begin(), w_.pods.end());
      double demand = NAN;
      int reserved = 0, known = 0;
      for (std::uint32_t row : rows_) {
        const model::DeviceInterval& iv = s_.usage[row];
        if (!iv.fb_reserved) continue;
        if (std::none_of(iv.holds.begin(), iv.holds.end(), [&](const model::DeviceHold& h) { return pods.count(h.pod) > 0; })) {
          continue;
        }
        ++reserved;
        if (std::isfinite(iv.fb_demand_bytes)) {
          ++known;
          demand = std::isnan(demand) ? iv.fb_demand_bytes : std::max(demand, iv.fb_demand_bytes);
        }
      }
      const std::string reservation =
          std::isfinite(fb.value) && c.unit_memory > 0
              ? base::StrPrintf("framebuffer used peaks at %.2f of %.1f GiB: its reservation", fb.value, Gib(c.unit_memory))
              : std::string("framebuffer used is its reservation");
      if (std::isnan(demand) && std::isfinite(w_.serving.demand_bytes_per_gpu)) {
        demand = w_.serving.demand_bytes_per_gpu;  // the window's figure (observe/snapshot_builder)
        known = reserved;
      }
      if (std::isnan(demand)) {
        memory_unknown_ = engine + " reserves its memory up front and its demand (weights + KV cache in use) was not read";
        d_.evidence.push_back("memory need unknown: " + memory_unknown_ + " (" + reservation +
                              "): only units with at least the current unit's memory are feasible");
        return std::nullopt;
      }
      need_ = demand * (1 + o_.memory_margin);
      d_.evidence.push_back(base::StrPrintf("memory need %.1f GiB: %s reserves its memory up front (%s, not the need); peak demand "
                                   "%.1f GiB (%d of %d intervals known) +%.0f%%",
                                   Gib(need_), engine.c_str(), reservation.c_str(), Gib(demand), known, reserved,
                                   100 * o_.memory_margin));
      return std::nullopt;
    }
    if (fb.count == 0 || std::isnan(fb.value)) return std::string("no framebuffer signal: the memory need is unknown");
    if (!(c.unit_memory > 0)) return std::string("the current unit's framebuffer size is unknown");
    need_ = fb.value * c.unit_memory * (1 + o_.memory_margin);
    d_.evidence.push_back(base::StrPrintf("memory need %.1f GiB: peak framebuffer %.3f of %.1f GiB = %.1f GiB (%llu samples%s) +%.0f%%",
                                 Gib(need_), fb.value, Gib(c.unit_memory), Gib(fb.value * c.unit_memory),
                                 static_cast<unsigned long long>(fb.count), fb.from == "window" ? ", Prometheus window" : "",
                                 100 * o_.memory_margin));
    return std::nullopt;
  }

  bool NeedKnown() const { return memory_unknown_.empty(); }
  // What one pod of `gpus` devices records as its memory: the need, or (unknown) the current unit's memory.
  double PodMemory(int gpus) const { return (NeedKnown() ? need_ : c_.unit_memory) * gpus; }

  // Memory check of one device of `bytes`; false with the reason.
  bool MemoryFits(double bytes, Candidate* k) const {
    if (NeedKnown()) {
      if (need_ <= bytes * budget_ + 1) return true;
      k->category = "memory";
      k->detail = budget_ < 1 ? base::StrPrintf("needs %.1f GiB, its engine gets %.2f of %.1f GiB = %.1f GiB", Gib(need_),
                                                budget_, Gib(bytes), Gib(bytes * budget_))
                              : base::StrPrintf("needs %.1f GiB, it has %.1f GiB", Gib(need_), Gib(bytes));
      return false;
    }
    if (c_.unit_memory > 0 && bytes + 1 >= c_.unit_memory) return true;
    k->category = "memory need unknown";
    k->detail = base::StrPrintf("%.1f GiB < the current unit's %.1f GiB, and the memory need is unknown", Gib(bytes),
                       Gib(c_.unit_memory));
    return false;
  }

  Candidate Make(UnitKind kind) const {
    Candidate k;
    k.unit.kind = kind;
    k.unit.gpu_model = c_.unit.gpu_model;
    k.unit.memory_bytes = PodMemory(1);
    k.unit.compute_share = compute_need_;
    return k;
  }

  UnitShape ShapeOfCurrent() const {
    UnitShape u;
    u.family = FamilyOf(c_.gpu);
    u.sms = std::isfinite(c_.sms) ? static_cast<int>(std::lround(c_.sms)) : 0;
    u.compute_slices = c_.compute_slices;
    u.compute_slices_total = c_.compute_slices_total;
    u.memory_slices = c_.memory_slices;
    u.memory_slices_total = c_.memory_slices_total;
    u.framebuffer_bytes = c_.unit_memory > 0 ? static_cast<std::int64_t>(c_.unit_memory) : 0;
    return u;
  }

  // A unit with fewer SMs (or memory slices) than now: feasible only with an SLO the slice model says holds. `from`
  // replaces the current unit's shape when only the ratio of SMs is known (MPS on a GPU outside the catalog).
  bool ShrinkOk(const UnitShape& to, Candidate* k, const UnitShape* from = nullptr) const {
    if (!has_slo_) {
      k->category = "no latency SLO";
      k->detail = base::StrPrintf("%s SMs, %d/%d memory slices vs %s, %d/%d now: no latency SLO, compute is never shrunk",
                         to.sms > 0 ? std::to_string(to.sms).c_str() : "?", to.memory_slices, to.memory_slices_total,
                         std::isfinite(c_.sms) ? std::to_string(std::lround(c_.sms)).c_str() : "?", c_.memory_slices,
                         c_.memory_slices_total);
      return false;
    }
    if ((from == nullptr && !(c_.sms > 0)) || (from != nullptr && from->sms <= 0) || to.sms <= 0) {
      k->category = "SMs unknown";
      k->detail = "the SMs of the current or the new unit are not in the catalog: the SLO cannot be checked";
      return false;
    }
    const model::ServingUsage& su = w_.serving;
    WorkloadObservation obs;
    if (std::isfinite(su.ttft_p99_s) && su.ttft_p99_s >= 0) obs.ttft_p99_s = su.ttft_p99_s;
    if (std::isfinite(su.tpot_p99_s) && su.tpot_p99_s >= 0) obs.tpot_p99_s = su.tpot_p99_s;
    if (!obs.ttft_p99_s && !obs.tpot_p99_s) {
      k->category = "no measured latency";
      k->detail = "latency SLO set but no measured p99 TTFT or TPOT (serving metrics not read): the SLO cannot be checked";
      return false;
    }
    obs.gr_active_p95 = activity_;
    if (NeedKnown()) obs.memory_needed_bytes = static_cast<std::int64_t>(need_);
    const base::Result<LatencyPrediction> pred = PredictLatency(from != nullptr ? *from : ShapeOfCurrent(), to, obs, o_.latency);
    if (!pred.ok()) {
      k->category = "latency model";
      k->detail = "latency model: " + pred.status().message();
      return false;
    }
    const SloCheck check = CheckSlo(*pred, slo_);
    if (!check.holds) {
      k->category = "SLO would not hold";
      k->detail = "SLO would not hold: " + Join(check.reasons, "; ");
      return false;
    }
    // Every prediction is recorded; the error bound is the largest of those an SLO was checked on.
    UnitChoice& u = k->unit;
    if (pred->ttft_p99) {
      u.predicted_ttft_p99_s = pred->ttft_p99->predicted_s;
      if (slo_.ttft_p99_s) u.error_bound = std::max(u.error_bound, pred->ttft_p99->error_bound);
    }
    if (pred->tpot_p99) {
      u.predicted_tpot_p99_s = pred->tpot_p99->predicted_s;
      if (slo_.tpot_p99_s) u.error_bound = std::max(u.error_bound, pred->tpot_p99->error_bound);
    }
    if (pred->request_p99) u.predicted_request_p99_s = pred->request_p99->predicted_s;
    for (const std::string& r : pred->reasons) u.reasons.push_back(r);
    for (const std::string& r : check.reasons) u.reasons.push_back(r);
    return true;
  }

  void AddWhole(std::vector<Candidate>* out) const {
    if (c_.unit.kind == UnitKind::kWholeGpu) return;  // the current unit
    Candidate k = Make(UnitKind::kWholeGpu);
    k.unit.gpus = c_.tp_gpus;
    k.unit.gpu_share = k.unit.gpus;
    k.unit.memory_bytes = PodMemory(k.unit.gpus);
    k.unit.compute_share = compute_need_ * k.unit.gpus;
    k.ok = true;
    k.unit.reasons.push_back("a whole GPU: every SM and all its memory; the strongest isolation");
    if (NeedKnown() && c_.gpu_memory > 0 && need_ > c_.gpu_memory + 1) {
      k.ok = false;
      k.category = "memory";
      k.detail = base::StrPrintf("needs %.1f GiB, a GPU has %.1f GiB", Gib(need_), Gib(c_.gpu_memory));
    }
    out->push_back(std::move(k));
  }

  // Rejects a whole family of candidates (MIG, MPS, ...) at once: an evidence line and a keep-reason category.
  void RejectFamily(std::vector<Candidate>* out, UnitKind kind, std::string category, std::string detail) const {
    Candidate k = Make(kind);
    k.unit.gpu_share = 0;  // stands for "smaller units of this kind"
    k.category = std::move(category);
    k.detail = std::move(detail);
    k.family = true;
    out->push_back(std::move(k));
  }

  bool TensorParallel() const { return c_.tp_gpus > 1; }

  void AddMig(std::vector<Candidate>* out) const {
    if (c_.gpu == nullptr) {
      RejectFamily(out, UnitKind::kMig, "GPU model not in the MIG catalog",
                   "GPU model \"" + c_.unit.gpu_model + "\" is not in the MIG catalog: no MIG units (unknown)");
      return;
    }
    if (TensorParallel()) {
      RejectFamily(out, UnitKind::kMig, "tensor parallelism",
                   base::StrPrintf("one pod uses %d GPUs (tensor parallelism): a CUDA process sees one MIG device", c_.tp_gpus));
      return;
    }
    if (Strength(iso_.value) > Strength(model::Isolation::kMig)) {
      RejectFamily(out, UnitKind::kMig, "isolation " + std::string(model::IsolationName(iso_.value)),
                   "isolation " + std::string(model::IsolationName(iso_.value)) + " (" + iso_.source + ") forbids MIG");
      return;
    }
    const MigGpu& gpu = *c_.gpu;
    for (const MigProfile& p : gpu.profiles) {
      if (p.media_extensions()) continue;
      if (c_.unit.kind == UnitKind::kMig && c_.unit.mig_profile == p.name) continue;  // the current unit
      Candidate k = Make(UnitKind::kMig);
      k.unit.mig_profile = std::string(p.name);
      k.unit.gpu_share = MigShare(p.compute_slices, gpu.compute_slices, p.memory_slices, gpu.memory_slices);
      bool inferred = false;
      const double memory = ProfileMemoryBytes(gpu, p, &inferred);
      k.unit.relies_on_inferred = p.AnyInferred() || inferred;
      out->push_back(std::move(k));
      Candidate& c = out->back();
      if (std::isnan(memory)) {
        c.category = "catalog";
        c.detail = "its memory size is not in the catalog";
        continue;
      }
      if (!MemoryFits(memory, &c)) continue;
      UnitShape to;
      to.family = FamilyOf(&gpu);
      to.sms = p.sms;
      to.compute_slices = p.compute_slices;
      to.compute_slices_total = gpu.compute_slices;
      to.memory_slices = p.memory_slices;
      to.memory_slices_total = gpu.memory_slices;
      to.framebuffer_bytes = static_cast<std::int64_t>(memory);
      if (KeepsCompute(to)) {
        c.unit.reasons.push_back(base::StrPrintf("%.1f GiB and %d SMs: keeps the workload's SMs", Gib(memory), p.sms));
        c.ok = true;
      } else if (ShrinkOk(to, &c)) {
        c.unit.reasons.insert(c.unit.reasons.begin(), base::StrPrintf("%.1f GiB, %d SMs", Gib(memory), p.sms));
        c.ok = true;
      }
    }
  }

  // At least the current unit's SMs and memory bandwidth (memory slices share). Unknown SMs: only the same GPU's
  // compute slices can be compared.
  bool KeepsCompute(const UnitShape& to) const {
    const double to_bw = static_cast<double>(to.memory_slices) / to.memory_slices_total;
    const double now_bw = static_cast<double>(c_.memory_slices) / c_.memory_slices_total;
    if (to_bw + kEps < now_bw) return false;
    if (to.sms > 0 && c_.sms > 0) return to.sms >= c_.sms - kEps;
    if (c_.unit.kind == UnitKind::kMig && std::isnan(c_.sms) && to.compute_slices_total == c_.compute_slices_total) {
      return to.compute_slices >= c_.compute_slices;  // the same GPU: SMs grow with compute slices
    }
    return false;
  }

  void AddTimeSlice(std::vector<Candidate>* out) const {
    if (c_.unit.kind == UnitKind::kTimeSlice) return;  // the current unit
    if (TensorParallel()) {
      RejectFamily(out, UnitKind::kTimeSlice, "tensor parallelism",
                   base::StrPrintf("one pod uses %d GPUs (tensor parallelism): no shares", c_.tp_gpus));
      return;
    }
    if (iso_.value != model::Isolation::kTimeslice) {
      RejectFamily(out, UnitKind::kTimeSlice, "isolation " + std::string(model::IsolationName(iso_.value)),
                   "isolation " + std::string(model::IsolationName(iso_.value)) + " (" + iso_.source +
                       ") forbids time-slicing");
      return;
    }
    if (has_slo_) {
      RejectFamily(out, UnitKind::kTimeSlice, "latency SLO",
                   "time-slicing gives no latency guarantee: ruled out by the latency SLO");
      return;
    }
    Candidate k = Make(UnitKind::kTimeSlice);
    k.unit.replicas = 0;
    if (!NeedKnown()) {
      k.category = "memory need unknown";
      k.detail = "memory need unknown (" + memory_unknown_ + "): a share cannot be sized";
      k.unit.gpu_share = 0;
      out->push_back(std::move(k));
      return;
    }
    k.unit.gpu_share = std::max(c_.gpu_memory > 0 ? need_ / c_.gpu_memory : 1.0,
                                o_.timeslice_compute_budget > 0 ? compute_need_ / o_.timeslice_compute_budget : 1.0);
    if (!(c_.gpu_memory > 0)) {
      k.category = "GPU memory unknown";
      k.detail = "the GPU's memory is unknown";
    } else if (MemoryFits(c_.gpu_memory, &k)) {
      if (compute_need_ > o_.timeslice_compute_budget + kEps) {
        k.category = "compute";
        k.detail = base::StrPrintf("compute need %.2f of a GPU is above the time-slicing budget %.2f", compute_need_,
                          o_.timeslice_compute_budget);
      } else {
        k.ok = true;
        k.unit.reasons.push_back(base::StrPrintf("time-slicing keeps every SM (no cap); needs %.1f GiB and %.2f of the GPU's "
                                        "compute, the sums on one GPU within its memory and %.2f",
                                        Gib(need_), compute_need_, o_.timeslice_compute_budget));
      }
    }
    k.unit.gpu_share = std::min(1.0, k.unit.gpu_share);
    out->push_back(std::move(k));
  }

  void AddMps(std::vector<Candidate>* out) const {
    if (TensorParallel()) {
      RejectFamily(out, UnitKind::kMps, "tensor parallelism",
                   base::StrPrintf("one pod uses %d GPUs (tensor parallelism): no MPS shares", c_.tp_gpus));
      return;
    }
    if (Strength(iso_.value) > Strength(model::Isolation::kMps)) {
      RejectFamily(out, UnitKind::kMps, "isolation " + std::string(model::IsolationName(iso_.value)),
                   "isolation " + std::string(model::IsolationName(iso_.value)) + " (" + iso_.source + ") forbids MPS");
      return;
    }
    if (c_.unit.kind == UnitKind::kMig) {
      RejectFamily(out, UnitKind::kMps, "on MIG", "on a MIG instance now: MPS shares are not combined with MIG");
      return;
    }
    for (int n = 2; n <= o_.max_mps_replicas; ++n) {
      if (c_.unit.kind == UnitKind::kMps && c_.unit.replicas == n) continue;  // the current unit
      Candidate k = Make(UnitKind::kMps);
      k.unit.replicas = n;
      k.unit.gpu_share = 1.0 / n;
      out->push_back(std::move(k));
      Candidate& c = out->back();
      if (!(c_.gpu_memory > 0)) {
        c.category = "GPU memory unknown";
        c.detail = "the GPU's memory is unknown";
        continue;
      }
      if (!MemoryFits(c_.gpu_memory / n, &c)) continue;
      if (compute_need_ > 1.0 / n + kEps) {
        c.category = "compute";
        c.detail = base::StrPrintf("compute need %.3f of a GPU is above the MPS cap 1/%d", compute_need_, n);
        continue;
      }
      const double sm_share = 1.0 / n;
      const bool keeps = std::isfinite(c_.sm_share) && sm_share >= c_.sm_share - kEps;
      if (keeps) {
        c.unit.reasons.push_back(base::StrPrintf("%.1f GiB and 1/%d of the SMs: keeps the workload's SMs", Gib(c_.gpu_memory / n), n));
        c.ok = true;
        continue;
      }
      UnitShape to;
      to.family = FamilyOf(c_.gpu);
      const int full = c_.gpu != nullptr ? c_.gpu->full_sms : 0;
      to.sms = full / n;
      to.compute_slices_total = c_.compute_slices_total;
      to.compute_slices = std::max(1, c_.compute_slices_total / n);
      to.memory_slices_total = c_.memory_slices_total;
      // MPS does not partition memory bandwidth; its clients contend for it: taken as 1/n (rounded down), pessimistic.
      to.memory_slices = std::max(1, c_.memory_slices_total / n);
      to.framebuffer_bytes = static_cast<std::int64_t>(c_.gpu_memory / n);
      // A GPU outside the catalog (L4, T4, A10G): its SM count is unknown, but the model needs only the ratio, and MPS
      // caps a client at 1/n of the SMs: a nominal 840 SMs (divisible by 2..8) stand for the whole GPU.
      UnitShape nominal_from;
      const UnitShape* from = nullptr;
      if (to.sms <= 0 && std::isfinite(c_.sm_share) && c_.sm_share > 0) {
        constexpr int kNominalSms = 840;
        nominal_from = ShapeOfCurrent();
        nominal_from.sms = static_cast<int>(std::lround(kNominalSms * c_.sm_share));
        to.sms = kNominalSms / n;
        from = &nominal_from;
      }
      if (ShrinkOk(to, &c, from)) {
        const std::string sms = from != nullptr ? "; the GPU's SM count is not in the catalog, the model needs only the ratio"
                                                : base::StrPrintf(" (%d)", to.sms);
        c.unit.reasons.insert(c.unit.reasons.begin(),
                              base::StrPrintf("%.1f GiB, 1/%d of the SMs%s; memory bandwidth taken as %d of %d slices",
                                     Gib(c_.gpu_memory / n), n, sms.c_str(), to.memory_slices, to.memory_slices_total));
        c.ok = true;
      }
    }
  }

  void AddFraction(std::vector<Candidate>* out) const {
    if (c_.unit.kind != UnitKind::kFraction) return;  // the packer places fractions only where the backend runs
    Candidate k = Make(UnitKind::kFraction);
    k.unit.gpu_share = 0;
    if (TensorParallel()) {
      k.category = "tensor parallelism";
      k.detail = base::StrPrintf("one pod uses %d GPUs (tensor parallelism): no fractions", c_.tp_gpus);
    } else if (iso_.value != model::Isolation::kTimeslice) {
      k.category = "isolation " + std::string(model::IsolationName(iso_.value));
      k.detail = "isolation " + std::string(model::IsolationName(iso_.value)) + " (" + iso_.source +
                 ") forbids a HAMi/KAI fraction (time-shared, timeslice level)";
    } else if (has_slo_) {
      k.category = "latency SLO";
      k.detail = "a HAMi/KAI fraction shares by time: no latency guarantee, ruled out by the latency SLO";
    } else if (!NeedKnown()) {
      k.category = "memory need unknown";
      k.detail = "memory need unknown (" + memory_unknown_ + "): a fraction cannot be sized";
    } else if (!(c_.gpu_memory > 0)) {
      k.category = "GPU memory unknown";
      k.detail = "the GPU's memory is unknown";
    } else {
      k.unit.gpu_share = std::max(need_ / c_.gpu_memory, compute_need_);
      if (k.unit.gpu_share > 1 + kEps) {
        k.category = "memory";
        k.detail = base::StrPrintf("a fraction of %.2f is more than a GPU", k.unit.gpu_share);
      } else {
        k.ok = true;
        k.unit.reasons.push_back(base::StrPrintf("max(memory %.1f / %.1f GiB, compute %.3f) = %.3f of a GPU", Gib(need_),
                                        Gib(c_.gpu_memory), compute_need_, k.unit.gpu_share));
      }
    }
    out->push_back(std::move(k));
  }

  SizingDecision Decide(std::vector<Candidate>& cands) {
    const double now = d_.current.gpu_share;
    const double bar = now * (1 - o_.min_saving);
    std::vector<std::string> blockers;
    std::set<std::string> seen;
    for (Candidate& k : cands) {
      if (k.ok) {
        d_.feasible.push_back(std::move(k.unit));
        continue;
      }
      std::string label = UnitLabel(k.unit);
      if (k.unit.kind == UnitKind::kFraction) label = "a HAMi/KAI fraction";
      if (k.family || (k.unit.kind == UnitKind::kTimeSlice && k.unit.replicas == 0)) {
        label = k.unit.kind == UnitKind::kMig ? "MIG" : k.unit.kind == UnitKind::kMps ? "MPS" : "time-slicing";
      }
      d_.evidence.push_back("not " + label + ": " + k.detail);
      if (k.unit.gpu_share < bar - kEps && seen.insert(k.category).second) {
        if (k.category == "memory") {
          blockers.push_back(base::StrPrintf("memory (needs %.1f GiB)", Gib(need_)));
        } else if (k.category == "no latency SLO") {
          blockers.push_back("no latency SLO (compute is never shrunk)");
        } else {
          blockers.push_back(k.category);
        }
      }
    }
    std::stable_sort(d_.feasible.begin(), d_.feasible.end(),
                     [](const UnitChoice& a, const UnitChoice& b) { return a.gpu_share < b.gpu_share; });
    const UnitChoice& best = d_.feasible.front();
    if (best.gpu_share < bar - kEps) {
      std::string why = base::StrPrintf("%s (%.2f of a GPU) instead of %s (%.2f): memory need %s, compute %.3f of a GPU",
                               UnitLabel(best).c_str(), best.gpu_share, UnitLabel(d_.current).c_str(), now,
                               NeedKnown() ? base::StrPrintf("%.1f GiB", Gib(need_)).c_str() : "unknown", compute_need_);
      if (best.predicted_ttft_p99_s || best.predicted_tpot_p99_s) {
        std::vector<std::string> p;
        if (best.predicted_ttft_p99_s) p.push_back(base::StrPrintf("TTFT p99 %.1f ms", *best.predicted_ttft_p99_s * 1000));
        if (best.predicted_tpot_p99_s) p.push_back(base::StrPrintf("TPOT p99 %.1f ms", *best.predicted_tpot_p99_s * 1000));
        why += base::StrPrintf("; predicted %s (+%.0f%% model error) within the SLO", Join(p, ", ").c_str(),
                      100 * best.error_bound);
      } else if (!has_slo_) {
        why += "; keeps its SMs (no SLO)";
      }
      if (best.relies_on_inferred) why += "; rests on inferred catalog facts";
      d_.status = SizingStatus::kResize;
      d_.reason = why;
      return std::move(d_);
    }
    d_.status = SizingStatus::kKeep;
    if (blockers.empty()) {
      d_.reason = base::StrPrintf("%s (%.2f of a GPU) stays: no feasible unit is at least %.0f%% smaller",
                         UnitLabel(d_.current).c_str(), now, 100 * o_.min_saving);
    } else {
      d_.reason = base::StrPrintf("%s (%.2f of a GPU) stays: smaller units ruled out by %s", UnitLabel(d_.current).c_str(), now,
                         Join(blockers, ", ").c_str());
    }
    return std::move(d_);
  }

  const model::Snapshot& s_;
  const model::Workload& w_;
  const model::WorkloadPolicy& policy_;
  model::WorkloadClass cls_;
  const RightSizeOptions& o_;
  SizingDecision d_;
  std::map<int, std::vector<Held>> held_;  // live pod -> devices it holds in its latest held interval
  std::vector<std::uint32_t> rows_;        // Snapshot::usage rows one of its pods holds a device in
  double budget_ = 1;                      // share of a unit its engine takes (vLLM gpu_memory_utilization)
  int live_requesting_ = 0;
  Current c_;
  std::vector<std::string> other_units_;
  double activity_ = 0;       // compute quantile, of the current unit
  double compute_need_ = 0;   // share of one whole GPU, per device
  double need_ = NAN;         // memory need per device, bytes (with margin)
  std::string memory_unknown_;  // non-empty: the need is unknown, and why
  model::Sourced<model::Isolation> iso_;
  bool has_slo_ = false;
  SloTargets slo_;
};

}  // namespace

std::string_view UnitKindName(UnitKind k) {
  switch (k) {
    case UnitKind::kWholeGpu: return "whole-gpu";
    case UnitKind::kMig: return "mig";
    case UnitKind::kTimeSlice: return "time-slice";
    case UnitKind::kMps: return "mps";
    case UnitKind::kFraction: return "fraction";
  }
  return "whole-gpu";
}

std::string_view SizingStatusName(SizingStatus s) {
  switch (s) {
    case SizingStatus::kResize: return "resize";
    case SizingStatus::kKeep: return "keep";
    case SizingStatus::kUnknown: return "unknown";
  }
  return "unknown";
}

std::string UnitLabel(const UnitChoice& u) {
  switch (u.kind) {
    case UnitKind::kWholeGpu: return u.gpus == 1 ? "whole GPU" : base::StrPrintf("%d whole GPUs", u.gpus);
    case UnitKind::kMig: return "MIG " + u.mig_profile;
    case UnitKind::kTimeSlice: return u.replicas > 0 ? base::StrPrintf("time-slicing 1/%d", u.replicas) : "time-slicing share";
    case UnitKind::kMps: return base::StrPrintf("MPS 1/%d", u.replicas);
    case UnitKind::kFraction: return base::StrPrintf("fraction %.2f", u.gpu_share);
  }
  return "unit";
}

UsageIndex IndexUsage(const model::Snapshot& snapshot) {
  UsageIndex index;
  index.by_pod.resize(snapshot.pods.size());
  for (std::size_t r = 0; r < snapshot.usage.size(); ++r) {
    for (const model::DeviceHold& h : snapshot.usage[r].holds) {
      if (h.pod < 0 || static_cast<std::size_t>(h.pod) >= index.by_pod.size()) continue;
      std::vector<std::uint32_t>& rows = index.by_pod[static_cast<std::size_t>(h.pod)];
      if (rows.empty() || rows.back() != r) rows.push_back(static_cast<std::uint32_t>(r));
    }
  }
  return index;
}

SizingDecision RightSize(const model::Snapshot& snapshot, int workload, const model::WorkloadPolicy& policy,
                         model::WorkloadClass workload_class, const RightSizeOptions& options, const UsageIndex* index) {
  if (workload < 0 || static_cast<std::size_t>(workload) >= snapshot.workloads.size()) {
    SizingDecision d;
    d.workload = workload;
    d.reason = "no such workload in the snapshot";
    return d;
  }
  return Sizer(snapshot, workload, policy, workload_class, options, index).Run();
}

}  // namespace gpuwise::optimize::fractional
