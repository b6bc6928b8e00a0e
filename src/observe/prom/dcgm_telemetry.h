// dcgm-exporter pages -> per-GPU / per-MIG-instance telemetry in canonical units.
//
// Input: exposition samples (from a scrape) or labelled values (from Prometheus). Output: one GpuEntity per
// GPU and per MIG GPU instance (a child of its parent GPU, keyed by host + UUID + GPU_I_ID), with every known
// signal normalised (ratio 0..1, bytes, watts, joules, hertz, bytes/s) and NaN meaning "unknown": a missing
// signal is never zero. Labels accepted: gpu, UUID/uuid, device, modelName, Hostname/hostname, pci_bus_id,
// DCGM_FI_DRIVER_VERSION (and the 4.9 DCGM_FI_SYSTEM_DRIVER_VERSION), GPU_I_PROFILE, GPU_I_ID, pod/namespace/
// container, the 1.x pod_name/pod_namespace/container_name, their exported_* forms (Prometheus with
// honor_labels: false, where the unprefixed ones name the exporter pod), pod_uid, vgpu, dra_*, err_code/err_msg.
// Thread-safety: a DcgmTelemetryBuilder is used by one thread.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <span>
#include <tuple>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "observe/prom/dcgm_catalog.h"
#include "observe/prom/exposition_parser.h"

namespace gpuwise::observe::prom {

// gpuwise's assumption on MIG: a DCGM_FI_PROF_* ratio reported for a GPU instance is relative to that
// instance (1.0 = the instance's own SMs fully busy), so its share of the whole GPU is ratio x g / 7 (A30: / 4).
// UNCONFIRMED upstream (nvidia-gpu-facts.md section 1.3); the simulated cluster follows the same rule and
// `gpuwise query`/`explain` print it.
inline constexpr bool kMigProfRatiosAreInstanceRelative = true;
inline constexpr std::string_view kMigAssumptionText =
    "MIG instance DCGM_FI_PROF_* ratios are taken as relative to the instance (1.0 = the instance's SMs busy); "
    "whole-GPU share = ratio x compute slices / 7 (A30: / 4). Unconfirmed upstream (dcgm-exporter).";

struct Attribution {
  std::string pod, namespace_name, container, pod_uid, vgpu;
  std::string dra_claim;  // "namespace/name" of a DRA ResourceClaim (dcgm-exporter --kubernetes-enable-dra)
  bool operator<(const Attribution& o) const {
    return std::tie(namespace_name, pod, container, vgpu) < std::tie(o.namespace_name, o.pod, o.container, o.vgpu);
  }
  bool operator==(const Attribution& o) const = default;
};

struct GpuEntity {
  std::string hostname;     // Hostname/hostname label, else node/kubernetes_node/instance (see hostname_label)
  bool hostname_label = false;  // true when `hostname` came from the Hostname/hostname label itself
  std::string target;       // the scrape target (`instance` label; a scrape URL's host:port), for the node join
  std::string exporter_pod; // "namespace/pod" of the exporter (the unprefixed labels when exported_* are present)
  std::string uuid;
  std::string gpu_index;  // the parent GPU's index for MIG instances too
  std::string device;
  std::string model_name;
  std::string pci_bus_id;
  std::string driver_version;
  int gi_id = -1;           // MIG GPU instance ID (GPU_I_ID); -1 for a whole GPU
  std::string gi_profile;   // "1g.10gb"
  std::vector<Attribution> pods;  // every pod seen on this entity (several when shared)
  std::array<double, kSignalCount> values;
  std::array<std::uint8_t, kSignalCount> catalog_inferred{};  // 1 when the value came from an inferred name
  std::array<std::uint8_t, kSignalCount> blank{};  // 1 when exported but a DCGM blank / NaN / negative (unknown)
  std::array<std::string, kSignalCount> source_name;  // the exported metric name each value came from
  std::uint32_t xid_last = 0;
  std::string xid_message;  // err_msg label of the last XID, when the exporter sets it

