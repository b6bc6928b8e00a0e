// The three PATCH flavours as kubectl sends them (label, cordon, set image, patch --type=merge|json|strategic),
// checked against the results a v1.32 server gives. Cases marked "upstream" are from k8s.io/apimachinery v0.32
// pkg/util/strategicpatch/patch_test.go (customStrategicMergePatchTestCaseData) and evanphx/json-patch v4.
#include "sim/kube_patch.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gpuwise::sim {
namespace {

using nlohmann::json;

json Deployment() {
  return json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "finalizers": ["a", "b"]},
    "spec": {"replicas": 2,
      "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
      "template": {"metadata": {"labels": {"app": "web"}, "creationTimestamp": null},
        "spec": {"containers": [
          {"name": "app", "image": "app:v1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
           "ports": [{"containerPort": 8080, "protocol": "TCP"}]},
          {"name": "sidecar", "image": "proxy:v1"}],
          "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}}}})");
}

json Apply(const base::Result<json>& r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : json();
}

std::vector<std::string> Names(const json& list) {
  std::vector<std::string> names;
  for (const json& item : list) names.push_back(item.value("name", item.dump()));
  return names;
}

// ---------------------------------------------------------------------------------------------------------------
// Merge patch (RFC 7386)

TEST(KubePatchMerge, KubectlLabelAddsAndRemovesLabels) {
  const json node = {{"metadata", {{"name", "n1"}, {"labels", {{"zone", "a"}, {"old", "x"}}}}}};
  // kubectl label node n1 a=b old-
  const json out = Apply(ApplyMergePatch(node, R"({"metadata":{"labels":{"a":"b","old":null}}})"));
  EXPECT_EQ(out["metadata"]["labels"], json({{"zone", "a"}, {"a", "b"}}));
  EXPECT_EQ(out["metadata"]["name"], "n1");
}

TEST(KubePatchMerge, ListsAreReplacedAndNewObjectsLoseTheirNulls) {
  const json out = Apply(ApplyMergePatch(
      Deployment(), R"({"spec":{"replicas":5,"template":{"spec":{"containers":[{"name":"only"}]}}},"x":{"a":null,"b":1}})"));
  EXPECT_EQ(out["spec"]["replicas"], 5);
  EXPECT_EQ(Names(out["spec"]["template"]["spec"]["containers"]), std::vector<std::string>{"only"});
  EXPECT_EQ(out["x"], json({{"b", 1}}));
  EXPECT_EQ(out["spec"]["strategy"], Deployment()["spec"]["strategy"]);
}

TEST(KubePatchMerge, BadDocumentsAreBadRequests) {
  for (const char* bad : {"null", "{", "3", "\"x\""}) {
    auto r = ApplyMergePatch(Deployment(), bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), base::Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "Invalid JSON Patch");
  }
  EXPECT_EQ(ApplyMergePatch(Deployment(), "[]").status().code(), base::Code::kInvalidArgument);
}

// Random JSON objects without nulls (a merge patch cannot set null) and a merge patch that turns a into b.
rc::Gen<json> GenValue(int depth);

rc::Gen<json> GenObject(int depth) {
  return rc::gen::exec([depth] {
    json obj = json::object();
    const int n = *rc::gen::inRange(0, 4);
    for (int i = 0; i < n; ++i) obj[*rc::gen::elementOf(std::vector<std::string>{"a", "b", "c", "d"})] = *GenValue(depth);
    return obj;
  });
}

rc::Gen<json> GenValue(int depth) {
  return rc::gen::exec([depth]() -> json {
    switch (*rc::gen::inRange(0, depth > 2 ? 4 : 6)) {
      case 0: return *rc::gen::inRange(-3, 4);
      case 1: return *rc::gen::elementOf(std::vector<std::string>{"x", "y", ""});
      case 2: return *rc::gen::arbitrary<bool>();
      case 3: return json::array({*rc::gen::inRange(0, 3)});
      default: return *GenObject(depth + 1);
    }
  });
}

json MergeDiff(const json& a, const json& b) {
  json patch = json::object();
  for (const auto& [k, v] : a.items()) {
    if (!b.contains(k)) patch[k] = nullptr;
  }
  for (const auto& [k, v] : b.items()) {
    if (a.contains(k) && a[k].is_object() && v.is_object()) {
      json sub = MergeDiff(a[k], v);
      if (!sub.empty()) patch[k] = sub;
    } else if (!a.contains(k) || a[k] != v) {
      patch[k] = v;
    }
  }
  return patch;
}

TEST(KubePatchMerge, PropertyMergeOfDiffGivesTheTarget) {
  const bool ok = rc::check([] {
    const json a = *GenObject(0);
    const json b = *GenObject(0);
    auto out = ApplyMergePatch(a, MergeDiff(a, b).dump());
    RC_ASSERT(out.ok());
    RC_ASSERT(*out == b);
  });
  EXPECT_TRUE(ok);
}

// ---------------------------------------------------------------------------------------------------------------
// JSON patch (RFC 6902)

TEST(KubePatchJson, KubectlPatchTypeJson) {
  const json out = Apply(ApplyJsonPatch(Deployment(), R"([
      {"op": "test", "path": "/spec/replicas", "value": 2},
      {"op": "replace", "path": "/spec/replicas", "value": 3},
      {"op": "add", "path": "/metadata/labels/tier", "value": "fe"},
      {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "last"}},
      {"op": "add", "path": "/spec/template/spec/containers/0", "value": {"name": "first"}},
      {"op": "remove", "path": "/spec/template/spec/containers/-2"},
      {"op": "move", "from": "/metadata/labels/tier", "path": "/metadata/labels/layer"},
      {"op": "copy", "from": "/metadata/name", "path": "/metadata/annotations"}])"));
  EXPECT_EQ(out["spec"]["replicas"], 3);
  EXPECT_EQ(out["metadata"]["labels"], json({{"app", "web"}, {"layer", "fe"}}));
  // Negative indices count from the end (evanphx v4 SupportNegativeIndices): -2 of 4 removed "sidecar".
  EXPECT_EQ(Names(out["spec"]["template"]["spec"]["containers"]), (std::vector<std::string>{"first", "app", "last"}));
  EXPECT_EQ(out["metadata"]["annotations"], "web");
  // evanphx v4 quirk: `replace` of a missing object member adds it.
  EXPECT_EQ(Apply(ApplyJsonPatch(Deployment(), R"([{"op":"replace","path":"/metadata/new","value":1}])"))["metadata"]["new"],
            1);
}

