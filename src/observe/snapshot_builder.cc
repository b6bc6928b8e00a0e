#include "observe/snapshot_builder.h"

#include "model/llm_catalog.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "base/units.h"
#include "model/annotations.h"
#include "observe/scrape_window.h"


namespace gpuwise::observe {
namespace {

using model::Device;
using model::DeviceHold;
using model::DeviceInterval;
using model::HoldHow;
using model::Pod;
using prom::Signal;

// The signals the snapshot keeps per interval, in the order of Acc::sum.
constexpr std::array<Signal, 9> kKept = {Signal::kSmActive, Signal::kGrEngineActive, Signal::kGpuUtil,
                                         Signal::kFbUsed,   Signal::kFbFree,         Signal::kDramActive,
                                         Signal::kTensorActive, Signal::kPower,      Signal::kFbTotal};
int KeptIndex(Signal s) {
  for (std::size_t i = 0; i < kKept.size(); ++i) {
    if (kKept[i] == s) return static_cast<int>(i);
  }
  return -1;
}

struct Acc {
  std::array<double, kKept.size()> sum{};
  std::array<std::uint32_t, kKept.size()> n{};
  std::uint32_t blanks = 0;  // reference-signal samples that were blank (they still carry labels)
};

// Pod index -> samples naming it (reference signal) for one device and interval, in pod order. Almost always one pod
// (two in a rollout's interval), and there is one per device and interval (1.75 million for a week of 10,000 GPUs):
// the smallest pod inline, the rest in a sorted vector, instead of a std::map's node per pod.
class LabelCounts {
 public:
  void Add(int pod, std::uint32_t n) {
    if (first_pod_ < 0 || pod == first_pod_) {
      first_pod_ = pod;
      first_n_ += n;
      return;
    }
    if (pod < first_pod_) {
      Insert(first_pod_, first_n_);
      first_pod_ = pod;
      first_n_ = n;
      return;
    }
    Insert(pod, n);
  }
  std::uint32_t Find(int pod) const {
    if (pod == first_pod_) return first_n_;
    auto it = std::lower_bound(more_.begin(), more_.end(), std::make_pair(pod, std::uint32_t{0}));
    return it != more_.end() && it->first == pod ? it->second : 0;
  }
  bool empty() const { return first_pod_ < 0; }
  template <class F>
  void ForEach(F f) const {
    if (first_pod_ < 0) return;
    f(first_pod_, first_n_);
    for (const auto& [pod, n] : more_) f(pod, n);
  }

 private:
  void Insert(int pod, std::uint32_t n) {
    auto it = std::lower_bound(more_.begin(), more_.end(), std::make_pair(pod, std::uint32_t{0}));
    if (it != more_.end() && it->first == pod) it->second += n;
    else more_.insert(it, {pod, n});
  }
  int first_pod_ = -1;
  std::uint32_t first_n_ = 0;
  std::vector<std::pair<int, std::uint32_t>> more_;
};

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
// Characters of Kubernetes' random suffixes and ReplicaSet hashes (rand.SafeEncodeString: no vowels, no 0/1/3).
bool IsSafeChar(char c) {
  static constexpr std::string_view kSafe = "bcdfghjklmnpqrstvwxz2456789";
  return kSafe.find(c) != std::string_view::npos;
}
bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool IsDigitChar(char c) { return c >= '0' && c <= '9'; }

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

class Builder {
 public:
  Builder(const model::ClusterState& cluster, const SnapshotOptions& options) : cluster_(cluster), opt_(options) {}

  base::Status Init(std::int64_t start, std::int64_t end, bool live) {
    if (opt_.interval_s <= 0) return base::InvalidArgument("the interval must be positive");
    if (end <= start) return base::InvalidArgument("the window is empty (end <= start)");
    s_.live = live;
    s_.start_unix_s = start;
    s_.end_unix_s = end;
    s_.interval_s = opt_.interval_s;
    grid_start_ = live ? start : FloorDiv(start, opt_.interval_s) * opt_.interval_s;
    s_.intervals = live ? 1 : static_cast<int>(FloorDiv(end - 1 - grid_start_, opt_.interval_s) + 1);
    s_.grid_start_unix_s = grid_start_;
    s_.cluster_source = cluster_.source;
    s_.namespaces = cluster_.namespaces;
    for (const auto& w : cluster_.warnings) s_.warnings.push_back(w);
    return {};
  }

  void AddNodes() {
    for (const model::Node& n : cluster_.nodes) {
      if (!n.HasGpus()) continue;
      model::SnapshotNode sn;
      sn.node = n;
      sn.replicas = std::max(1, n.gpu_replicas);
      if (opt_.pricer) {
        NodePriceQuote q = opt_.pricer(n, s_.end_unix_s - 1);
        sn.price_micro_per_gpu_hour = q.effective_micro_per_gpu_hour;
        sn.list_micro_per_gpu_hour = q.list_micro_per_gpu_hour;
        sn.price_rule = q.rule;
        sn.unpriced_reason = q.unpriced_reason;
        if (!opt_.price_changes.empty()) {
          sn.price_from.push_back({s_.start_unix_s, opt_.pricer(n, s_.start_unix_s).effective_micro_per_gpu_hour});
          for (std::int64_t t : opt_.price_changes) {
            if (t > s_.start_unix_s && t < s_.end_unix_s) sn.price_from.push_back({t, opt_.pricer(n, t).effective_micro_per_gpu_hour});
          }
        }
      } else {
        sn.unpriced_reason = "no price book";
      }
      if (sn.unpriced_reason.empty() && sn.price_micro_per_gpu_hour <= 0) sn.unpriced_reason = "price is zero";
      node_index_[n.name] = static_cast<int>(s_.nodes.size());
      s_.nodes.push_back(std::move(sn));
    }
  }

  void AddApiPods(const std::vector<Pod>& pods) {
    for (const Pod& p : pods) {
      const bool on_gpu_node = !p.node.empty() && node_index_.count(p.node) > 0;
      if (!p.RequestsGpu() && !on_gpu_node) continue;
      AddPod(p);
    }
  }

  int AddPod(Pod p) {
    auto key = std::make_pair(p.namespace_name, p.name);
    if (auto it = pod_index_.find(key); it != pod_index_.end()) return it->second;
    const int idx = static_cast<int>(s_.pods.size());
    pod_index_.emplace(std::move(key), idx);
    s_.pods.push_back(std::move(p));
    return idx;
  }

