// Label and field selectors as kubectl -l / --field-selector and controllers use them: grammar, matching and the
// real server's error texts. Cases marked "upstream" are from k8s.io/apimachinery v0.32
// pkg/labels/selector_test.go (TestSelectorParse, TestSelectorMatches) and pkg/fields/selector_test.go.
#include "sim/kube_selectors.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gpuwise::sim {
namespace {

using nlohmann::json;

bool LabelMatch(std::string_view selector, const json& labels) {
  auto s = LabelSelector::Parse(selector);
  EXPECT_TRUE(s.ok()) << selector << ": " << s.status().ToString();
  return s.ok() && s->Matches(labels);
}

std::string LabelError(std::string_view selector) {
  auto s = LabelSelector::Parse(selector);
  EXPECT_FALSE(s.ok()) << selector << " parsed as " << (s.ok() ? s->String() : "");
  if (s.ok()) return "";
  EXPECT_EQ(s.status().code(), base::Code::kInvalidArgument);
  return s.status().message();
}

TEST(KubeSelectorsLabel, GoodStringsRoundTripWithoutSpaces) {
  // upstream TestSelectorParse: String() is the input without spaces.
  for (const char* text : {"x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"}) {
    auto s = LabelSelector::Parse(text);
    ASSERT_TRUE(s.ok()) << text << ": " << s.status().ToString();
    std::string want = text;
    std::erase(want, ' ');
    EXPECT_EQ(s->String(), want);
  }
  // Requirements are sorted by key, so equal selectors print the same (upstream TestDeterministicParse).
  EXPECT_EQ(LabelSelector::Parse("x=a,a=x")->String(), "a=x,x=a");
  EXPECT_EQ(LabelSelector::Parse("env in (prod, dev),  tier notin (cache)")->String(),
            "env in (dev,prod),tier notin (cache)");
}

TEST(KubeSelectorsLabel, MatchesAsUpstream) {
  // upstream TestSelectorMatches.
  EXPECT_TRUE(LabelMatch("", {{"x", "y"}}));
  EXPECT_TRUE(LabelMatch("x=y", {{"x", "y"}}));
  EXPECT_TRUE(LabelMatch("x=y,z=w", {{"x", "y"}, {"z", "w"}}));
  EXPECT_TRUE(LabelMatch("x!=y,z!=w", {{"x", "z"}, {"z", "a"}}));
  EXPECT_TRUE(LabelMatch("notin=in", {{"notin", "in"}}));  // keywords are identifiers in value position
  EXPECT_TRUE(LabelMatch("x", {{"x", "z"}}));
  EXPECT_TRUE(LabelMatch("!x", {{"y", "z"}}));
  EXPECT_TRUE(LabelMatch("x>1", {{"x", "2"}}));
  EXPECT_TRUE(LabelMatch("x<1", {{"x", "0"}}));
  EXPECT_FALSE(LabelMatch("x=z", json::object()));
  EXPECT_FALSE(LabelMatch("x=y", {{"x", "z"}}));
  EXPECT_FALSE(LabelMatch("x=y,z=w", {{"x", "w"}, {"z", "w"}}));
  EXPECT_FALSE(LabelMatch("x!=y,z!=w", {{"x", "z"}, {"z", "w"}}));
  EXPECT_FALSE(LabelMatch("x", {{"y", "z"}}));
  EXPECT_FALSE(LabelMatch("!x", {{"x", "z"}}));
  EXPECT_FALSE(LabelMatch("x>1", {{"x", "0"}}));
  EXPECT_FALSE(LabelMatch("x<1", {{"x", "2"}}));
  EXPECT_FALSE(LabelMatch("x>1", {{"x", "two"}}));  // not an integer: no match
  // Set-based: `notin` and `!=` hold when the key is absent; `in` needs it.
  EXPECT_TRUE(LabelMatch("env in (prod,dev)", {{"env", "dev"}}));
  EXPECT_FALSE(LabelMatch("env in (prod,dev)", json::object()));
  EXPECT_TRUE(LabelMatch("env notin (prod)", json::object()));
  EXPECT_TRUE(LabelMatch("env!=prod", nullptr));
  EXPECT_FALSE(LabelMatch("env notin (prod,dev)", {{"env", "prod"}}));
  EXPECT_TRUE(LabelMatch("env in ()", {{"env", ""}}));  // "()" is the set {""}
  EXPECT_TRUE(LabelMatch("app.kubernetes.io/name=vllm,gpu", {{"app.kubernetes.io/name", "vllm"}, {"gpu", "true"}}));
}

TEST(KubeSelectorsLabel, ErrorsCarryTheServersText) {
  // upstream testBadStrings.
  for (const char* bad : {"x=a||y=b", "x==a==b", "!x=a", "x<a"}) LabelError(bad);
  EXPECT_EQ(LabelError("x y"), "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt");
  EXPECT_EQ(LabelError("x=a b"), "found 'b', expected: ',' or 'end of string'");
  EXPECT_EQ(LabelError(",x"), "found ',', expected: !, identifier, or 'end of string'");
  EXPECT_EQ(LabelError("x=a,"), "found '', expected: identifier after ','");
  EXPECT_EQ(LabelError("x in (a"), "unable to parse requirement: found '', expected: ',' or ')'");
  EXPECT_EQ(LabelError("x in a"), "unable to parse requirement: found 'a' expected: '('");
  EXPECT_EQ(LabelError("-x=a"),
            "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric "
            "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
            "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  EXPECT_EQ(LabelError("x=" + std::string(64, 'a')),
            "unable to parse requirement: values[0][x]: Invalid value: \"" + std::string(64, 'a') +
                "\": must be no more than 63 characters");
  EXPECT_EQ(LabelError("x>a"),
            "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must "
            "be an integer");
  EXPECT_EQ(LabelError("Example.com/x"),
            "unable to parse requirement: <nil>: Invalid value: \"Example.com/x\": prefix part a lowercase RFC 1123 "
            "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
}

TEST(KubeSelectorsLabel, FromJsonFollowsLabelSelectorAsSelector) {
  // A nil selector (PDB/Deployment without spec.selector) selects nothing; an empty one selects everything.
  auto nothing = LabelSelector::FromJson(nullptr);
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->Matches({{"a", "b"}}));
  EXPECT_FALSE(nothing->empty());
  auto everything = LabelSelector::FromJson(json::object());
  ASSERT_TRUE(everything.ok());
  EXPECT_TRUE(everything->Matches(nullptr));
  EXPECT_TRUE(everything->empty());

  auto sel = LabelSelector::FromJson(json::parse(R"({"matchLabels": {"app": "vllm"},
      "matchExpressions": [{"key": "tier", "operator": "In", "values": ["gpu", "cpu"]},
                           {"key": "canary", "operator": "DoesNotExist"}]})"));
  ASSERT_TRUE(sel.ok()) << sel.status().ToString();
  EXPECT_TRUE(sel->Matches({{"app", "vllm"}, {"tier", "gpu"}}));
  EXPECT_FALSE(sel->Matches({{"app", "vllm"}, {"tier", "gpu"}, {"canary", "1"}}));
  EXPECT_FALSE(sel->Matches({{"app", "vllm"}}));
  EXPECT_EQ(sel->String(), "app=vllm,!canary,tier in (cpu,gpu)");
  EXPECT_EQ(sel->RequiresExactMatch("app"), "vllm");
  EXPECT_EQ(sel->RequiresExactMatch("tier"), std::nullopt);

  auto bad_op = LabelSelector::FromJson(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Gt"}]})"));
  ASSERT_FALSE(bad_op.ok());
  EXPECT_EQ(bad_op.status().message(), "\"Gt\" is not a valid label selector operator");
  auto empty_in =
      LabelSelector::FromJson(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})"));
  ASSERT_FALSE(empty_in.ok());
  EXPECT_EQ(empty_in.status().message(),
            "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty");
  auto exists_values = LabelSelector::FromJson(
      json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})"));
  ASSERT_FALSE(exists_values.ok());
  EXPECT_EQ(exists_values.status().message(),
            "values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist");
}