TEST(KubePatchJson, OperationsThatDoNotApplyAre422WithUpstreamText) {
  const json d = Deployment();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([{"op":"test","path":"/spec/replicas","value":5}])", "testing value /spec/replicas failed: test failed"},
      {R"([{"op":"remove","path":"/metadata/labels/x"}])",
       "error in remove for path: '/metadata/labels/x': Unable to remove nonexistent key: x: missing value"},
      {R"([{"op":"add","path":"/a/b/c","value":1}])",
       "add operation does not apply: doc is missing path: \"/a/b/c\": missing value"},
      {R"([{"op":"replace","path":"/nope/x","value":1}])",
       "replace operation does not apply: doc is missing path: /nope/x: missing value"},
      {R"([{"op":"add","path":"/metadata/finalizers/9","value":"z"}])",
       "error in add for path: '/metadata/finalizers/9': Unable to access invalid index: 9: invalid index referenced"},
      {R"([{"op":"add","path":"/metadata/finalizers/x","value":"z"}])",
       "error in add for path: '/metadata/finalizers/x': value was not a proper array index: 'x': strconv.Atoi: "
       "parsing \"x\": invalid syntax"},
      {R"([{"op":"frob","path":"/a"}])", "Unexpected kind: frob"},
      {R"([{"path":"/a"}])", "Unexpected kind: unknown"},
      {R"([{"op":"add","value":1}])", "add operation failed to decode path: missing value"},
  };
  for (const auto& [patch, message] : cases) {
    auto r = ApplyJsonPatch(d, patch);
    ASSERT_FALSE(r.ok()) << patch;
    EXPECT_EQ(r.status().code(), base::Code::kFailedPrecondition) << patch;
    EXPECT_EQ(r.status().message(), message) << patch;
  }
  // A failed operation leaves nothing half-applied: the caller still holds the original.
  EXPECT_EQ(d, Deployment());
}

TEST(KubePatchJson, MalformedPatchesAre400AndHugeOnes413) {
  auto obj = ApplyJsonPatch(Deployment(), R"({"op":"add"})");
  ASSERT_FALSE(obj.ok());
  EXPECT_EQ(obj.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(obj.status().message(), "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  auto elem = ApplyJsonPatch(Deployment(), R"(["x"])");
  ASSERT_FALSE(elem.ok());
  EXPECT_EQ(elem.status().message(), "json: cannot unmarshal string into Go value of type jsonpatch.Operation");
  std::string many = "[";
  for (int i = 0; i < 10001; ++i) many += std::string(i ? "," : "") + R"({"op":"test","path":"/kind","value":"Deployment"})";
  auto huge = ApplyJsonPatch(Deployment(), many + "]");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), base::Code::kResourceExhausted);
  EXPECT_EQ(huge.status().message(), "The allowed maximum operations in a JSON patch is 10000, got 10001");
}