  // The pod a telemetry label names; a pod no source knows is added as gone (owner inferred from its name if it can).
  int PodForLabel(const prom::Attribution& a) {
    if (a.pod.empty()) return -1;
    auto it = pod_index_.find(std::make_pair(a.namespace_name, a.pod));
    if (it != pod_index_.end()) return it->second;
    Pod p;
    p.namespace_name = a.namespace_name;
    p.name = a.pod;
    p.uid = a.pod_uid;
    model::OwnerRef owner;
    if (InferOwnerFromName(a.pod, &owner)) {
      p.owners.push_back(owner);
      p.source = model::AttributionSource::kInferred;
    } else {
      p.source = model::AttributionSource::kPodGone;
    }
    ++telemetry_only_pods_;
    return AddPod(std::move(p));
  }

  // Entities -> devices (joined to nodes); returns entity index -> device index.
  std::vector<int> AddDevices(const std::vector<prom::GpuEntity>& entities) {
    std::vector<int> map(entities.size(), -1);
    std::map<std::string, int> by_key;
    for (std::size_t i = 0; i < entities.size(); ++i) {
      const prom::GpuEntity& e = entities[i];
      Device d;
      d.hostname = e.hostname;
      d.uuid = e.uuid;
      d.gpu_index = e.gpu_index;
      d.model_name = e.model_name;
      d.gi_id = e.gi_id;
      d.mig_profile = e.gi_profile;
      if (d.is_mig()) {
        d.compute_slices = prom::MigComputeSlices(e.gi_profile);
        d.total_slices = prom::MigTotalSlices(e.model_name);
        d.gpu_share = d.compute_slices > 0 ? static_cast<double>(d.compute_slices) / d.total_slices : 0;
      }
      JoinNode(e, &d);
      const std::string node_name = d.node >= 0 ? s_.nodes[static_cast<std::size_t>(d.node)].node.name : "?" + e.hostname;
      d.key = node_name + "/" + (e.uuid.empty() ? "gpu" + e.gpu_index : e.uuid);
      if (d.is_mig()) d.key += "/gi" + std::to_string(d.gi_id);
      // GPU UUIDs are unique: the same UUID under two hostname spellings (two scrape jobs) is one device, on the
      // node one of them names. Without a UUID, the node-qualified key decides.
      const std::string identity = e.uuid.empty() ? d.key : e.uuid + (d.is_mig() ? "/gi" + std::to_string(d.gi_id) : "");
      if (auto it = by_key.find(identity); it != by_key.end()) {
        Device& first = s_.devices[static_cast<std::size_t>(it->second)];
        if (first.node < 0 && d.node >= 0) {
          first.node = d.node;
          first.join = d.join;
          first.key = d.key;
          first.hostname = d.hostname;
        }
        map[i] = it->second;
        continue;
      }
      map[i] = static_cast<int>(s_.devices.size());
      by_key.emplace(identity, map[i]);
      s_.devices.push_back(std::move(d));
    }
    return map;
  }

  void JoinNode(const prom::GpuEntity& e, Device* d) {
    auto node_named = [&](const std::string& name) {
      auto it = node_index_.find(name);
      return it == node_index_.end() ? -1 : it->second;
    };
    if (e.hostname_label) {
      if (int n = node_named(e.hostname); n >= 0) {
        d->node = n;
        d->join = model::NodeJoin::kHostname;
        return;
      }
    }
    auto via = [&](const std::map<std::string, std::string>& m, const std::string& k) {
      if (k.empty()) return -1;
      auto it = m.find(k);
      return it == m.end() ? -1 : node_named(it->second);
    };
    int n = via(opt_.exporter_pod_node, e.exporter_pod);
    if (n < 0) n = via(opt_.target_node, e.target);
    // A node/kubernetes_node label is what Prometheus's service discovery attaches from the exporter pod's node.
    if (n < 0 && !e.hostname_label) n = node_named(e.hostname);
    if (n >= 0) {
      d->node = n;
      d->join = model::NodeJoin::kExporterPod;
      return;
    }
    d->node = -1;
    d->join = model::NodeJoin::kUnknown;
  }

  // GPUs a node has that no telemetry named: priced from the node, held by assumption.
  void AddUnseenDevices() {
    for (std::size_t n = 0; n < s_.nodes.size(); ++n) {
      std::set<std::string> seen;
      for (const Device& d : s_.devices) {
        if (d.node == static_cast<int>(n)) seen.insert(d.uuid.empty() ? d.gpu_index : d.uuid);
      }
      const model::Node& node = s_.nodes[n].node;
      int physical = node.gpu_count;
      for (const auto* resources : {&node.capacity, &node.allocatable}) {
        if (physical != 0) break;
        auto it = resources->find("nvidia.com/gpu");
        if (it != resources->end()) physical = static_cast<int>(it->second) / std::max(1, s_.nodes[n].replicas);
      }
      s_.nodes[n].gpus = std::max<int>(physical, static_cast<int>(seen.size()));
      if (physical > 0 && static_cast<int>(seen.size()) > physical) {
        s_.warnings.push_back("node " + node.name + " reports " + std::to_string(physical) + " GPUs, but its exporter shows " +
                              std::to_string(seen.size()) + ": all " + std::to_string(seen.size()) +
                              " are priced at the per-GPU rate");
      }
      for (int k = static_cast<int>(seen.size()); k < physical; ++k) {
        Device d;
        d.node = static_cast<int>(n);
        d.join = model::NodeJoin::kApiOnly;
        d.hostname = node.name;
        d.gpu_index = "unseen" + std::to_string(k - static_cast<int>(seen.size()));
        d.key = node.name + "/" + d.gpu_index;
        d.model_name = node.gpu_product;
        d.seen = false;
        if (node.gpu_memory_mib > 0) d.memory_bytes = node.gpu_memory_mib * base::kMiB;
        s_.devices.push_back(std::move(d));
      }
    }
  }

  // Sorts devices by node, GPU index, GI id, and returns old index -> new index.
  std::vector<int> SortDevices() {
    std::vector<int> order(s_.devices.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    auto idx = [](const std::string& s) {
      int v = 0;
      for (char c : s) {
        if (!IsDigitChar(c)) return 1 << 20;
        v = v * 10 + (c - '0');
      }
      return v;
    };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      const Device& x = s_.devices[static_cast<std::size_t>(a)];
      const Device& y = s_.devices[static_cast<std::size_t>(b)];
      const int xn = x.node < 0 ? 1 << 30 : x.node, yn = y.node < 0 ? 1 << 30 : y.node;
      return std::make_tuple(xn, x.hostname, idx(x.gpu_index), x.gpu_index, x.uuid, x.gi_id) <
             std::make_tuple(yn, y.hostname, idx(y.gpu_index), y.gpu_index, y.uuid, y.gi_id);
    });
    std::vector<Device> sorted;
    std::vector<int> remap(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      remap[static_cast<std::size_t>(order[i])] = static_cast<int>(i);
      sorted.push_back(std::move(s_.devices[static_cast<std::size_t>(order[i])]));
    }
    s_.devices = std::move(sorted);
    return remap;
  }

