// `gpuwise explain WORKLOAD`: the evidence and the rules behind one workload's numbers in a report run, each fact
// with where it came from, in words a platform engineer can check against the cluster: identity and owner chain,
// team / class / gpuwise.io policy and the rule that gave each, the devices it held and how that was known, its
// usage profile (percentiles of exporter samples), the diagnosis rule by rule, and the money with a worked line.
// Text for a terminal; JSON (kind WorkloadExplanation, docs/schema/WorkloadExplanation.json) with exact
// micro-dollars. Pure functions of the run; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "app/report_pipeline.h"
#include "base/status.h"
#include "model/snapshot.h"

namespace gpuwise::cli {

// The Snapshot::workloads index named by `designator`: `ns/Kind/name` (Kind compared ignoring ASCII case),
// `ns/name`, or a bare `name` when only one workload has it. Errors: InvalidArgument for an empty or malformed
// designator, and for one that names several workloads (the message lists their `ns/Kind/name`); NotFound when
// nothing matches (the message lists up to 5 close matches).
base::Result<int> FindWorkload(const model::Snapshot& snapshot, std::string_view designator);

// `workload` is a Snapshot::workloads index (from FindWorkload); out of range is a bug (CHECK).
std::string ExplainWorkloadText(const app::ReportRun& run, int workload);
// The whole document, apiVersion and kind ("WorkloadExplanation") included (cli::Emit sets the same two).
nlohmann::json ExplainWorkloadJson(const app::ReportRun& run, int workload);

}  // namespace gpuwise::cli