TEST(KubePatchJson, SelfDoublingCopiesStopAtTheSizeLimit) {
  std::string patch = "[";
  for (int i = 0; i < 64; ++i) {
    patch += std::string(i ? "," : "") + R"({"op":"copy","from":"/spec","path":"/spec/x)" + std::to_string(i) + "\"}";
  }
  auto r = ApplyJsonPatch(Deployment(), patch + "]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("exceeding the limit"), std::string::npos) << r.status().message();
}

TEST(KubePatchJson, PropertyDiffAppliesToTheTarget) {
  const bool ok = rc::check([] {
    json a = *GenObject(0);
    json b = *GenObject(0);
    if (*rc::gen::arbitrary<bool>()) b["n"] = nullptr;  // null members are ordinary values here
    auto out = ApplyJsonPatch(a, json::diff(a, b).dump());
    RC_ASSERT(out.ok());
    RC_ASSERT(*out == b);
  });
  EXPECT_TRUE(ok);
}

// ---------------------------------------------------------------------------------------------------------------
// Strategic merge patch

TEST(KubePatchStrategic, KubectlCordonSetsUnschedulable) {
  const json node = {{"metadata", {{"name", "n1"}}}, {"spec", {{"podCIDR", "10.0.0.0/24"}}}};
  const json out = Apply(ApplyStrategicMergePatch(node, R"({"spec":{"unschedulable":true}})", "Node"));
  EXPECT_EQ(out["spec"], json({{"podCIDR", "10.0.0.0/24"}, {"unschedulable", true}}));
}

TEST(KubePatchStrategic, ContainerImageChangeKeepsTheOtherContainers) {
  // kubectl set image deployment/web app=app:v2
  const json out = Apply(ApplyStrategicMergePatch(
      Deployment(), R"({"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:v2"}]}}}})", "Deployment"));
  const json& containers = out["spec"]["template"]["spec"]["containers"];
  EXPECT_EQ(Names(containers), (std::vector<std::string>{"app", "sidecar"}));
  EXPECT_EQ(containers[0]["image"], "app:v2");
  EXPECT_EQ(containers[0]["env"], Deployment()["spec"]["template"]["spec"]["containers"][0]["env"]);
  EXPECT_EQ(containers[1]["image"], "proxy:v1");
  EXPECT_TRUE(out["spec"]["template"]["metadata"]["creationTimestamp"].is_null());  // untouched nulls stay
}

TEST(KubePatchStrategic, NestedListsMergeByTheirKeys) {
  const json out = Apply(ApplyStrategicMergePatch(Deployment(), R"({"spec":{"template":{"spec":{"containers":[
      {"name":"app","env":[{"name":"B","value":"20"},{"name":"A","$patch":"delete"}],
       "ports":[{"containerPort":9090}]}]}}}})", "Deployment"));
  const json& app = out["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(app["env"], json::parse(R"([{"name":"B","value":"20"}])"));
  // A port the server does not have goes first (strategicpatch mergeSortedSlice), the known one keeps its fields.
  EXPECT_EQ(app["ports"], json::parse(R"([{"containerPort":9090},{"containerPort":8080,"protocol":"TCP"}])"));
}

TEST(KubePatchStrategic, ListsWithoutAStrategyAreReplaced) {
  // PodSpec.tolerations and NodeSpec.taints carry no patchStrategy tag.
  const json out = Apply(ApplyStrategicMergePatch(
      Deployment(), R"({"spec":{"template":{"spec":{"tolerations":[{"key":"x","operator":"Exists"}]}}}})",
      "Deployment"));
  EXPECT_EQ(out["spec"]["template"]["spec"]["tolerations"], json::parse(R"([{"key":"x","operator":"Exists"}])"));
  const json node = json::parse(R"({"spec":{"taints":[{"key":"a","effect":"NoSchedule"}]}})");
  const json tainted =
      Apply(ApplyStrategicMergePatch(node, R"({"spec":{"taints":[{"key":"b","effect":"NoSchedule"}]}})", "Node"));
  EXPECT_EQ(tainted["spec"]["taints"], json::parse(R"([{"key":"b","effect":"NoSchedule"}])"));
}