  void BuildMigParents() {
    std::map<std::pair<int, std::string>, int> parent;
    for (std::size_t i = 0; i < s_.devices.size(); ++i) {
      const Device& d = s_.devices[i];
      if (!d.is_mig()) continue;
      auto key = std::make_pair(d.node, d.uuid);
      auto it = parent.find(key);
      if (it == parent.end()) {
        it = parent.emplace(key, static_cast<int>(s_.mig_parents.size())).first;
        model::MigParent p;
        p.node = d.node;
        p.uuid = d.uuid;
        p.total_slices = d.total_slices;
        s_.mig_parents.push_back(p);
      }
      s_.mig_parents[static_cast<std::size_t>(it->second)].instances.push_back(static_cast<int>(i));
    }
    for (const Device& d : s_.devices) {
      if (d.is_mig() && d.compute_slices <= 0) {
        s_.warnings.push_back("MIG instance " + d.key + " has an unknown profile '" + d.mig_profile +
                              "': its compute slices are not known, so its holder is not charged (its share of the GPU "
                              "counts as unallocated)");
      }
    }
    for (const model::MigParent& p : s_.mig_parents) {
      int slices = 0;
      for (int i : p.instances) slices += s_.devices[static_cast<std::size_t>(i)].compute_slices;
      if (slices > p.total_slices) {
        s_.warnings.push_back("MIG GPU " + p.uuid + " reports instances of " + std::to_string(slices) + " compute slices, more than " +
                              std::to_string(p.total_slices) + ": instance shares scaled down");
      }
    }
  }

  int IntervalOf(std::int64_t t_ms) const {
    if (s_.live) return 0;
    const std::int64_t t = FloorDiv(t_ms, 1000);
    if (t < s_.start_unix_s || t >= s_.end_unix_s) return -1;
    return static_cast<int>(FloorDiv(t - grid_start_, s_.interval_s));
  }

  // Folds series into per device-interval means (s_.usage) and label counts (labelled_), one device at a time so
  // that only one device's sums are held (a week of 10,000 GPUs at 1 h: 1.75 million device-intervals). Within a
  // device the series are folded in their order, so the sums do not depend on the grouping. `entity_device` maps
  // entity -> (pre-sort) device.
  void Accumulate(const std::vector<SignalSeries>& series, const std::vector<prom::GpuEntity>& entities,
                  const std::vector<int>& entity_device, const std::vector<int>& remap) {
    labelled_.assign(s_.devices.size() * static_cast<std::size_t>(s_.intervals), LabelCounts{});
    // The reference signal for counting samples and labels: the first of these each device has.
    std::vector<int> ref(s_.devices.size(), static_cast<int>(kKept.size()));
    std::vector<std::vector<std::size_t>> of_device(s_.devices.size());
    for (std::size_t si = 0; si < series.size(); ++si) {
      const SignalSeries& ss = series[si];
      const int k = KeptIndex(ss.signal);
      if (k < 0 || ss.entity >= entity_device.size()) continue;
      const auto dev = static_cast<std::size_t>(remap[static_cast<std::size_t>(entity_device[ss.entity])]);
      ref[dev] = std::min(ref[dev], RefRank(ss.signal));
      of_device[dev].push_back(si);
    }
    ref_rank_ = ref;
    s_.usage.reserve(s_.usage.size() + labelled_.size());
    std::vector<Acc> acc;
    for (std::size_t dev = 0; dev < s_.devices.size(); ++dev) {
      acc.assign(static_cast<std::size_t>(s_.intervals), Acc{});
      for (const std::size_t si : of_device[dev]) {
        const SignalSeries& ss = series[si];
        const int k = KeptIndex(ss.signal);
        const bool is_ref = RefRank(ss.signal) == ref[dev];
        int pod = -1;
        if (ss.attribution >= 0) {
          const auto& pods = entities[ss.entity].pods;
          if (static_cast<std::size_t>(ss.attribution) < pods.size()) pod = PodForLabel(pods[static_cast<std::size_t>(ss.attribution)]);
        }
        const bool weighted = !ss.weights.empty();
        for (std::size_t j = 0; j < ss.values.size(); ++j) {
          const int iv = IntervalOf(ss.timestamps_ms[j]);
          if (iv < 0) continue;
          const std::size_t at = dev * static_cast<std::size_t>(s_.intervals) + static_cast<std::size_t>(iv);
          Acc& a = acc[static_cast<std::size_t>(iv)];
          const double v = ss.values[j];
          const std::uint32_t w0 = weighted && j < ss.weights.size() ? ss.weights[j] : 1;
          if (std::isnan(v)) {
            // A blank value is no measurement, but the exporter still said who holds the device.
            if (is_ref) {
              a.blanks += w0;
              if (pod >= 0) labelled_[at].Add(pod, w0);
            }
            continue;
          }
          // An aggregated value is the mean of `w` samples: it counts as w samples of that mean.
          const std::uint32_t w = weighted && j < ss.weights.size() ? ss.weights[j] : 1;
          a.sum[static_cast<std::size_t>(k)] += v * w;
          a.n[static_cast<std::size_t>(k)] += w;
          if (is_ref && pod >= 0) labelled_[at].Add(pod, w);
        }
      }
      FinishDevice(dev, acc);
    }
  }

  // Rank of a signal as the sample counter: the compute signals first, then framebuffer.
  static int RefRank(Signal s) {
    switch (s) {
      case Signal::kSmActive: return 0;
      case Signal::kGrEngineActive: return 1;
      case Signal::kGpuUtil: return 2;
      case Signal::kFbUsed: return 3;
      case Signal::kPower: return 4;
      default: return static_cast<int>(kKept.size());
    }
  }

