// The three PATCH flavours of the simulated kube-apiserver, applied to an object as served (JSON), with the
// semantics of a v1.32 server (k8s.io/apiserver pkg/endpoints/handlers/patch.go):
//   - ApplyMergePatch: application/merge-patch+json, RFC 7386 as gopkg.in/evanphx/json-patch.v4 MergePatch;
//   - ApplyJsonPatch: application/json-patch+json, RFC 6902 as evanphx/json-patch.v4 Patch.Apply, including its
//     quirks (`replace` of a missing object key adds it; negative array indices count from the end);
//   - ApplyStrategicMergePatch: application/strategic-merge-patch+json as k8s.io/apimachinery
//     pkg/util/strategicpatch (server side: MergeParallelList, IgnoreUnmatchedNulls), with the patchStrategy and
//     patchMergeKey struct tags of the built-in kinds (SupportsStrategicMerge). Lists without a merge strategy are
//     replaced (so are Node spec.taints and PodSpec tolerations, as upstream). Directives: `$patch: replace|delete`
//     in maps and list elements (`merge` is refused, as upstream), `$deleteFromPrimitiveList/<f>`,
//     `$setElementOrder/<f>` (honoured: it orders the merged list), `$retainKeys` (keys not listed are cleared).
//     No directive key survives into the result.
// Errors name the problem with the real server's text where it has one; the code tells the HTTP status the real
// server answers with:
//   kInvalidArgument   -> 400 BadRequest (malformed patch document, bad directive format);
//   kFailedPrecondition-> 422 Invalid (a JSON patch operation that does not apply, e.g. a failed `test`);
//   kResourceExhausted -> 413 (a JSON patch of more than 10,000 operations);
//   kInternal          -> 500 (strategic merge errors the real server passes through untyped, e.g. a list
//                         element without its merge key: "map: map[image:x] does not contain declared merge key:
//                         name").
// Never throws. Pure functions: thread-safe.
#pragma once

#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace gpuwise::sim {

// original: the current object (a JSON object). Returns the patched object.
base::Result<nlohmann::json> ApplyMergePatch(const nlohmann::json& original, std::string_view patch);
base::Result<nlohmann::json> ApplyJsonPatch(const nlohmann::json& original, std::string_view patch);

// kind: the object's kind ("Pod", "Deployment", ...). For a kind SupportsStrategicMerge does not know, this applies
// merge-patch semantics; the real server refuses strategic merge for custom resources with 415
// UnsupportedMediaType, so a caller that serves those checks SupportsStrategicMerge first.
base::Result<nlohmann::json> ApplyStrategicMergePatch(const nlohmann::json& original, std::string_view patch,
                                                      std::string_view kind);

// The built-in kinds whose strategic-merge schema is known here: Pod, Deployment, StatefulSet, DaemonSet,
// ReplicaSet, Job, CronJob, Node, Service, ConfigMap, Secret, Namespace, PodDisruptionBudget,
// HorizontalPodAutoscaler, Event, Endpoints, EndpointSlice, Lease.
bool SupportsStrategicMerge(std::string_view kind);

}  // namespace gpuwise::sim