TEST(KubePatchStrategic, UpstreamCustomCases) {
  struct Case {
    const char* description;
    const char* original;
    const char* patch;
    const char* want;
  };
  // upstream customStrategicMergePatchTestCaseData, mapped onto Pod fields: mergingList -> spec.containers
  // (key name), mergingIntList -> metadata.finalizers (a merged primitive list), simpleMap -> metadata.labels.
  const std::vector<Case> cases = {
      {"unique scalars when merging lists", R"({"metadata":{"finalizers":["1","2"]}})",
       R"({"metadata":{"finalizers":["2","3"]}})", R"({"metadata":{"finalizers":["1","2","3"]}})"},
      {"delete map from nested map", R"({"metadata":{"labels":{"key1":"1","key2":"1"}}})",
       R"({"metadata":{"labels":{"$patch":"delete"}}})", R"({"metadata":{"labels":{}}})"},
      {"delete all items from merging list", R"({"spec":{"containers":[{"name":"1"},{"name":"2"}]}})",
       R"({"spec":{"containers":[{"$patch":"replace"}]}})", R"({"spec":{"containers":[]}})"},
      {"merge empty merging lists", R"({"spec":{"containers":[]}})", R"({"spec":{"containers":[]}})",
       R"({"spec":{"containers":[]}})"},
      {"delete all keys from map", R"({"metadata":{"labels":{"name":"1","value":"1"}}})",
       R"({"metadata":{"labels":{"$patch":"replace"}}})", R"({"metadata":{"labels":{}}})"},
      {"add key and delete all keys from map", R"({"metadata":{"labels":{"name":"1","value":"1"}}})",
       R"({"metadata":{"labels":{"other":"a","$patch":"replace"}}})", R"({"metadata":{"labels":{"other":"a"}}})"},
      {"delete all duplicate entries in a merging list",
       R"({"spec":{"containers":[{"name":"1"},{"name":"1"},{"name":"2","image":"a"},{"name":"3"},{"name":"3"}]}})",
       R"({"spec":{"containers":[{"name":"1","$patch":"delete"},{"name":"3","$patch":"delete"}]}})",
       R"({"spec":{"containers":[{"name":"2","image":"a"}]}})"},
      {"preserve the order from the patch in a merging list",
       R"({"spec":{"containers":[{"name":"1"},{"name":"2","image":"b"},{"name":"3"}]}})",
       R"({"spec":{"containers":[{"name":"3","image":"c"},{"name":"1","image":"a"},{"name":"2","tty":true}]}})",
       R"({"spec":{"containers":[{"name":"3","image":"c"},{"name":"1","image":"a"},{"name":"2","image":"b","tty":true}]}})"},
      {"preserve the order from the patch in a merging list 2",
       R"({"spec":{"containers":[{"name":"1"},{"name":"2","image":"b"},{"name":"3"}]}})",
       R"({"spec":{"containers":[{"name":"3","image":"c"},{"name":"1","image":"a"}]}})",
       R"({"spec":{"containers":[{"name":"2","image":"b"},{"name":"3","image":"c"},{"name":"1","image":"a"}]}})"},
      {"preserve the order from the patch in a merging int list", R"({"metadata":{"finalizers":["1","2","3"]}})",
       R"({"metadata":{"finalizers":["3","1"]}})", R"({"metadata":{"finalizers":["2","3","1"]}})"},
      {"$deleteFromPrimitiveList should delete item from a list with merge patch strategy",
       R"({"metadata":{"finalizers":["a","b","c","b"]}})", R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}})",
       R"({"metadata":{"finalizers":["a","c"]}})"},
      {"$deleteFromPrimitiveList of nonexistent item does not add it", R"({"metadata":{"finalizers":["a"]}})",
       R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["z"]}})", R"({"metadata":{"finalizers":["a"]}})"},
      {"add and delete items in lists of scalars (two-way patch)", R"({"metadata":{"finalizers":["1","2","3"]}})",
       R"({"metadata":{"$setElementOrder/finalizers":["1","2","4"],"$deleteFromPrimitiveList/finalizers":["3"],
           "finalizers":["4"]}})",
       R"({"metadata":{"finalizers":["1","2","4"]}})"},
      {"add map and delete map from merging list (three-way patch)",
       R"({"spec":{"containers":[{"name":"1"},{"name":"2","image":"b"},{"name":"4","image":"c"}]}})",
       R"({"spec":{"$setElementOrder/containers":[{"name":"2"},{"name":"3"}],
           "containers":[{"name":"3"},{"name":"1","$patch":"delete"}]}})",
       R"({"spec":{"containers":[{"name":"2","image":"b"},{"name":"4","image":"c"},{"name":"3"}]}})"},
  };
  for (const Case& c : cases) {
    auto out = ApplyStrategicMergePatch(json::parse(c.original), c.patch, "Pod");
    ASSERT_TRUE(out.ok()) << c.description << ": " << out.status().ToString();
    EXPECT_EQ(*out, json::parse(c.want)) << c.description << "\n got: " << out->dump();
  }
}