  // Device d's intervals into s_.usage (appended, so devices must come in order), from its sums per interval.
  void FinishDevice(std::size_t d, const std::vector<Acc>& acc) {
    Device& dev = s_.devices[d];
    // The compute signal: SM_ACTIVE, else GR_ENGINE_ACTIVE, else GPU_UTIL on whole GPUs.
    int compute_k = -1;
    for (int k : {0, 1, 2}) {
      if (k == 2 && dev.is_mig()) continue;
      for (int i = 0; i < s_.intervals && compute_k < 0; ++i) {
        if (acc[static_cast<std::size_t>(i)].n[static_cast<std::size_t>(k)] > 0) compute_k = k;
      }
      if (compute_k >= 0) break;
    }
    if (compute_k >= 0) dev.compute_source = std::string(prom::SignalName(kKept[static_cast<std::size_t>(compute_k)]));
    double mem_sum = 0;
    std::uint32_t mem_n = 0;
    for (int i = 0; i < s_.intervals; ++i) {
      const Acc& a = acc[static_cast<std::size_t>(i)];
      DeviceInterval di;
      di.device = static_cast<int>(d);
      di.interval = i;
      auto mean = [&](int k) {
        const auto kk = static_cast<std::size_t>(k);
        return a.n[kk] > 0 ? a.sum[kk] / a.n[kk] : NAN;
      };
      std::uint32_t samples = 0;
      for (std::size_t k = 0; k < kKept.size(); ++k) samples = std::max(samples, a.n[k]);
      std::uint32_t ref_samples = a.blanks;
      for (std::size_t k = 0; k < kKept.size(); ++k) {
        if (RefRank(kKept[k]) == ref_rank_[d]) ref_samples += a.n[k];
      }
      di.samples = std::max(samples, ref_samples);
      if (compute_k >= 0) di.compute = mean(compute_k);
      di.fb_used_bytes = mean(3);
      di.dram = mean(5);
      di.tensor = mean(6);
      di.power_watts = mean(7);
      const double free = mean(4), total = mean(8);
      if (!std::isnan(di.fb_used_bytes) && !std::isnan(free)) {
        mem_sum += (di.fb_used_bytes + free) * a.n[3];
        mem_n += a.n[3];
      } else if (!std::isnan(total)) {
        mem_sum += total * a.n[8];
        mem_n += a.n[8];
      }
      s_.usage.push_back(std::move(di));
    }
    if (mem_n > 0) dev.memory_bytes = mem_sum / mem_n;
    if (std::isnan(dev.memory_bytes) && !dev.is_mig() && dev.node >= 0) {
      const double mib = s_.nodes[static_cast<std::size_t>(dev.node)].node.gpu_memory_mib;
      if (mib > 0) dev.memory_bytes = mib * base::kMiB;
    }
  }

  // Labels: from Accumulate until AssignHolds, which releases them.
  const LabelCounts& Labelled(std::size_t device, int interval) const {
    static const LabelCounts kEmpty;
    const std::size_t i = device * static_cast<std::size_t>(s_.intervals) + static_cast<std::size_t>(interval);
    return i < labelled_.size() ? labelled_[i] : kEmpty;
  }

  // Fraction of interval i during which pod p was alive (live: 1 if alive at the snapshot time).
  double AliveFraction(const Pod& p, int i) const {
    std::int64_t from = p.start_unix_s > 0 ? p.start_unix_s : p.created_unix_s;
    std::int64_t to = p.end_unix_s > 0 ? p.end_unix_s : INT64_MAX;
    if (p.phase == "Succeeded" || p.phase == "Failed") {
      if (p.end_unix_s <= 0) return 0;  // finished at an unknown time: holds nothing
    }
    if (s_.live) return (from <= s_.start_unix_s && s_.start_unix_s < to) ? 1.0 : 0.0;
    const std::int64_t a = std::max(s_.IntervalStart(i), s_.start_unix_s);
    const std::int64_t b = std::min(s_.IntervalStart(i) + s_.interval_s, s_.end_unix_s);
    if (b <= a) return 0;
    const std::int64_t lo = std::max(a, from), hi = std::min(b, to);
    return hi > lo ? static_cast<double>(hi - lo) / static_cast<double>(b - a) : 0.0;
  }

  // Per node and interval: every pod's holds.
  void AssignHolds() {
    // Devices per node, and GPU pods per node.
    std::vector<std::vector<int>> node_devices(s_.nodes.size());
    for (std::size_t d = 0; d < s_.devices.size(); ++d) {
      if (s_.devices[d].node >= 0) node_devices[static_cast<std::size_t>(s_.devices[d].node)].push_back(static_cast<int>(d));
    }
    std::vector<std::vector<int>> node_pods(s_.nodes.size());
    for (std::size_t p = 0; p < s_.pods.size(); ++p) {
      const Pod& pod = s_.pods[p];
      auto it = node_index_.find(pod.node);
      if (it != node_index_.end() && pod.RequestsGpu()) node_pods[static_cast<std::size_t>(it->second)].push_back(static_cast<int>(p));
      if (it == node_index_.end() && !pod.node.empty() && pod.RequestsGpu() && pod.source == model::AttributionSource::kApi &&
          AliveFraction(pod, 0) + AliveFraction(pod, s_.intervals - 1) > 0) {
        off_node_.insert("pod " + pod.namespace_name + "/" + pod.name + " requests GPUs on node " + pod.node +
                         ", which is not a known GPU node: what it holds there is attributed only where an exporter labels it");
      }
    }
    // Labels on devices of unknown nodes still attribute (the pod is named), but nothing is assumed there.
    for (std::size_t d = 0; d < s_.devices.size(); ++d) {
      if (s_.devices[d].node >= 0) continue;
      for (int i = 0; i < s_.intervals; ++i) AddLabelHolds(d, i, 1);
    }
    for (std::size_t n = 0; n < s_.nodes.size(); ++n) {
      for (int i = 0; i < s_.intervals; ++i) AssignNodeInterval(n, i, node_devices[n], node_pods[n]);
    }
    labelled_ = std::vector<LabelCounts>();  // the labels are holds now
  }

  DeviceInterval& Usage(std::size_t device, int interval) {
    return s_.usage[device * static_cast<std::size_t>(s_.intervals) + static_cast<std::size_t>(interval)];
  }

  // The holds the exporter's labels give a device (exclusive: share 1).
  void AddLabelHolds(std::size_t d, int i, double share) {
    DeviceInterval& u = Usage(d, i);
    if (u.samples == 0) return;
    Labelled(d, i).ForEach([&](int pod, std::uint32_t count) {
      DeviceHold h;
      h.pod = pod;
      h.share = share;
      h.fraction = std::min(1.0, static_cast<double>(count) / u.samples);
      h.how = share < 1 ? HoldHow::kLabelShared : HoldHow::kLabel;
      u.holds.push_back(h);
    });
  }

  // What a pod's request asks of one device on this node: kind and per-device share.
  struct Ask {
    enum Kind { kWhole, kMig, kShare } kind = kWhole;
    int count = 0;               // devices (whole/share) or instances
    std::string profile;         // MIG
    double share = 1;            // per device
  };
  std::vector<Ask> AsksOf(const Pod& p, const model::SnapshotNode& node) const {
    std::vector<Ask> asks;
    const model::GpuRequest g = p.GpuTotal();
    for (const auto& [profile, n] : g.mig) asks.push_back({Ask::kMig, n, profile, 1});
    if (const std::optional<model::FractionAsk> f = model::FractionOf(g, node.node.gpu_memory_mib)) {
      asks.push_back({Ask::kShare, f->devices, "", f->share});
    } else {
      const int shared = g.shared + (node.replicas > 1 ? g.gpus : 0);
      if (shared > 0) asks.push_back({Ask::kShare, shared, "", 1.0 / node.replicas});
      if (node.replicas <= 1 && g.gpus > 0) asks.push_back({Ask::kWhole, g.gpus, "", 1});
    }
    return asks;
  }