TEST(KubeSelectorsLabel, FromSetIsAnExactMatchOnEveryPair) {
  const LabelSelector s = LabelSelector::FromSet({{"app", "web"}, {"tier", "fe"}});
  EXPECT_TRUE(s.Matches({{"app", "web"}, {"tier", "fe"}, {"x", "y"}}));
  EXPECT_FALSE(s.Matches({{"app", "web"}}));
  EXPECT_TRUE(LabelSelector::FromSet(nullptr).empty());
}

// Random selectors over a small vocabulary, printed as kubectl would send them.
rc::Gen<std::string> GenSelectorText() {
  return rc::gen::exec([] {
    static const std::vector<std::string> kKeys = {"a", "b", "c", "ex.com/d"};
    static const std::vector<std::string> kValues = {"", "1", "2", "x"};
    const int n = *rc::gen::inRange(0, 5);
    std::string text;
    for (int i = 0; i < n; ++i) {
      const std::string key = *rc::gen::elementOf(kKeys);
      const std::string value = *rc::gen::elementOf(kValues);
      std::string req;
      switch (*rc::gen::inRange(0, 9)) {
        case 0: req = key + "=" + value; break;
        case 1: req = key + "==" + value; break;
        case 2: req = key + "!=" + value; break;
        case 3: req = key + " in (" + value + "," + *rc::gen::elementOf(kValues) + ")"; break;
        case 4: req = key + " notin (" + value + ")"; break;
        case 5: req = key; break;
        case 6: req = "!" + key; break;
        case 7: req = key + ">" + std::to_string(*rc::gen::inRange(0, 3)); break;
        default: req = key + "<" + std::to_string(*rc::gen::inRange(0, 3)); break;
      }
      text += (i ? "," : "") + req;
    }
    return text;
  });
}