TEST(KubePatchStrategic, RetainKeysClearsTheOtherStrategyFields) {
  // kubectl apply switching a Deployment to Recreate sends $retainKeys for spec.strategy.
  const json out = Apply(ApplyStrategicMergePatch(
      Deployment(), R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})", "Deployment"));
  EXPECT_EQ(out["spec"]["strategy"], json({{"type", "Recreate"}}));
  auto bad = ApplyStrategicMergePatch(
      Deployment(), R"({"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{}}}})", "Deployment");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "invalid patch format of retainKeys");
}

TEST(KubePatchStrategic, KindSpecificFields) {
  // Service ports merge on "port"; a PDB's selector is replaced whole; ownerReferences merge on "uid".
  const json svc = json::parse(R"({"spec":{"ports":[{"port":80,"name":"http"},{"port":443,"name":"https"}]}})");
  const json svc_out =
      Apply(ApplyStrategicMergePatch(svc, R"({"spec":{"ports":[{"port":443,"targetPort":8443}]}})", "Service"));
  EXPECT_EQ(svc_out["spec"]["ports"][1], json::parse(R"({"port":443,"name":"https","targetPort":8443})"));
  EXPECT_EQ(svc_out["spec"]["ports"].size(), 2u);
  const json pdb = json::parse(R"({"spec":{"selector":{"matchLabels":{"a":"b"}},"minAvailable":1}})");
  const json pdb_out = Apply(
      ApplyStrategicMergePatch(pdb, R"({"spec":{"selector":{"matchLabels":{"c":"d"}}}})", "PodDisruptionBudget"));
  EXPECT_EQ(pdb_out["spec"]["selector"], json::parse(R"({"matchLabels":{"c":"d"}})"));
  const json owned = json::parse(R"({"metadata":{"ownerReferences":[{"uid":"u1","name":"rs-1"}]}})");
  const json owned_out = Apply(ApplyStrategicMergePatch(
      owned, R"({"metadata":{"ownerReferences":[{"uid":"u1","blockOwnerDeletion":true}]}})", "Pod"));
  EXPECT_EQ(owned_out["metadata"]["ownerReferences"],
            json::parse(R"([{"uid":"u1","name":"rs-1","blockOwnerDeletion":true}])"));
  // CronJob pod templates live under spec.jobTemplate.spec.template.
  const json cron = json::parse(
      R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b"}]}}}}}})");
  const json cron_out = Apply(ApplyStrategicMergePatch(
      cron, R"({"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"2"}]}}}}}})",
      "CronJob"));
  EXPECT_EQ(Names(cron_out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]),
            (std::vector<std::string>{"a", "b"}));
}

TEST(KubePatchStrategic, NoDirectiveReachesTheResult) {
  const json out = Apply(ApplyStrategicMergePatch(
      json::object(), R"({"metadata":{"labels":{"a":"b","gone":{"$patch":"delete"}},"$setElementOrder/x":[]},
                          "spec":{"containers":[{"name":"c","env":[{"name":"E","$patch":"delete"}]}]}})",
      "Pod"));
  EXPECT_EQ(out, json::parse(R"({"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","env":[]}]}})"));
}