  void AssignNodeInterval(std::size_t n, int i, const std::vector<int>& devices, const std::vector<int>& pods) {
    const model::SnapshotNode& node = s_.nodes[n];
    // Pass 1: which pods the exporter labelled on which devices this interval.
    std::map<int, std::vector<int>> labelled_on;  // pod -> devices
    for (int d : devices) {
      Labelled(static_cast<std::size_t>(d), i).ForEach([&](int pod, std::uint32_t) { labelled_on[pod].push_back(d); });
    }
    std::vector<double> load(s_.devices.size(), 0.0);  // sum of hold weights per device (this node's only)
    std::vector<char> taken(s_.devices.size(), 0);     // held exclusively this interval
    auto push = [&](int d, const DeviceHold& h) {
      Usage(static_cast<std::size_t>(d), i).holds.push_back(h);
      load[static_cast<std::size_t>(d)] += h.weight();
    };
    std::set<int> handled;
    // Pass 2: what the exporter's labels say, for every pod, before anything is assumed; then pass 3: the rest of
    // each request, placed as the device plugin would.
    std::map<std::pair<int, std::size_t>, int> remaining;  // (pod, ask index) -> devices still to place
    for (int p : pods) {
      const double alive = AliveFraction(s_.pods[static_cast<std::size_t>(p)], i);
      const auto lab = labelled_on.find(p);
      if (alive <= 0 && lab == labelled_on.end()) continue;
      handled.insert(p);
      const std::vector<Ask> asks = AsksOf(s_.pods[static_cast<std::size_t>(p)], node);
      for (std::size_t k = 0; k < asks.size(); ++k) {
        const Ask& ask = asks[k];
        int left = ask.count;
        if (lab != labelled_on.end()) {
          for (int d : lab->second) {
            if (left == 0) break;
            const Device& dev = s_.devices[static_cast<std::size_t>(d)];
            if (!KindFits(dev, ask)) continue;
            const double labelled_fraction = LabelledFraction(static_cast<std::size_t>(d), i, p);
            // Exclusive devices can change hands within an interval (a rollout): each pod the exporter labelled holds
            // the share of samples that name it, as long as the labelled shares fit the device.
            if (ask.kind != Ask::kShare && load[static_cast<std::size_t>(d)] + labelled_fraction > 1.0 + 1e-9) continue;
            DeviceHold h;
            h.pod = p;
            h.share = ask.share;
            h.fraction = ask.kind == Ask::kShare ? std::max(alive, labelled_fraction) : labelled_fraction;
            h.how = ask.kind == Ask::kShare ? HoldHow::kLabelShared : HoldHow::kLabel;
            push(d, h);
            if (ask.kind != Ask::kShare) taken[static_cast<std::size_t>(d)] = 1;
            --left;
          }
        }
        if (alive > 0 && left > 0) remaining[{p, k}] = left;
      }
    }
    for (const auto& [key, count] : remaining) {
      const int p = key.first;
      const double alive = AliveFraction(s_.pods[static_cast<std::size_t>(p)], i);
      const Ask ask = AsksOf(s_.pods[static_cast<std::size_t>(p)], node)[key.second];
      for (int left = count; left > 0; --left) {
        int best = -1;
        for (int d : devices) {
          const Device& dev = s_.devices[static_cast<std::size_t>(d)];
          if (!KindFits(dev, ask) || taken[static_cast<std::size_t>(d)]) continue;
          if (ask.kind != Ask::kShare) {
            if (load[static_cast<std::size_t>(d)] > 0 || !Labelled(static_cast<std::size_t>(d), i).empty()) continue;
            best = d;
            break;
          }
          if (load[static_cast<std::size_t>(d)] + ask.share * alive > 1.0 + 1e-9) continue;
          if (best < 0 || load[static_cast<std::size_t>(d)] < load[static_cast<std::size_t>(best)] - 1e-12) best = d;
        }
        if (best < 0) {
          unplaced_.insert(s_.pods[static_cast<std::size_t>(p)].namespace_name + "/" + s_.pods[static_cast<std::size_t>(p)].name);
          break;
        }
        DeviceHold h;
        h.pod = p;
        h.share = ask.share;
        h.fraction = alive;
        h.how = HoldHow::kAssumed;
        push(best, h);
        if (ask.kind != Ask::kShare) taken[static_cast<std::size_t>(best)] = 1;
      }
    }
    // Pass 4: labelled pods no request explains (pods known only from telemetry): the label is the hold.
    for (const auto& [pod, devs] : labelled_on) {
      if (handled.count(pod)) continue;
      for (int d : devs) {
        DeviceHold h;
        h.pod = pod;
        h.share = node.replicas > 1 ? 1.0 / node.replicas : 1.0;
        h.fraction = LabelledFraction(static_cast<std::size_t>(d), i, pod);
        h.how = h.share < 1 ? HoldHow::kLabelShared : HoldHow::kLabel;
        push(d, h);
      }
    }
  }

  // Share of the interval's samples of device d that name pod p.
  double LabelledFraction(std::size_t d, int i, int p) {
    const std::uint32_t count = Labelled(d, i).Find(p);
    if (count == 0) return 0;
    return std::min(1.0, static_cast<double>(count) / std::max<std::uint32_t>(1, Usage(d, i).samples));
  }

  void MarkReservations() {
    for (DeviceInterval& u : s_.usage) {
      for (const DeviceHold& h : u.holds) {
        if (s_.pods[static_cast<std::size_t>(h.pod)].engine.ReservesMemory()) u.fb_reserved = true;
      }
    }
  }

  static bool KindFits(const Device& d, const Ask& ask) {
    switch (ask.kind) {
      case Ask::kMig: return d.is_mig() && d.mig_profile == ask.profile;
      case Ask::kWhole:
      case Ask::kShare: return !d.is_mig();
    }
    return false;
  }

