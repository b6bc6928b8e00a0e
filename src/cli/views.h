// Renders observe/ results (telemetry, profiles, doctor findings) as tables and JSON documents.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "cli/output.h"
#include "observe/metrics_source.h"
#include "observe/prom/doctor.h"
#include "observe/usage_profile.h"

namespace gpuwise::cli {

// Per-GPU / per-MIG-instance summary of the latest values.
Table TelemetryTable(const observe::prom::Telemetry& telemetry);
nlohmann::json TelemetryJson(const observe::prom::Telemetry& telemetry);
// Signal health per node, as notes under a table or a JSON array.
std::vector<std::string> SignalHealthNotes(const observe::prom::Telemetry& telemetry);
nlohmann::json SignalHealthJson(const observe::prom::Telemetry& telemetry);

Table ProfilesTable(const std::vector<observe::EntityProfile>& profiles);
nlohmann::json ProfilesJson(const std::vector<observe::EntityProfile>& profiles);

Table DoctorTable(const observe::prom::DoctorReport& report);
nlohmann::json DoctorJson(const observe::prom::DoctorReport& report);

// A number for JSON: null when NaN ("unknown").
nlohmann::json Number(double v);

}  // namespace gpuwise::cli
