// Telemetry doctor: per node, which signals gpuwise needs are missing, what gpuwise does instead, and the
// exact dcgm-exporter counters-CSV line and GPU Operator setting that enable each one. Pure: Telemetry in,
// findings out.
#pragma once

#include <string>
#include <vector>

#include "observe/prom/dcgm_telemetry.h"

namespace gpuwise::observe::prom {

enum class Severity { kOk, kInfo, kWarning, kError };
std::string_view SeverityName(Severity s);

struct DoctorFinding {
  std::string hostname;
  Severity severity = Severity::kInfo;
  std::string signal;      // catalog signal name, or "kubernetes"
  std::string message;     // what is missing and what gpuwise does meanwhile
  std::string csv_line;    // the counters-CSV line that enables it (empty when not a CSV matter)
  std::string fix;         // the exporter flag / GPU Operator setting
};

struct NodeDoctorReport {
  std::string hostname;
  std::size_t gpus = 0, mig_instances = 0;
  std::string compute_source;
  std::vector<std::string> missing;  // signal names missing on at least one entity
};

struct DoctorReport {
  std::vector<NodeDoctorReport> nodes;
  std::vector<DoctorFinding> findings;
};

DoctorReport Diagnose(const Telemetry& telemetry);

// How to ship a custom counters CSV, the same for every finding.
inline constexpr const char* kCustomCsvHowTo =
    "dcgm-exporter: add the line to the counters CSV passed with -f / DCGM_EXPORTER_COLLECTORS (or "
    "--configmap-data <namespace>:<configmap>); GPU Operator: put the CSV in a ConfigMap and point "
    "ClusterPolicy spec.dcgmExporter.config.name at it (the operator then sets DCGM_EXPORTER_COLLECTORS).";

}  // namespace gpuwise::observe::prom