rc::Gen<json> GenLabels() {
  return rc::gen::exec([] {
    static const std::vector<std::string> kKeys = {"a", "b", "c", "ex.com/d"};
    static const std::vector<std::string> kValues = {"", "1", "2", "x", "-1"};
    json labels = json::object();
    for (const std::string& k : kKeys) {
      if (*rc::gen::arbitrary<bool>()) labels[k] = *rc::gen::elementOf(kValues);
    }
    return labels;
  });
}

TEST(KubeSelectorsLabel, PropertyStringParsesBackToTheSameSelection) {
  const bool ok = rc::check([] {
    const std::string text = *GenSelectorText();
    auto s = LabelSelector::Parse(text);
    RC_ASSERT(s.ok());
    auto again = LabelSelector::Parse(s->String());
    RC_ASSERT(again.ok());
    RC_ASSERT(again->String() == s->String());
    for (int i = 0; i < 8; ++i) {
      const json labels = *GenLabels();
      RC_ASSERT(again->Matches(labels) == s->Matches(labels));
    }
  });
  EXPECT_TRUE(ok);
}

TEST(KubeSelectorsLabel, PropertyNegativeRequirementsHoldWhenTheKeyIsAbsent) {
  const bool ok = rc::check([](bool notin) {
    const json labels = *GenLabels();
    for (const std::string key : {"a", "b", "c"}) {
      if (labels.contains(key)) continue;
      RC_ASSERT(LabelSelector::Parse(notin ? key + " notin (1,2)" : key + "!=1")->Matches(labels));
      RC_ASSERT(!LabelSelector::Parse(notin ? key + " in (1,2)" : key + "=1")->Matches(labels));
    }
  });
  EXPECT_TRUE(ok);
}

// --- Field selectors. ---

json Pod(const std::string& name, const std::string& node, const std::string& phase) {
  json pod = {{"metadata", {{"name", name}, {"namespace", "default"}}},
              {"spec", {{"restartPolicy", "Always"}}},
              {"status", {{"phase", phase}, {"podIPs", {{{"ip", "10.0.0.7"}}}}}}};
  if (!node.empty()) pod["spec"]["nodeName"] = node;
  return pod;
}

bool FieldMatch(std::string_view selector, std::string_view resource, const json& obj) {
  auto s = FieldSelector::Parse(selector, resource);
  EXPECT_TRUE(s.ok()) << selector << ": " << s.status().ToString();
  return s.ok() && s->Matches(obj);
}

std::string FieldError(std::string_view selector, std::string_view resource) {
  auto s = FieldSelector::Parse(selector, resource);
  EXPECT_FALSE(s.ok()) << selector;
  return s.ok() ? "" : s.status().message();
}

TEST(KubeSelectorsField, PodsByNodePhaseAndName) {
  const json scheduled = Pod("p1", "node-1", "Running");
  const json pending = Pod("p2", "", "Pending");
  // What the kubelet and kubectl describe node ask for.
  EXPECT_TRUE(FieldMatch("spec.nodeName=node-1", "pods", scheduled));
  EXPECT_FALSE(FieldMatch("spec.nodeName=node-1", "pods", pending));
  // The scheduler's "unassigned pods" query: an absent nodeName is "".
  EXPECT_TRUE(FieldMatch("spec.nodeName=", "pods", pending));
  EXPECT_FALSE(FieldMatch("spec.nodeName=", "pods", scheduled));
  EXPECT_TRUE(FieldMatch("status.phase!=Succeeded,status.phase!=Failed", "pods", pending));
  EXPECT_TRUE(FieldMatch("spec.nodeName==node-1,metadata.namespace=default", "pods", scheduled));
  EXPECT_TRUE(FieldMatch("spec.host=node-1", "pods", scheduled));  // old clients' label, converted
  EXPECT_TRUE(FieldMatch("status.podIP=10.0.0.7", "pods", scheduled));
  EXPECT_TRUE(FieldMatch("spec.hostNetwork=false", "pods", scheduled));
  EXPECT_TRUE(FieldMatch("", "pods", scheduled));
  auto s = FieldSelector::Parse("spec.nodeName=node-1,status.phase!=Failed", "pods");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->RequiresExactMatch("spec.nodeName"), "node-1");
  EXPECT_EQ(s->RequiresExactMatch("status.phase"), std::nullopt);
}