TEST(KubePatchStrategic, ErrorsAsTheServerClassifiesThem) {
  const json d = Deployment();
  auto no_key = ApplyStrategicMergePatch(d, R"({"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}})",
                                         "Deployment");
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().code(), base::Code::kInternal);
  EXPECT_EQ(no_key.status().message(), "map: map[image:x] does not contain declared merge key: name");
  auto map_merge = ApplyStrategicMergePatch(d, R"({"metadata":{"labels":{"$patch":"merge","a":"b"}}})", "Deployment");
  ASSERT_FALSE(map_merge.ok());
  EXPECT_EQ(map_merge.status().message(), "unknown patch type: merge in map: map[$patch:merge a:b]");
  auto list_merge = ApplyStrategicMergePatch(
      d, R"({"spec":{"template":{"spec":{"containers":[{"name":"app","$patch":"merge"}]}}}})", "Deployment");
  ASSERT_FALSE(list_merge.ok());
  EXPECT_EQ(list_merge.status().message(), "merging lists cannot yet be specified in the patch");
  auto lists_of_lists = ApplyStrategicMergePatch(json::parse(R"({"metadata":{"finalizers":[["a"]]}})"),
                                                 R"({"metadata":{"finalizers":[["b"]]}})", "Pod");
  ASSERT_FALSE(lists_of_lists.ok());
  EXPECT_EQ(lists_of_lists.status().code(), base::Code::kFailedPrecondition);
  EXPECT_EQ(lists_of_lists.status().message(), "lists of lists are not supported");
  auto bad_order = ApplyStrategicMergePatch(d, R"({"metadata":{"$setElementOrderfinalizers":[]}})", "Deployment");
  ASSERT_FALSE(bad_order.ok());
  EXPECT_EQ(bad_order.status().code(), base::Code::kInvalidArgument);
  EXPECT_EQ(bad_order.status().message(), "invalid patch format of setElementOrder list");
  auto not_object = ApplyStrategicMergePatch(d, "[1]", "Deployment");
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(not_object.status().message(), "json: cannot unmarshal array into Go value of type map[string]interface {}");
}

TEST(KubePatchStrategic, UnknownKindsFallBackToMergePatch) {
  EXPECT_TRUE(SupportsStrategicMerge("Deployment"));
  EXPECT_FALSE(SupportsStrategicMerge("Widget"));
  const json cr = json::parse(R"({"spec":{"containers":[{"name":"a"},{"name":"b"}]}})");
  const json out = Apply(ApplyStrategicMergePatch(cr, R"({"spec":{"containers":[{"name":"a","image":"x"}]}})", "Widget"));
  EXPECT_EQ(out["spec"]["containers"], json::parse(R"([{"name":"a","image":"x"}])"));
}

// Objects and patches without lists or "$" keys: a strategic merge patch is a merge patch.
rc::Gen<json> GenPatch(int depth) {
  return rc::gen::exec([depth] {
    json obj = json::object();
    const int n = *rc::gen::inRange(0, 4);
    for (int i = 0; i < n; ++i) {
      const std::string key = *rc::gen::elementOf(std::vector<std::string>{"a", "b", "c", "d"});
      switch (*rc::gen::inRange(0, depth > 2 ? 3 : 4)) {
        case 0: obj[key] = nullptr; break;
        case 1: obj[key] = *rc::gen::inRange(0, 3); break;
        case 2: obj[key] = *rc::gen::elementOf(std::vector<std::string>{"x", "y"}); break;
        default: obj[key] = *GenPatch(depth + 1); break;
      }
    }
    return obj;
  });
}

json DropArrays(json v) {
  if (!v.is_object()) return v;
  json out = json::object();
  for (auto& [k, e] : v.items()) {
    if (!e.is_array()) out[k] = DropArrays(e);
  }
  return out;
}

TEST(KubePatchStrategic, PropertyWithoutListsItIsAMergePatch) {
  const bool ok = rc::check([] {
    const json original = DropArrays(*GenObject(0));
    const std::string patch = (*GenPatch(0)).dump();
    auto smp = ApplyStrategicMergePatch(original, patch, "Pod");
    auto merge = ApplyMergePatch(original, patch);
    RC_ASSERT(smp.ok());
    RC_ASSERT(merge.ok());
    RC_ASSERT(*smp == *merge);
  });
  EXPECT_TRUE(ok);
}

TEST(KubePatchStrategic, PropertyMergingAListWithItselfChangesNothing) {
  // Re-sending the containers the server already has (what a no-op `kubectl apply` boils down to) is a no-op.
  const bool ok = rc::check([] {
    const int n = *rc::gen::inRange(0, 6);
    json containers = json::array();
    for (int i = 0; i < n; ++i) containers.push_back({{"name", "c" + std::to_string(i)}, {"image", *rc::gen::inRange(0, 3)}});
    const json pod = {{"spec", {{"containers", containers}}}};
    auto out = ApplyStrategicMergePatch(pod, pod.dump(), "Pod");
    RC_ASSERT(out.ok());
    RC_ASSERT(*out == pod);
  });
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace gpuwise::sim