  void BuildWorkloads() {
    std::map<model::WorkloadKey, int> index;
    s_.pod_workload.assign(s_.pods.size(), -1);
    for (std::size_t p = 0; p < s_.pods.size(); ++p) {
      const Pod& pod = s_.pods[p];
      model::WorkloadKey key = model::WorkloadOf(pod);
      if (pod.source == model::AttributionSource::kPodGone) key = {pod.namespace_name, "Pod", pod.name};
      auto it = index.find(key);
      if (it == index.end()) {
        it = index.emplace(key, static_cast<int>(s_.workloads.size())).first;
        model::Workload w;
        w.key = key;
        w.api_version = pod.Top().api_version;
        const model::Namespace* ns = cluster_.FindNamespace(pod.namespace_name);
        const model::WorkloadPolicy policy = model::ResolvePolicy(pod, ns, opt_.team);
        w.team = policy.team.team;
        w.team_rule = policy.team.source;
        for (const model::AnnotationWarning& warning : policy.warnings) policy_warnings_.insert(warning.str());
        w.source = pod.source;
        s_.workloads.push_back(std::move(w));
      }
      model::Workload& w = s_.workloads[static_cast<std::size_t>(it->second)];
      w.pods.push_back(static_cast<int>(p));
      if (opt_.serving != nullptr) {
        auto sv = opt_.serving->find({pod.namespace_name, pod.name});
        if (sv != opt_.serving->end()) AccumulateServing(sv->second, &w.serving);
      }
      if (opt_.serving_totals != nullptr) {
        auto sv = opt_.serving_totals->find({pod.namespace_name, pod.name});
        if (sv != opt_.serving_totals->end()) MergeServing(sv->second, &w.serving);
      }
      if (static_cast<int>(pod.source) > static_cast<int>(w.source)) w.source = pod.source;
      s_.pod_workload[p] = it->second;
    }
  }

  // A vLLM workload's framebuffer is its reservation; its demand is the reservation less the KV cache it does not use:
  // demand = max fb_used - (1 - KV use max) x KV capacity (tokens) x KV bytes per token on one GPU (the model's
  // architecture, model/llm_catalog.h). Worked number: 72 GiB reserved, 400k tokens of Llama-3-8B at 128 KiB, 10% used:
  // 72 - 0.9 x 48.8 = 28.1 GiB. Unknown (NaN) when the model, the KV capacity or its use is unknown, or when its
  // devices are shared (the reservation is then not one pod's).
  void EstimateServingDemand() {
    std::vector<double> reserved(s_.workloads.size(), NAN);
    std::vector<bool> shared(s_.workloads.size(), false);
    for (const DeviceInterval& u : s_.usage) {
      if (!u.fb_reserved || u.holds.empty() || !std::isfinite(u.fb_used_bytes)) continue;
      for (const DeviceHold& h : u.holds) {
        const int w = s_.pod_workload[static_cast<std::size_t>(h.pod)];
        if (w < 0) continue;
        if (u.holds.size() != 1) shared[static_cast<std::size_t>(w)] = true;
        double& r = reserved[static_cast<std::size_t>(w)];
        r = std::isnan(r) ? u.fb_used_bytes : std::max(r, u.fb_used_bytes);
      }
    }
    for (std::size_t w = 0; w < s_.workloads.size(); ++w) {
      model::Workload& wl = s_.workloads[w];
      if (std::isnan(reserved[w]) || shared[w] || wl.pods.empty()) continue;
      const Pod& pod = s_.pods[static_cast<std::size_t>(wl.pods.front())];
      if (pod.engine.name != "vllm") continue;
      model::ServingUsage& sv = wl.serving;
      const double used = std::isfinite(sv.kv_max) ? sv.kv_max : sv.kv_usage.max();
      const model::LlmArchitecture* arch = model::FindLlmArchitecture(pod.engine.model);
      if (arch == nullptr || !std::isfinite(used) || !(sv.kv_capacity_tokens > 0)) continue;
      auto dtype = pod.engine.flags.find("kv-cache-dtype");
      const int dtype_bytes = dtype != pod.engine.flags.end() && dtype->second.starts_with("fp8") ? 1 : 2;
      // kv_capacity_tokens is per replica (the largest of the workload's pods); KvBytesPerToken is per GPU.
      const double unused = (1 - std::clamp(used, 0.0, 1.0)) * sv.kv_capacity_tokens *
                            arch->KvBytesPerToken(dtype_bytes, pod.engine.tensor_parallel);
      sv.demand_bytes_per_gpu = std::max(0.0, reserved[w] - unused);
    }
  }

  void FinalWarnings() {
    int unknown = 0;
    for (const Device& d : s_.devices) unknown += d.node < 0 ? 1 : 0;
    if (unknown > 0) {
      s_.warnings.push_back(std::to_string(unknown) + " GPU device(s) on unknown nodes (no node named by their Hostname label or "
                            "exporter): counted, not priced");
    }
    if (telemetry_only_pods_ > 0) {
      s_.warnings.push_back(std::to_string(telemetry_only_pods_) + " pod(s) named by telemetry are not in the Kubernetes API: "
                            "attributed from their names where possible, else as \"pod gone\"");
    }
    for (const std::string& w : policy_warnings_) s_.warnings.push_back(w);
    for (const std::string& w : off_node_) s_.warnings.push_back(w);
    for (const std::string& p : unplaced_) {
      s_.warnings.push_back("pod " + p + " requests more GPU than its node has free devices for: part of its request is not attributed");
    }
    for (std::size_t n = 0; n < s_.nodes.size(); ++n) {
      const auto& sn = s_.nodes[n];
      if (!sn.unpriced_reason.empty()) s_.warnings.push_back("node " + sn.node.name + " is not priced: " + sn.unpriced_reason);
    }
    for (const DeviceInterval& u : s_.usage) {
      double w = 0;
      for (const DeviceHold& h : u.holds) w += h.weight();
      if (w > 1.0 + 1e-6) {
        oversubscribed_.insert(s_.devices[static_cast<std::size_t>(u.device)].key);
      }
    }
    for (const std::string& k : oversubscribed_) {
      s_.warnings.push_back("device " + k + " is held more than once over (shares sum above 1): cost split in proportion");
    }
  }

  // Devices of the window statistics' entities (matched by host/UUID/GI key to the telemetry's entities).
  std::vector<int> StatsDevices(const SeriesWindowStats& stats, const std::vector<prom::GpuEntity>& entities,
                                const std::vector<int>& entity_device, const std::vector<int>& remap) const {
    std::map<std::string, int> by_key;
    for (std::size_t e = 0; e < entities.size() && e < entity_device.size(); ++e) {
      by_key[entities[e].Key()] = remap[static_cast<std::size_t>(entity_device[e])];
    }
    std::vector<int> out(stats.entities.size(), -1);
    for (std::size_t e = 0; e < stats.entities.size(); ++e) {
      auto it = by_key.find(stats.entities[e].Key());
      if (it != by_key.end()) out[e] = it->second;
    }
    return out;
  }

  // The framebuffer of devices no interval measured, from the window means (aggregated reads skip FB_FREE hourly).
  void MemoryFromStats(const SeriesWindowStats& stats, const std::vector<int>& device_of) {
    std::map<int, std::pair<double, double>> used_free;
    for (const SeriesStat& st : stats.series) {
      const int d = device_of[st.entity];
      if (d < 0 || std::isnan(st.mean)) continue;
      if (st.signal == Signal::kFbUsed) used_free[d].first = st.mean;
      if (st.signal == Signal::kFbFree) used_free[d].second = st.mean;
    }
    for (const auto& [d, uf] : used_free) {
      Device& dev = s_.devices[static_cast<std::size_t>(d)];
      if (uf.first + uf.second > 0) dev.memory_bytes = uf.first + uf.second;
    }
  }

