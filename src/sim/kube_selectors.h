// Label and field selectors of the simulated kube-apiserver (?labelSelector= and ?fieldSelector= on list and watch),
// with the grammar, matching rules and error texts of a v1.32 server:
//   labels: k8s.io/apimachinery@v0.32 pkg/labels/selector.go (Parse, NewRequirement) and
//           pkg/apis/meta/v1/helpers.go (LabelSelectorAsSelector, for spec.selector of Deployments, PDBs, ...);
//   fields: pkg/fields/selector.go (ParseSelector, UnescapeValue) plus the per-kind field labels the server accepts
//           (kubernetes pkg/apis/core/v1/conversion.go, pkg/apis/batch/v1/conversion.go, and for every other kind
//           apimachinery pkg/runtime/conversion.go DefaultMetaV1FieldSelectorConversion) and the values it compares
//           them with (pkg/registry/*/strategy.go *ToSelectableFields).
// Errors: InvalidArgument carrying the real server's message; the API server answers them with 400 BadRequest.
// Thread-safety: immutable values once built; safe to share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace gpuwise::sim {

// A conjunction of label requirements. Three shapes, as upstream:
//   - Everything (default-constructed, Parse(""), FromJson({}) ): no requirement, matches every label set, empty();
//   - Nothing (FromJson(null), i.e. an absent metav1.LabelSelector on a PDB or a Deployment): matches no label set;
//   - requirements sorted by key, all of which must hold.
// Semantics worth remembering: `k!=v` and `k notin (v)` hold when the key is absent; `k` (exists) and `!k` test
// presence only; `k>3`/`k<3` compare base-10 integers and fail when the label is not one.
class LabelSelector {
 public:
  enum class Op { kEquals, kDoubleEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist, kGreaterThan, kLessThan };
  struct Requirement {
    std::string key;
    Op op = Op::kExists;
    std::vector<std::string> values;  // Parse: sorted and unique; FromJson: as given
  };

  LabelSelector() = default;  // Everything
  static LabelSelector Nothing();

  // The string form (`a=b,c in (d,e),!f`), as kubectl -l sends it.
  static base::Result<LabelSelector> Parse(std::string_view text);
  // A metav1.LabelSelector object {matchLabels, matchExpressions[{key, operator: In|NotIn|Exists|DoesNotExist,
  // values}]}; null gives Nothing, an object without requirements gives Everything.
  static base::Result<LabelSelector> FromJson(const nlohmann::json& selector);
  // A plain map selector (Service spec.selector): every pair must match; null or {} gives Everything (callers that
  // treat an empty Service selector as "select nothing" check that themselves). Non-string values are ignored.
  static LabelSelector FromSet(const nlohmann::json& labels);

  // labels: the metadata.labels object, or null/absent for "no labels".
  bool Matches(const nlohmann::json& labels) const;
  bool empty() const { return !nothing_ && requirements_.empty(); }
  bool matches_nothing() const { return nothing_; }
  // Canonical form (`a=b,c in (d,e)`): Parse(String()) selects the same label sets. Nothing prints as "".
  std::string String() const;
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // The value an `=`, `==` or single-value `in` requirement on `key` demands (for an index), if any.
  std::optional<std::string> RequiresExactMatch(std::string_view key) const;

 private:
  bool nothing_ = false;
  std::vector<Requirement> requirements_;
};

// A conjunction of `field=value` / `field==value` / `field!=value` terms over the selectable fields of one resource.
class FieldSelector {
 public:
  struct Requirement {
    std::string field;  // after the server's label conversion (pods: spec.host -> spec.nodeName)
    bool equals = true; // false for !=
    std::string value;  // unescaped
  };

  FieldSelector() = default;  // Everything

  // resource: the plural name ("pods", "events", ...). Kinds without their own field labels (deployments,
  // configmaps, leases, custom resources, ...) accept only metadata.name and metadata.namespace, as upstream.
  // A label the resource does not support is an error with the server's text, e.g. for pods
  // "field label not supported: spec.foo".
  static base::Result<FieldSelector> Parse(std::string_view text, std::string_view resource);

  // obj: the whole object as served. Absent fields compare as "" (pods spec.nodeName of an unscheduled pod).
  bool Matches(const nlohmann::json& obj) const;
  bool empty() const { return requirements_.empty(); }
  // Canonical form with values escaped (`a=b\,c`).
  std::string String() const;
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // The value an `=` term on `field` demands (for an index, e.g. pods by spec.nodeName), if any.
  std::optional<std::string> RequiresExactMatch(std::string_view field) const;

 private:
  std::string resource_;
  std::vector<Requirement> requirements_;
};

}  // namespace gpuwise::sim
