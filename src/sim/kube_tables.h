// Server-side Table conversion (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`) as kube-apiserver v1.31
// does it, so that `kubectl get`, `get -o wide` and `get --watch` print the same columns and cells as against a
// real cluster. Follows kubernetes/kubernetes pkg/printers/internalversion/printers.go (column definitions and
// the print* functions), pkg/printers/storage/storage.go (the server always generates every column, `Wide: true`;
// kubectl drops priority-1 columns itself unless `-o wide`), apiserver pkg/registry/rest/table.go (the default
// Name / "Created At" convertor for resources without printers) and apiserver pkg/endpoints/handlers/response.go
// (includeObject: Metadata is the default; a watch sends columnDefinitions with its first event only, later
// events carry `"columnDefinitions": null`). kubectl sends no includeObject for a plain `get` or `get -o wide`
// and `includeObject=Object` with `--sort-by` (kubectl pkg/cmd/get/get.go transformRequests).
// Thread-safety: pure functions of their arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace gpuwise::sim {

// What each row's `object` carries (`?includeObject=None|Metadata|Object`).
enum class IncludeObject {
  kNone,      // "object": null
  kMetadata,  // {"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{...}} (server default)
  kObject,    // the full object as stored
};

// Parses the query parameter; "" (absent) is Metadata. Anything else than None/Metadata/Object is
// InvalidArgument with the server's message (`unrecognized includeObject value: "x"`, a 400 BadRequest).
base::Result<IncludeObject> ParseIncludeObject(std::string_view value);

// The Table of `objects` (API JSON, as served) of `resource`: "pods", "nodes", "namespaces", "events", "services",
// "endpoints", "configmaps", "endpointslices", "deployments", "statefulsets", "replicasets", "daemonsets", "jobs",
// "cronjobs", "horizontalpodautoscalers", "poddisruptionbudgets", "leases"; any other resource gets the default
// convertor (Name, "Created At" as RFC 3339). with_headers=false gives `"columnDefinitions": null` (watch events
// after the first). Ages are relative to now_unix_s. Returns apiVersion "meta.k8s.io/v1", kind "Table",
// "metadata": {} for the caller to fill (resourceVersion, continue), columnDefinitions and rows.
nlohmann::json KubeTable(std::string_view resource, const std::vector<const nlohmann::json*>& objects,
                         IncludeObject include, bool with_headers, std::int64_t now_unix_s);

// apimachinery pkg/util/duration HumanDuration, the AGE format: "45s", "119s", "2m30s", "10m", "3h5m", "8h",
// "2d5h", "8d", "2y30d", "8y"; "0s" for -2s < d < 0 (clock skew), "<invalid>" below.
std::string HumanDuration(std::chrono::microseconds d);

}  // namespace gpuwise::sim