  // Per-series window statistics into each workload's WindowProfile: largest quantile over its series.
  void FoldSeriesStats(const SeriesWindowStats& stats, const std::vector<int>& device_of) {
    std::vector<int> targets;
    for (const SeriesStat& st : stats.series) {
      const int d = device_of[st.entity];
      if (d < 0) continue;
      const Device& dev = s_.devices[static_cast<std::size_t>(d)];
      model::UsageSignal sig;
      double scale = 1;
      switch (st.signal) {
        case Signal::kSmActive:
        case Signal::kGrEngineActive:
        case Signal::kGpuUtil:
          if (prom::SignalName(st.signal) != dev.compute_source) continue;
          sig = model::UsageSignal::kCompute;
          break;
        case Signal::kFbUsed:
          if (!(dev.memory_bytes > 0)) continue;
          sig = model::UsageSignal::kFbShare;
          scale = 1.0 / dev.memory_bytes;
          break;
        case Signal::kDramActive: sig = model::UsageSignal::kDram; break;
        case Signal::kTensorActive: sig = model::UsageSignal::kTensor; break;
        case Signal::kPower: sig = model::UsageSignal::kPower; break;
        case Signal::kPcieTx: sig = model::UsageSignal::kPcieTx; break;
        case Signal::kPcieRx: sig = model::UsageSignal::kPcieRx; break;
        default: continue;
      }
      targets.clear();
      int labelled = -1;
      if (st.attribution >= 0 && static_cast<std::size_t>(st.attribution) < stats.entities[st.entity].pods.size()) {
        const prom::Attribution& a = stats.entities[st.entity].pods[static_cast<std::size_t>(st.attribution)];
        auto it = pod_index_.find(std::make_pair(a.namespace_name, a.pod));
        if (it != pod_index_.end()) labelled = s_.pod_workload[static_cast<std::size_t>(it->second)];
      }
      bool shared = false;
      for (int i = 0; i < s_.intervals; ++i) {
        for (const DeviceHold& h : Usage(static_cast<std::size_t>(d), i).holds) {
          shared = shared || h.share < 1;
          const int w = s_.pod_workload[static_cast<std::size_t>(h.pod)];
          if (std::find(targets.begin(), targets.end(), w) == targets.end()) targets.push_back(w);
        }
      }
      if (labelled >= 0 && !shared) targets = {labelled};
      for (int w : targets) {
        model::Workload& wl = s_.workloads[static_cast<std::size_t>(w)];
        wl.window.set = true;
        wl.window.idle_level = opt_.idle_level;
        model::WindowStat& ws = wl.window.stats[static_cast<std::size_t>(sig)];
        auto up = [scale](double* slot, double v) {
          if (std::isnan(v)) return;
          v *= scale;
          *slot = std::isnan(*slot) ? v : std::max(*slot, v);
        };
        ws.count += st.count;
        ++ws.series;
        if (st.quantiles.size() >= 4) {
          up(&ws.p50, st.quantiles[0]);
          up(&ws.p_idle, st.quantiles[1]);
          up(&ws.p95, st.quantiles[2]);
          up(&ws.p99, st.quantiles[3]);
        }
        up(&ws.max, st.max);
        if (sig == model::UsageSignal::kCompute && wl.compute_source.find(dev.compute_source) == std::string::npos) {
          wl.compute_source += (wl.compute_source.empty() ? "" : ",") + dev.compute_source;
        }
      }
    }
  }

  // Every sample of a device goes to the workload its series names, else to the workloads holding the device then.
  void SketchWorkloads(const std::vector<SignalSeries>& series, const std::vector<prom::GpuEntity>& entities,
                       const std::vector<int>& entity_device, const std::vector<int>& remap) {
    std::vector<int> targets;
    // A shared device's value is the device's, repeated on the series of each sharer it labels (virtual-GPU mode):
    // it is taken once, from the first series of each (device, signal), and given to every holder.
    std::map<std::pair<std::size_t, Signal>, int> first_attribution;
    for (const SignalSeries& ss : series) {
      if (ss.entity >= entity_device.size() || !ss.weights.empty()) continue;  // means are not samples
      const auto dev = static_cast<std::size_t>(remap[static_cast<std::size_t>(entity_device[ss.entity])]);
      const Device& d = s_.devices[dev];
      model::UsageSignal sig;
      double scale = 1;
      switch (ss.signal) {
        case Signal::kSmActive:
        case Signal::kGrEngineActive:
        case Signal::kGpuUtil:
          if (prom::SignalName(ss.signal) != d.compute_source) continue;
          sig = model::UsageSignal::kCompute;
          break;
        case Signal::kFbUsed:
          if (!(d.memory_bytes > 0)) continue;
          sig = model::UsageSignal::kFbShare;
          scale = 1.0 / d.memory_bytes;
          break;
        case Signal::kDramActive: sig = model::UsageSignal::kDram; break;
        case Signal::kTensorActive: sig = model::UsageSignal::kTensor; break;
        case Signal::kPower: sig = model::UsageSignal::kPower; break;
        case Signal::kPcieTx: sig = model::UsageSignal::kPcieTx; break;
        case Signal::kPcieRx: sig = model::UsageSignal::kPcieRx; break;
        default: continue;
      }
      int labelled = -1;
      if (ss.attribution >= 0 && static_cast<std::size_t>(ss.attribution) < entities[ss.entity].pods.size()) {
        const prom::Attribution& a = entities[ss.entity].pods[static_cast<std::size_t>(ss.attribution)];
        auto it = pod_index_.find(std::make_pair(a.namespace_name, a.pod));
        if (it != pod_index_.end()) labelled = s_.pod_workload[static_cast<std::size_t>(it->second)];
      }
      const int first = first_attribution.emplace(std::make_pair(dev, ss.signal), ss.attribution).first->second;
      const bool shared_device = std::any_of(s_.usage.begin() + static_cast<std::ptrdiff_t>(dev * static_cast<std::size_t>(s_.intervals)),
                                             s_.usage.begin() + static_cast<std::ptrdiff_t>((dev + 1) * static_cast<std::size_t>(s_.intervals)),
                                             [](const DeviceInterval& u) {
                                               return std::any_of(u.holds.begin(), u.holds.end(), [](const DeviceHold& h) { return h.share < 1; });
                                             });
      if (shared_device && ss.attribution != first) continue;
      int last_interval = -2;
      for (std::size_t j = 0; j < ss.values.size(); ++j) {
        const double v = ss.values[j];
        if (std::isnan(v)) continue;
        const int iv = IntervalOf(ss.timestamps_ms[j]);
        if (iv < 0) continue;
        if (iv != last_interval) {
          last_interval = iv;
          targets.clear();
          // On a shared device the label names one sharer only: every holder gets the device's samples.
          const auto& holds = Usage(dev, iv).holds;
          const bool shared = std::any_of(holds.begin(), holds.end(), [](const DeviceHold& h) { return h.share < 1; });
          if (labelled >= 0 && !shared) {
            targets.push_back(labelled);
          } else {
            std::set<int> unique;
            for (const DeviceHold& h : holds) {
              if (unique.insert(s_.pod_workload[static_cast<std::size_t>(h.pod)]).second) {
                targets.push_back(s_.pod_workload[static_cast<std::size_t>(h.pod)]);
              }
            }
          }
        }
        for (int w : targets) {
          model::Workload& wl = s_.workloads[static_cast<std::size_t>(w)];
          wl.usage[static_cast<std::size_t>(sig)].Insert(v * scale);
          if (opt_.interval_sketches) wl.interval_usage[iv][static_cast<std::size_t>(sig)].Insert(v * scale);
          if (sig == model::UsageSignal::kCompute && wl.compute_source.find(d.compute_source) == std::string::npos) {
            wl.compute_source += (wl.compute_source.empty() ? "" : ",") + d.compute_source;
          }
        }
      }
    }
  }

