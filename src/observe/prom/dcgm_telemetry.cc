#include "observe/prom/dcgm_telemetry.h"

#include <algorithm>
#include <charconv>

namespace gpuwise::observe::prom {
namespace {

// Index of the parent GPU for sorting: numeric when it parses, else 0.
int IndexOf(const std::string& s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

std::string GpuEntity::Key() const {
  std::string k = hostname + "/" + (uuid.empty() ? "gpu" + gpu_index : uuid);
  if (gi_id >= 0) k += "/gi" + std::to_string(gi_id);
  return k;
}

int MigComputeSlices(std::string_view profile) {
  std::size_t g = profile.find('g');
  if (g == 0 || g == std::string_view::npos || g + 1 >= profile.size() || profile[g + 1] != '.') return 0;
  int v = 0;
  auto [p, ec] = std::from_chars(profile.data(), profile.data() + g, v);
  return ec == std::errc() && p == profile.data() + g ? v : 0;
}

ComputeActivity ResolveCompute(const GpuEntity& e) {
  ComputeActivity a;
  if (e.has(Signal::kSmActive)) {
    a.ratio = e.get(Signal::kSmActive);
    a.source = Signal::kSmActive;
    a.note = "DCGM_FI_PROF_SM_ACTIVE";
  } else if (e.has(Signal::kGrEngineActive)) {
    a.ratio = e.get(Signal::kGrEngineActive);
    a.source = Signal::kGrEngineActive;
    a.note = "DCGM_FI_PROF_GR_ENGINE_ACTIVE (upper bound of SM activity)";
  } else if (e.has(Signal::kGpuUtil) && !e.is_mig()) {
    a.ratio = e.get(Signal::kGpuUtil);
    a.source = Signal::kGpuUtil;
    a.note = "DCGM_FI_DEV_GPU_UTIL (coarse: time any kernel ran)";
  }
  return a;
}

DcgmTelemetryBuilder::DcgmTelemetryBuilder(const DcgmCatalog& catalog) : catalog_(catalog) {}

void DcgmTelemetryBuilder::Add(std::string_view metric_name, std::span<const Label> labels, double value) {
  ++stats_.samples;
  std::size_t idx;
  const CatalogRow* row = Locate(metric_name, labels, &idx);
  if (row == nullptr) return;
  ++stats_.dcgm_samples;
  GpuEntity& e = entities_[idx];
  double canonical;
  const auto s = static_cast<std::size_t>(row->signal);
  if (!NormalizeValue(*row, value, &canonical)) {
    ++stats_.missing_values;
    if (std::isnan(e.values[s])) e.blank[s] = 1;
    return;
  }
  // A confirmed name wins over an inferred alias of the same field on the same entity.
  if (!std::isnan(e.values[s]) && !e.catalog_inferred[s] && !row->confirmed) return;
  e.values[s] = canonical;
  e.blank[s] = 0;
  e.source_name[s] = row->name;
  e.catalog_inferred[s] = row->confirmed ? 0 : 1;
  // XID codes are small integers; anything else is kept as "unknown code" (0) rather than converted.
  if (row->signal == Signal::kXid) e.xid_last = value >= 0 && value <= 4294967295.0 ? static_cast<std::uint32_t>(value) : 0;
}

const CatalogRow* DcgmTelemetryBuilder::Locate(std::string_view metric_name, std::span<const Label> labels,
                                               std::size_t* entity_index, int* attribution) {
  if (attribution != nullptr) *attribution = -1;
  const CatalogRow* row = catalog_.Find(metric_name);
  if (row == nullptr) {
    ++stats_.unknown_metrics;
    return nullptr;
  }
  std::string_view gpu, uuid, device, model, host, host_fallback, bus, driver, gi_profile, gi_id, err_msg, instance;
  std::string_view dra_name, dra_namespace;
  Attribution direct, exported;
  for (const Label& l : labels) {
    const std::string_view n = l.name;
    const std::string_view v = l.value;
    if (n == "gpu") gpu = v;
    else if (n == "UUID" || n == "uuid") uuid = v;
    else if (n == "device") device = v;
    else if (n == "modelName") model = v;
    else if (n == "Hostname" || n == "hostname") host = v;
    else if (n == "node" || n == "kubernetes_node" || n == "instance") {
      if (host_fallback.empty() || n != "instance") host_fallback = v;
      if (n == "instance") instance = v;
    }
    else if (n == "pci_bus_id") bus = v;
    else if (n == "DCGM_FI_DRIVER_VERSION" || n == "DCGM_FI_SYSTEM_DRIVER_VERSION") driver = v;
    else if (n == "GPU_I_PROFILE") gi_profile = v;
    else if (n == "GPU_I_ID") gi_id = v;
    else if (n == "pod" || n == "pod_name") direct.pod = v;
    else if (n == "namespace" || n == "pod_namespace") direct.namespace_name = v;
    else if (n == "container" || n == "container_name") direct.container = v;
    else if (n == "exported_pod" || n == "exported_pod_name") exported.pod = v;
    else if (n == "exported_namespace" || n == "exported_pod_namespace") exported.namespace_name = v;
    else if (n == "exported_container" || n == "exported_container_name") exported.container = v;
    else if (n == "pod_uid" || n == "exported_pod_uid") direct.pod_uid = exported.pod_uid = v;
    else if (n == "vgpu") direct.vgpu = exported.vgpu = v;
    else if (n == "dra_claim_name") dra_name = v;
    else if (n == "dra_claim_namespace") dra_namespace = v;
    else if (n == "err_msg") err_msg = v;
  }
  if (!dra_name.empty()) {
    direct.dra_claim = exported.dra_claim = std::string(dra_namespace) + "/" + std::string(dra_name);
  }
  if (uuid.empty() && gpu.empty()) {
    ++stats_.no_entity;
    return nullptr;
  }
  const bool host_from_label = !host.empty();
  if (host.empty()) host = host_fallback;
  key_scratch_.assign(host);
  key_scratch_ += '/';
  key_scratch_ += uuid.empty() ? gpu : uuid;
  if (!gi_id.empty()) {
    key_scratch_ += "/gi";
    key_scratch_ += gi_id;
  }
  auto it = by_key_.find(key_scratch_);
  std::size_t idx;
  if (it == by_key_.end()) {
    idx = entities_.size();
    by_key_.emplace(key_scratch_, idx);
    GpuEntity e;
    e.hostname = host;
    e.hostname_label = host_from_label;
    e.uuid = uuid;
    e.gpu_index = gpu;
    e.device = device;
    e.model_name = model;
    e.pci_bus_id = bus;
    e.driver_version = driver;
    e.gi_profile = gi_profile;
    if (!gi_id.empty()) {
      int v = 0;
      auto [p, ec] = std::from_chars(gi_id.data(), gi_id.data() + gi_id.size(), v);
      e.gi_id = (ec == std::errc() && p == gi_id.data() + gi_id.size() && v >= 0) ? v : 0;
    }
    entities_.push_back(std::move(e));
  } else {
    idx = it->second;
  }
  GpuEntity& e = entities_[idx];
  // With honor_labels: false the unprefixed pod labels name the exporter's own pod: exported_* win.
  const Attribution& who = exported.pod.empty() ? direct : exported;
  if (e.target.empty()) e.target = instance.empty() ? page_target_ : std::string(instance);
  if (e.exporter_pod.empty() && !exported.pod.empty() && !direct.pod.empty()) {
    e.exporter_pod = direct.namespace_name + "/" + direct.pod;
  }
  if (!who.pod.empty() || !who.dra_claim.empty()) {
    auto it = std::find(e.pods.begin(), e.pods.end(), who);
    if (it == e.pods.end()) it = e.pods.insert(e.pods.end(), who);
    if (attribution != nullptr) *attribution = static_cast<int>(it - e.pods.begin());
  }
  if (row->signal == Signal::kXid && !err_msg.empty()) e.xid_message = err_msg;
  *entity_index = idx;
  return row;
}

void DcgmTelemetryBuilder::AddPage(std::string_view page, Format format, std::string_view source) {
  // The scrape target of a page is its URL's host:port, as Prometheus's `instance` label would be.
  std::string_view target = source;
  if (auto p = target.find("://"); p != std::string_view::npos) target.remove_prefix(p + 3);
  if (auto p = target.find('/'); p != std::string_view::npos) target = target.substr(0, p);
  page_target_ = target;
  ExpositionParser parser(page, {.format = format});
  Entry entry;
  while (true) {
    base::Status s = parser.Next(&entry);
    if (!s.ok()) {
      ++stats_.bad_lines;
      if (stats_.errors.size() < 20) stats_.errors.push_back(std::string(source) + ": " + s.message());
      continue;
    }
    if (entry.kind == EntryKind::kEof) break;
    if (entry.kind != EntryKind::kSample) continue;
    Add(entry.sample.name, entry.sample.labels, entry.sample.value);
  }
  page_target_.clear();
}

Telemetry DcgmTelemetryBuilder::Finish() {
  Telemetry t;
  t.entities = std::move(entities_);
  std::sort(t.entities.begin(), t.entities.end(), [](const GpuEntity& a, const GpuEntity& b) {
    return std::make_tuple(a.hostname, IndexOf(a.gpu_index), a.uuid, a.gi_id) <
           std::make_tuple(b.hostname, IndexOf(b.gpu_index), b.uuid, b.gi_id);
  });
  t.stats = std::move(stats_);
  entities_.clear();
  by_key_.clear();
  stats_ = {};
  return t;
}

int MigTotalSlices(std::string_view model_name) {
  return model_name.find("A30") != std::string_view::npos ? 4 : 7;
}

FleetTotals Summarize(const Telemetry& telemetry) {
  FleetTotals t;
  std::string last_mig_parent;
  for (const GpuEntity& e : telemetry.entities) {
    const ComputeActivity c = ResolveCompute(e);
    double share = 1.0;
    if (e.is_mig()) {
      ++t.mig_instances;
      if (e.hostname + "/" + e.uuid != last_mig_parent) {
        last_mig_parent = e.hostname + "/" + e.uuid;
        ++t.gpus;
        ++t.mig_gpus;
      }
      if (e.pods.empty()) ++t.idle_instances;
      // kMigProfRatiosAreInstanceRelative: an instance's ratio covers only its own slices.
      share = kMigProfRatiosAreInstanceRelative
                  ? static_cast<double>(MigComputeSlices(e.gi_profile)) / MigTotalSlices(e.model_name)
                  : 1.0;
    } else {
      ++t.gpus;
      if (e.pods.empty()) ++t.idle_gpus;
    }
    if (!std::isnan(c.ratio)) {
      ++t.compute_known;
      t.busy_gpu_equivalents += c.ratio * share;
    }
    if (e.has(Signal::kFbUsed) && e.has(Signal::kFbFree)) {
      t.fb_used_bytes += e.get(Signal::kFbUsed);
      t.fb_total_bytes += e.get(Signal::kFbUsed) + e.get(Signal::kFbFree) +
                          (e.has(Signal::kFbReserved) ? e.get(Signal::kFbReserved) : 0.0);
    }
  }
  return t;
}

std::vector<NodeSignalHealth> SignalHealth(const Telemetry& telemetry) {
  std::vector<NodeSignalHealth> out;
  for (const GpuEntity& e : telemetry.entities) {
    if (out.empty() || out.back().hostname != e.hostname) {
      out.push_back({});
      out.back().hostname = e.hostname;
    }
    NodeSignalHealth& h = out.back();
    (e.is_mig() ? h.mig_instances : h.gpus)++;
    for (std::size_t s = 0; s < kSignalCount; ++s) h.present[s] += e.has(static_cast<Signal>(s)) ? 1 : 0;
  }
  for (NodeSignalHealth& h : out) {
    const std::size_t n = h.gpus + h.mig_instances;
    auto all = [&](Signal s) { return h.present[static_cast<std::size_t>(s)] == n; };
    if (all(Signal::kSmActive)) h.compute_source = "sm_active";
    else if (all(Signal::kGrEngineActive)) h.compute_source = "gr_engine_active";
    else if (h.mig_instances == 0 && all(Signal::kGpuUtil)) h.compute_source = "gpu_util";
    else h.compute_source = "none";
  }
  return out;
}

}  // namespace gpuwise::observe::prom
