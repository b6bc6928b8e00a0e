// libFuzzer target: what a client can send the simulated kube-apiserver besides objects, on arbitrary bytes. The
// first byte picks the input: a label selector string, a field selector string (the second byte picks the
// resource), a metav1.LabelSelector JSON, or a merge / JSON / strategic merge patch (the second byte picks the kind;
// when the rest holds a newline, the JSON object before it is the original, else a Deployment is).
// Properties: no crash, no sanitizer report, no exception; a parsed selector prints to a string that parses back to
// the same selector; a patch that applies yields a JSON object; a merge patch applied twice equals it applied once;
// a strategic merge result holds no directive key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/kube_patch.h"
#include "sim/kube_selectors.h"

using gpuwise::sim::ApplyJsonPatch;
using gpuwise::sim::ApplyMergePatch;
using gpuwise::sim::ApplyStrategicMergePatch;
using gpuwise::sim::FieldSelector;
using gpuwise::sim::LabelSelector;
using nlohmann::json;

namespace {

const json& Deployment() {
  static const json kDeployment = json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"default","labels":{"app":"web"},"finalizers":["a"],
                "ownerReferences":[{"uid":"u1","name":"o"}]},
    "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
      "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}},
      "template":{"metadata":{"labels":{"app":"web"},"creationTimestamp":null},
        "spec":{"containers":[{"name":"app","image":"a:1","env":[{"name":"A","value":"1"}],
                               "ports":[{"containerPort":80}],"volumeMounts":[{"name":"v","mountPath":"/v"}]},
                              {"name":"side","image":"b:1"}],
                "volumes":[{"name":"v","emptyDir":{}}],"tolerations":[{"key":"k","operator":"Exists"}]}}},
    "status":{"conditions":[{"type":"Available","status":"True"}]}})");
  return kDeployment;
}

// Originals come from the object store, never this deep; keep the fuzzer's within what a store would hold.
bool ShallowEnough(std::string_view text) {
  int depth = 0;
  for (char c : text) {
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (depth > 64) return false;
  }
  return true;
}

bool HasDirectiveKey(const json& j) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "$patch" || k == "$retainKeys" || k.rfind("$setElementOrder", 0) == 0 ||
          k.rfind("$deleteFromPrimitiveList", 0) == 0 || HasDirectiveKey(v)) {
        return true;
      }
    }
  } else if (j.is_array()) {
    for (const json& v : j) {
      if (HasDirectiveKey(v)) return true;
    }
  }
  return false;
}

void CheckPatched(const gpuwise::base::Result<json>& r) {
  if (!r.ok()) return;
  if (!r->is_object()) std::abort();
  (void)r->dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  static const std::vector<std::string> kResources = {"pods", "nodes", "events", "jobs", "services", "namespaces",
                                                      "deployments", "widgets"};
  static const std::vector<std::string> kKinds = {"Pod", "Deployment", "CronJob", "Node", "Service",
                                                  "PodDisruptionBudget", "Widget"};
  const std::size_t pick = data[1];
  switch (data[0] % 6) {
    case 0: {
      auto s = LabelSelector::Parse(body);
      if (!s.ok()) return 0;
      auto again = LabelSelector::Parse(s->String());
      if (!again.ok() || again->String() != s->String()) std::abort();
      (void)s->Matches(json{{"a", "b"}, {"x", "1"}});
      return 0;
    }
    case 1: {
      const std::string& resource = kResources[pick % kResources.size()];
      auto s = FieldSelector::Parse(body, resource);
      if (!s.ok()) return 0;
      // Upstream sorts the raw terms before parsing, so "a==x,a=y" prints in another order than it reparses
      // ("==" prints as "="): the printed form is a fixed point from the second round on.
      auto again = FieldSelector::Parse(s->String(), resource);
      if (!again.ok()) std::abort();
      auto third = FieldSelector::Parse(again->String(), resource);
      if (!third.ok() || third->String() != again->String()) std::abort();
      (void)s->Matches(Deployment());
      return 0;
    }
    case 2: {
      const json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !ShallowEnough(body)) return 0;
      auto s = LabelSelector::FromJson(j);
      if (s.ok()) (void)s->Matches(json{{"app", "web"}});
      return 0;
    }
    default: {
      json original = Deployment();
      std::string_view patch = body;
      if (const std::size_t nl = body.find('\n'); nl != std::string_view::npos) {
        const std::string_view head = body.substr(0, nl);
        const json parsed = json::parse(head.begin(), head.end(), nullptr, /*allow_exceptions=*/false);
        if (!parsed.is_discarded() && parsed.is_object() && ShallowEnough(head)) {
          original = parsed;
          patch = body.substr(nl + 1);
        }
      }
      if (data[0] % 6 == 3) {
        auto once = ApplyMergePatch(original, patch);
        CheckPatched(once);
        if (once.ok()) {
          auto twice = ApplyMergePatch(*once, patch);
          if (!twice.ok() || *twice != *once) std::abort();  // RFC 7386 patches are idempotent
        }
      } else if (data[0] % 6 == 4) {
        CheckPatched(ApplyJsonPatch(original, patch));
      } else {
        auto r = ApplyStrategicMergePatch(original, patch, kKinds[pick % kKinds.size()]);
        CheckPatched(r);
        if (r.ok() && gpuwise::sim::SupportsStrategicMerge(kKinds[pick % kKinds.size()]) && !HasDirectiveKey(original) &&
            HasDirectiveKey(*r)) {
          std::abort();
        }
      }
      return 0;
    }
  }
}