  model::Snapshot Take() { return std::move(s_); }

  model::Snapshot s_;

 private:
  const model::ClusterState& cluster_;
  const SnapshotOptions& opt_;
  std::int64_t grid_start_ = 0;
  std::map<std::string, int> node_index_;
  std::map<std::pair<std::string, std::string>, int> pod_index_;
  std::vector<LabelCounts> labelled_;    // the same indexing
  std::vector<int> ref_rank_;  // per device: RefRank of its reference signal
  int telemetry_only_pods_ = 0;
  std::set<std::string> unplaced_, oversubscribed_, policy_warnings_, off_node_;
};

base::Result<model::Snapshot> Build(const model::ClusterState& cluster, const std::vector<model::Pod>& past_pods,
                                    const RangeTelemetry& range, std::int64_t start, std::int64_t end, bool live,
                                    std::string telemetry_source, const SnapshotOptions& options) {
  Builder b(cluster, options);
  RETURN_IF_ERROR(b.Init(start, end, live));
  b.s_.telemetry_source = std::move(telemetry_source);
  b.AddNodes();
  b.AddApiPods(cluster.pods);
  b.AddApiPods(past_pods);
  std::vector<int> entity_device = b.AddDevices(range.entities);
  b.AddUnseenDevices();
  std::vector<int> remap = b.SortDevices();
  b.BuildMigParents();
  b.Accumulate(range.series, range.entities, entity_device, remap);
  std::vector<int> stats_device;
  if (options.series_stats != nullptr) {
    stats_device = b.StatsDevices(*options.series_stats, range.entities, entity_device, remap);
    b.MemoryFromStats(*options.series_stats, stats_device);
  }
  b.AssignHolds();
  b.MarkReservations();
  b.BuildWorkloads();
  b.EstimateServingDemand();
  b.SketchWorkloads(range.series, range.entities, entity_device, remap);
  if (options.series_stats != nullptr) b.FoldSeriesStats(*options.series_stats, stats_device);
  b.FinalWarnings();
  for (const std::string& w : range.warnings) b.s_.warnings.push_back(w);
  if (range.missing_values > 0) {
    b.s_.warnings.push_back(std::to_string(range.missing_values) +
                            " DCGM values were blank, NaN or negative: read as unknown (never as zero)");
  }
  return b.Take();
}

}  // namespace

base::Result<model::Snapshot> BuildLiveSnapshot(const model::ClusterState& cluster, const RangeTelemetry& scrapes,
                                                std::int64_t now_unix_s, const SnapshotOptions& options) {
  return Build(cluster, {}, scrapes, now_unix_s, now_unix_s + options.interval_s, true, "scrape", options);
}

base::Result<model::Snapshot> BuildLiveSnapshot(const model::ClusterState& cluster, const prom::Telemetry& telemetry,
                                                std::int64_t now_unix_s, const SnapshotOptions& options) {
  // One sample per signal and per pod label at `now`, through the same path as a window.
  ScrapeWindow window;
  window.Add(telemetry, now_unix_s * 1000);
  const RangeTelemetry range = window.Take();
  return Build(cluster, {}, range, now_unix_s, now_unix_s + options.interval_s, true, "scrape", options);
}

base::Result<model::Snapshot> BuildRangeSnapshot(const model::ClusterState& cluster,
                                                 const std::vector<model::Pod>& past_pods,
                                                 const RangeTelemetry& range, std::int64_t start_unix_s,
                                                 std::int64_t end_unix_s, const SnapshotOptions& options) {
  return Build(cluster, past_pods, range, start_unix_s, end_unix_s, false, "prometheus", options);
}

bool InferOwnerFromName(std::string_view name, model::OwnerRef* owner) {
  auto last_dash = name.rfind('-');
  if (last_dash == std::string_view::npos || last_dash == 0) return false;
  const std::string_view tail = name.substr(last_dash + 1);
  const std::string_view head = name.substr(0, last_dash);
  if (tail.size() == 5 && AllOf(tail, IsSafeChar)) {
    auto dash2 = head.rfind('-');
    if (dash2 != std::string_view::npos && dash2 > 0) {
      const std::string_view mid = head.substr(dash2 + 1);
      const std::string_view base = head.substr(0, dash2);
      // ReplicaSet pod-template hash: 6 to 10 safe characters (older hashes were decimal).
      if (mid.size() >= 6 && mid.size() <= 10 && (AllOf(mid, IsSafeChar) || AllOf(mid, IsDigitChar)) &&
          !AllOf(mid, IsDigitChar)) {
        *owner = {"apps/v1", "Deployment", std::string(base), ""};
        return true;
      }
      // CronJob: the Job is "<cronjob>-<scheduled time in minutes since the epoch>" (8 or more digits).
      if (mid.size() >= 8 && AllOf(mid, IsDigitChar)) {
        *owner = {"batch/v1", "CronJob", std::string(base), ""};
        return true;
      }
    }
    *owner = {"batch/v1", "Job", std::string(head), ""};
    return true;
  }
  if (AllOf(tail, IsDigitChar) && tail.size() <= 5 && AllOf(head.substr(head.size() - 1), IsLowerAlnum)) {
    *owner = {"apps/v1", "StatefulSet", std::string(head), ""};
    return true;
  }
  return false;
}

}  // namespace gpuwise::observe
