// libFuzzer target: Kubernetes API objects and quantities into gpuwise's cluster model (observe/kube/
// object_convert.h) on arbitrary bytes. Byte 0 picks the input: JSON (every converter reads the same value: node,
// pod, namespace, controller owner) or text (a quantity; a resource name; a container whose first line is the
// image, second the command and the rest its arguments, one per line, for serving-engine detection).
// Properties: no crash, no sanitizer report, no exception; an error names the object and says why; a quantity's
// canonical text parses back to the same value and is a fixed point from the second round on, Value() is the value
// rounded up, IsInteger() agrees with the nanos; a converted node has a non-negative GPU count, at least one replica
// and finite sizes; a converted pod has its name and namespace, non-negative finite GPU requests, and the serving
// engine DetectServingEngine gives for it, with a port in 0..65535 and a tensor-parallel size of at least 1.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "observe/kube/object_convert.h"

namespace kube = gpuwise::observe::kube;
using nlohmann::json;
using Nanos = kube::Quantity::Nanos;

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckQuantity(std::string_view text) {
  const gpuwise::base::Result<kube::Quantity> q = kube::ParseQuantity(text);
  if (!q.ok()) {
    Check(q.status().message().find("quantity \"") != std::string::npos);  // names the text
    return;
  }
  const Nanos n = q->nanos();
  constexpr Nanos kNano = 1'000'000'000;
  Check(q->IsInteger() == (n % kNano == 0));
  Check(std::isfinite(q->ToDouble()));
  Check(n == 0 || (q->ToDouble() > 0) == (n > 0));
  // Value(): the value rounded up (towards +inf), saturating at the int64 range.
  const Nanos v = q->Value();
  if (v > INT64_MIN && v < INT64_MAX) Check(v * kNano >= n && (v - 1) * kNano < n);
  const std::string s1 = q->ToString();
  const gpuwise::base::Result<kube::Quantity> back = kube::ParseQuantity(s1);
  Check(back.ok() && back->nanos() == n);
  const std::string s2 = back->ToString();
  const gpuwise::base::Result<kube::Quantity> again = kube::ParseQuantity(s2);
  Check(again.ok() && again->nanos() == n && again->ToString() == s2);
}

void CheckRequest(const gpuwise::model::GpuRequest& g) {
  Check(g.gpus >= 0 && g.shared >= 0);
  for (const auto& [profile, count] : g.mig) Check(!profile.empty() && count > 0);
  for (double d : {g.hami_gpumem_mib, g.hami_gpumem_percent, g.hami_gpucores_percent, g.kai_fraction, g.kai_memory_mib}) {
    Check(std::isfinite(d));
  }
  Check(g.kai_fraction >= 0 && g.kai_memory_mib >= 0);
  for (const auto& [name, v] : g.other) Check(!name.empty() && std::isfinite(v));
}

void CheckEngine(const gpuwise::model::ServingEngine& e) {
  Check(e.metrics_port >= 0 && e.metrics_port <= 65535);
  Check(e.tensor_parallel >= 1);
  Check(std::isnan(e.gpu_memory_utilization) || (e.gpu_memory_utilization > 0 && e.gpu_memory_utilization <= 1));
  Check(e.Found() || e.container.empty());
}

void CheckJson(const json& j) {
  std::vector<std::string> warnings;
  if (auto node = kube::NodeFromJson(j, &warnings); node.ok()) {
    Check(!node->name.empty());
    Check(node->gpu_count >= 0 && node->gpu_replicas >= 1);
    Check(std::isfinite(node->gpu_memory_mib) && node->gpu_memory_mib >= 0);
    for (const auto* m : {&node->capacity, &node->allocatable}) {
      for (const auto& [name, v] : *m) Check(!name.empty() && std::isfinite(v));
    }
    (void)kube::DetectNodeBackend(*node);
    (void)node->HasGpus();
  } else {
    Check(!node.status().message().empty());
  }
  for (const std::string& w : warnings) Check(!w.empty());
  warnings.clear();
  if (auto pod = kube::PodFromJson(j, &warnings); pod.ok()) {
    Check(!pod->name.empty() && !pod->namespace_name.empty());
    for (const auto& c : pod->containers) CheckRequest(c.gpu);
    CheckRequest(pod->GpuTotal());
    CheckEngine(pod->engine);
    const gpuwise::model::ServingEngine again = kube::DetectServingEngine(*pod);
    Check(again.name == pod->engine.name && again.container == pod->engine.container &&
          again.metrics_port == pod->engine.metrics_port && again.model == pod->engine.model);
    (void)pod->Top();
    (void)gpuwise::model::WorkloadOf(*pod);
  } else {
    Check(!pod.status().message().empty());
  }
  if (auto ns = kube::NamespaceFromJson(j); ns.ok()) {
    Check(!ns->name.empty());
  } else {
    Check(!ns.status().message().empty());
  }
  if (auto owner = kube::ControllerOwnerFromJson(j, "fuzz object"); !owner.ok()) {
    Check(owner.status().message().find("fuzz object") != std::string::npos);
  }
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

void CheckText(std::string_view text) {
  CheckQuantity(text);
  const std::string profile = kube::MigProfileOfResource(text);
  Check(profile.empty() || text.starts_with("nvidia.com/mig-"));
  if (!profile.empty()) Check(kube::IsGpuLikeResource(text));
  gpuwise::model::Labels labels;
  const std::vector<std::string> lines = Lines(text);
  for (std::size_t i = 0; i + 1 < lines.size(); i += 2) labels[lines[i]] = lines[i + 1];
  (void)kube::CapacityTypeFromLabels(labels);
  // A container: image, command words, then one argument per line.
  gpuwise::model::Container c;
  c.name = "main";
  c.image = lines[0];
  if (lines.size() > 1) {
    std::string_view cmd = lines[1];
    while (!cmd.empty()) {
      const std::size_t sp = cmd.find(' ');
      if (sp != 0) c.command.emplace_back(cmd.substr(0, sp));
      if (sp == std::string_view::npos) break;
      cmd.remove_prefix(sp + 1);
    }
  }
  for (std::size_t i = 2; i < lines.size(); ++i) c.args.push_back(lines[i]);
  c.ports.push_back(8080);
  const gpuwise::model::ServingEngine e = kube::DetectEngineInContainer(c);
  CheckEngine(e);
  gpuwise::model::Pod pod;
  pod.containers = {c};
  const gpuwise::model::ServingEngine via_pod = kube::DetectServingEngine(pod);
  Check(via_pod.name == e.name && via_pod.metrics_port == e.metrics_port);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 4 != 0) {
    const json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) CheckJson(j);
  } else {
    CheckText(body);
  }
  return 0;
}