TEST(KubeSelectorsField, NodesEventsJobsAndNamespaces) {
  const json cordoned = {{"metadata", {{"name", "n1"}}}, {"spec", {{"unschedulable", true}}}};
  EXPECT_TRUE(FieldMatch("spec.unschedulable=true", "nodes", cordoned));
  EXPECT_TRUE(FieldMatch("spec.unschedulable=false", "nodes", {{"metadata", {{"name", "n2"}}}}));
  EXPECT_TRUE(FieldMatch("metadata.name=n1", "nodes", cordoned));

  // kubectl describe pod: involvedObject.name/namespace/uid; `source` falls back to reportingComponent.
  const json event = json::parse(R"({"metadata": {"name": "e1", "namespace": "ml"},
      "involvedObject": {"kind": "Pod", "name": "p1", "namespace": "ml", "uid": "u-1"},
      "reason": "Scheduled", "type": "Normal", "reportingComponent": "default-scheduler"})");
  EXPECT_TRUE(FieldMatch("involvedObject.name=p1,involvedObject.namespace=ml,involvedObject.uid=u-1", "events", event));
  EXPECT_TRUE(FieldMatch("source=default-scheduler,type=Normal,reason=Scheduled", "events", event));
  EXPECT_TRUE(FieldMatch("reportingComponent=default-scheduler", "events", event));
  json with_source = event;
  with_source["source"] = {{"component", "kubelet"}};
  EXPECT_TRUE(FieldMatch("source=kubelet", "events", with_source));

  EXPECT_TRUE(FieldMatch("status.successful=0", "jobs", {{"metadata", {{"name", "j"}}}}));
  EXPECT_TRUE(FieldMatch("status.successful=3", "jobs", {{"status", {{"succeeded", 3}}}}));
  EXPECT_TRUE(FieldMatch("status.phase=Active", "namespaces", {{"status", {{"phase", "Active"}}}}));
  EXPECT_TRUE(FieldMatch("metadata.name=web", "deployments", {{"metadata", {{"name", "web"}}}}));
}

TEST(KubeSelectorsField, UnsupportedLabelsAreRefusedWithTheServersText) {
  EXPECT_EQ(FieldError("spec.foo=x", "pods"), "field label not supported: spec.foo");
  EXPECT_EQ(FieldError("metadata.namespace=x", "nodes"), "field label not supported: metadata.namespace");
  EXPECT_EQ(FieldError("spec.replicas=1", "deployments"),
            "\"spec.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"");
  EXPECT_EQ(FieldError("status.failed=1", "jobs"), "field label \"status.failed\" not supported for batchv1.Job");
}

TEST(KubeSelectorsField, EscapingAsUpstream) {
  EXPECT_TRUE(FieldMatch("metadata.name=a\\,b", "configmaps", {{"metadata", {{"name", "a,b"}}}}));
  EXPECT_TRUE(FieldMatch("metadata.name=a\\=b\\\\", "configmaps", {{"metadata", {{"name", "a=b\\"}}}}));
  EXPECT_EQ(FieldError("metadata.name=a,b", "configmaps"),
            "invalid selector: 'metadata.name=a,b'; can't understand 'b'");
  EXPECT_EQ(FieldError("metadata.name=a=b", "configmaps"), "invalid field selector: unescaped character in value: 61");
  EXPECT_EQ(FieldError("metadata.name=\\q", "configmaps"), "invalid field selector: invalid escape sequence: \\q");
  EXPECT_EQ(FieldError("metadata.name=a\\", "configmaps"), "invalid field selector: invalid escape sequence: \\");
  auto s = FieldSelector::Parse("metadata.name!=x\\,y", "pods");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->String(), "metadata.name!=x\\,y");
}

TEST(KubeSelectorsField, PropertyEscapedValuesRoundTrip) {
  const bool ok = rc::check([] {
    const std::string value = *rc::gen::container<std::string>(rc::gen::elementOf(std::string("ab,=\\!x ")));
    const std::string name = *rc::gen::container<std::string>(rc::gen::elementOf(std::string("ab,=\\")));
    std::string escaped;
    for (char c : value) {
      if (c == ',' || c == '=' || c == '\\') escaped += '\\';
      escaped += c;
    }
    auto s = FieldSelector::Parse("metadata.name=" + escaped, "configmaps");
    RC_ASSERT(s.ok());
    RC_ASSERT(s->requirements().size() == 1u);
    RC_ASSERT(s->requirements()[0].value == value);
    auto again = FieldSelector::Parse(s->String(), "configmaps");
    RC_ASSERT(again.ok());
    const json obj = {{"metadata", {{"name", name}}}};
    RC_ASSERT(again->Matches(obj) == (name == value));
  });
  EXPECT_TRUE(ok);
}

}  // namespace
}  // namespace gpuwise::sim