  GpuEntity() { values.fill(NAN); }
  bool is_mig() const { return gi_id >= 0; }
  bool has(Signal s) const { return !std::isnan(values[static_cast<std::size_t>(s)]); }
  double get(Signal s) const { return values[static_cast<std::size_t>(s)]; }
  std::string Key() const;  // "host/UUID" or "host/UUID/gi7"
};

// Compute activity with the documented fallback: SM_ACTIVE, else GR_ENGINE_ACTIVE (an upper bound: the engine
// counts as active while any SM is), else GPU_UTIL (coarse: time with any kernel running; never on MIG).
struct ComputeActivity {
  double ratio = NAN;            // relative to the entity (instance or GPU); NaN = unknown
  Signal source = Signal::kCount;  // kCount when unknown
  const char* note = "no compute signal (enable DCGM_FI_PROF_SM_ACTIVE)";
};
ComputeActivity ResolveCompute(const GpuEntity& entity);

// Compute slices of a MIG profile name ("3g.40gb" -> 3), 0 when the name has no "<n>g." prefix.
int MigComputeSlices(std::string_view profile);

struct TelemetryStats {
  std::size_t samples = 0;          // samples read
  std::size_t dcgm_samples = 0;     // samples of known dcgm fields
  std::size_t unknown_metrics = 0;  // samples of other metrics (kept out, counted)
  std::size_t missing_values = 0;   // blank sentinels / NaN / negative: unknown
  std::size_t no_entity = 0;        // dcgm samples without a UUID or gpu label
  std::size_t bad_lines = 0;        // malformed lines skipped
  std::vector<std::string> errors;  // the first few parse errors, with line and column
};

struct Telemetry {
  std::vector<GpuEntity> entities;  // sorted by hostname, gpu index, GI id
  TelemetryStats stats;
};

class DcgmTelemetryBuilder {
 public:
  explicit DcgmTelemetryBuilder(const DcgmCatalog& catalog = DcgmCatalog::Default());

  // Adds one value of a metric with its labels (either source). Unknown metric names are counted.
  void Add(std::string_view metric_name, std::span<const Label> labels, double value);
  // Finds (or creates) the entity a series belongs to, without storing a value: for range data, where one
  // series carries many values. nullptr (and no entity) for unknown metrics or series with no GPU identity.
  // *attribution (optional) receives the index in entity(i).pods of the pod this series names, or -1.
  const CatalogRow* Locate(std::string_view metric_name, std::span<const Label> labels, std::size_t* entity_index,
                           int* attribution = nullptr);
  // The entity at an index returned by Locate (valid until Finish).
  const GpuEntity& entity(std::size_t index) const { return entities_[index]; }
  std::size_t entity_count() const { return entities_.size(); }
  // Parses a whole page, skipping and counting malformed lines (their errors are kept, up to 20).
  // `source` names the page in error messages (a URL or file).
  void AddPage(std::string_view page, Format format, std::string_view source);
  Telemetry Finish();

 private:
  const DcgmCatalog& catalog_;
  std::vector<GpuEntity> entities_;
  std::unordered_map<std::string, std::size_t> by_key_;
  std::string key_scratch_;
  std::string page_target_;  // host:port of the page AddPage is reading
  TelemetryStats stats_;
};

// Fleet totals of one snapshot, for the one-line summary under a report.
struct FleetTotals {
  std::size_t gpus = 0;              // physical GPUs (a MIG-partitioned GPU counts once)
  std::size_t mig_gpus = 0;          // of which MIG-partitioned
  std::size_t mig_instances = 0;
  std::size_t idle_gpus = 0;         // whole GPUs with no pod
  std::size_t idle_instances = 0;    // MIG instances with no pod
  double busy_gpu_equivalents = 0;   // sum of compute activity in whole-GPU units (MIG: x g / total slices)
  std::size_t compute_known = 0;     // entities whose compute activity is known
  double fb_used_bytes = 0, fb_total_bytes = 0;  // over entities reporting both
};
FleetTotals Summarize(const Telemetry& telemetry);
// Compute slices of the whole GPU a MIG profile is cut from: 4 on A30, else 7 (A100/H100/H200/B200).
int MigTotalSlices(std::string_view model_name);

// Per node: which signals are present on how many entities, for doctor and signal health.
struct NodeSignalHealth {
  std::string hostname;
  std::size_t gpus = 0, mig_instances = 0;
  std::array<std::size_t, kSignalCount> present{};  // entities having the signal
  std::string compute_source;  // the best compute signal present on every entity, or "none"
};
std::vector<NodeSignalHealth> SignalHealth(const Telemetry& telemetry);

}  // namespace gpuwise::observe::prom
