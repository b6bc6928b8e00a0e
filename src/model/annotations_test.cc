// Tests for the gpuwise.io/ contract: every key's values and defaults, pod-over-namespace inheritance with
// sources, invalid values as warnings that name the object, key and value (never a failure), and the team
// precedence, checked against an independent statement of the rule on random label maps.
#include "model/annotations.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace gpuwise::model {
namespace {

using std::chrono::milliseconds;

Pod MakePod(Labels labels = {}, Labels annotations = {}) {
  Pod p;
  p.namespace_name = "ml";
  p.name = "trainer-0";
  p.labels = std::move(labels);
  p.annotations = std::move(annotations);
  return p;
}

Namespace MakeNamespace(Labels labels = {}, Labels annotations = {}) {
  return Namespace{"ml", std::move(labels), std::move(annotations)};
}

std::vector<std::string> WarningStrings(const WorkloadPolicy& p) {
  std::vector<std::string> out;
  for (const auto& w : p.warnings) out.push_back(w.str());
  return out;
}

// ---- value parsers

TEST(AnnotationValues, ClassNamesRoundTripAndUnknownIsNotAnAnnotationValue) {
  for (WorkloadClass c : {WorkloadClass::kInteractive, WorkloadClass::kBatch, WorkloadClass::kTraining,
                          WorkloadClass::kNotebook, WorkloadClass::kDev}) {
    EXPECT_EQ(ParseWorkloadClass(WorkloadClassName(c)), c);
  }
  EXPECT_EQ(WorkloadClassName(WorkloadClass::kUnknown), "unknown");
  EXPECT_EQ(ParseWorkloadClass("unknown"), std::nullopt);
  EXPECT_EQ(ParseWorkloadClass(" Batch\n"), WorkloadClass::kBatch);  // case and surrounding space ignored
  EXPECT_EQ(ParseWorkloadClass("trainig"), std::nullopt);
  EXPECT_EQ(ParseWorkloadClass(""), std::nullopt);
}

TEST(AnnotationValues, IsolationAndAutomationNames) {
  EXPECT_EQ(ParseIsolation("exclusive"), Isolation::kExclusive);
  EXPECT_EQ(ParseIsolation("mig"), Isolation::kMig);
  EXPECT_EQ(ParseIsolation("MPS"), Isolation::kMps);
  EXPECT_EQ(ParseIsolation("timeslice"), Isolation::kTimeslice);
  EXPECT_EQ(ParseIsolation("time-slicing"), std::nullopt);
  EXPECT_EQ(ParseAutomation("off"), Automation::kOff);
  EXPECT_EQ(ParseAutomation("recommend"), Automation::kRecommend);
  EXPECT_EQ(ParseAutomation("dry-run"), Automation::kDryRun);
  EXPECT_EQ(ParseAutomation("auto"), Automation::kAuto);
  EXPECT_EQ(ParseAutomation("dryrun"), std::nullopt);
  EXPECT_EQ(AutomationName(Automation::kDryRun), "dry-run");
  EXPECT_EQ(IsolationName(Isolation::kTimeslice), "timeslice");
}

TEST(AnnotationValues, DefaultIsolationFollowsTheClass) {
  EXPECT_EQ(DefaultIsolation(WorkloadClass::kInteractive), Isolation::kMig);
  EXPECT_EQ(DefaultIsolation(WorkloadClass::kNotebook), Isolation::kTimeslice);
  EXPECT_EQ(DefaultIsolation(WorkloadClass::kDev), Isolation::kTimeslice);
  EXPECT_EQ(DefaultIsolation(WorkloadClass::kTraining), Isolation::kExclusive);
  EXPECT_EQ(DefaultIsolation(WorkloadClass::kBatch), Isolation::kMig);
  EXPECT_EQ(DefaultIsolation(WorkloadClass::kUnknown), Isolation::kExclusive);
}

TEST(AnnotationValues, DeadlineIsATimeOrADurationAfterStart) {
  auto at = ParseDeadline("2026-11-24T10:00:00Z");
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_FALSE(at->relative);
  EXPECT_EQ(at->at_unix_ms, 1795514400000);
  EXPECT_EQ(at->AbsoluteMs(1), 1795514400000);  // the start does not move an absolute deadline
  EXPECT_EQ(at->ToString(), "2026-11-24T10:00:00Z");

  auto offset = ParseDeadline("2026-11-24T11:00:00+01:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(offset->at_unix_ms, 1795514400000);

  auto rel = ParseDeadline("6h");
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_TRUE(rel->relative);
  EXPECT_EQ(rel->after_start, milliseconds(6 * 3600 * 1000));
  EXPECT_EQ(rel->AbsoluteMs(1'000'000), 1'000'000 + 6 * 3600 * 1000);
  EXPECT_EQ(rel->ToString(), "6h after start");

  EXPECT_FALSE(ParseDeadline("0").ok());
  EXPECT_FALSE(ParseDeadline("tomorrow").ok());
  EXPECT_FALSE(ParseDeadline("2026-13-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseDeadline("").ok());
  EXPECT_FALSE(ParseDeadline("1.5").ok());         // not read as Unix seconds (1970)
  EXPECT_FALSE(ParseDeadline("1700000000").ok());
  auto bad = ParseDeadline("soon");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("RFC 3339"), std::string::npos) << bad.status().message();
}

// ---- ResolvePolicy: defaults, inheritance, sources

TEST(ResolvePolicy, NothingSetGivesTheDocumentedDefaults) {
  const Pod pod = MakePod();
  const WorkloadPolicy p = ResolvePolicy(pod, nullptr, {});
  EXPECT_EQ(p.object, "pod ml/trainer-0");
  EXPECT_FALSE(p.HasSlo());
  EXPECT_EQ(p.slo_ttft_p99.source, "default");
  EXPECT_EQ(p.workload_class.value, std::nullopt);
  EXPECT_EQ(p.isolation.value, std::nullopt);
  EXPECT_EQ(p.deadline.value, std::nullopt);
  EXPECT_EQ(p.automation.value, Automation::kRecommend);
  EXPECT_EQ(p.automation.source, "default");
  EXPECT_FALSE(p.ignore.value);
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.team.team, "ml");
  EXPECT_EQ(p.team.rule, TeamRule::kNamespaceName);
  const Sourced<Isolation> iso = p.IsolationFor(WorkloadClass::kNotebook);
  EXPECT_EQ(iso.value, Isolation::kTimeslice);
  EXPECT_EQ(iso.source, "default for class notebook");
}

TEST(ResolvePolicy, PodAnnotationsParseEveryKey) {
  const Pod pod = MakePod({}, {{"gpuwise.io/slo-ttft-p99", "800ms"},
                               {"gpuwise.io/slo-tpot-p99", "2s"},
                               {"gpuwise.io/class", "interactive"},
                               {"gpuwise.io/isolation", "mps"},
                               {"gpuwise.io/deadline", "2026-11-24T10:00:00Z"},
                               {"gpuwise.io/automation", "dry-run"},
                               {"gpuwise.io/ignore", "true"}});
  const WorkloadPolicy p = ResolvePolicy(pod, nullptr, {});
  EXPECT_TRUE(p.warnings.empty()) << ::testing::PrintToString(WarningStrings(p));
  EXPECT_EQ(p.slo_ttft_p99.value, milliseconds(800));
  EXPECT_EQ(p.slo_tpot_p99.value, milliseconds(2000));
  EXPECT_TRUE(p.HasSlo());
  EXPECT_EQ(p.workload_class.value, WorkloadClass::kInteractive);
  EXPECT_EQ(p.workload_class.source, "pod annotation gpuwise.io/class");
  EXPECT_EQ(p.isolation.value, Isolation::kMps);
  // An explicit isolation wins over the class default.
  EXPECT_EQ(p.IsolationFor(WorkloadClass::kInteractive).value, Isolation::kMps);
  EXPECT_EQ(p.IsolationFor(WorkloadClass::kInteractive).source, "pod annotation gpuwise.io/isolation");
  ASSERT_TRUE(p.deadline.value.has_value());
  EXPECT_EQ(p.deadline.value->at_unix_ms, 1795514400000);
  EXPECT_EQ(p.automation.value, Automation::kDryRun);
  EXPECT_TRUE(p.ignore.value);
}

TEST(ResolvePolicy, PodOverridesNamespaceFieldByField) {
  const Namespace ns = MakeNamespace({}, {{"gpuwise.io/slo-ttft-p99", "1s"},
                                          {"gpuwise.io/slo-tpot-p99", "100ms"},
                                          {"gpuwise.io/automation", "auto"},
                                          {"gpuwise.io/deadline", "12h"},
                                          {"gpuwise.io/ignore", "true"}});
  const Pod pod = MakePod({}, {{"gpuwise.io/slo-ttft-p99", "500ms"}, {"gpuwise.io/ignore", "false"}});
  const WorkloadPolicy p = ResolvePolicy(pod, &ns, {});
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.slo_ttft_p99.value, milliseconds(500));
  EXPECT_EQ(p.slo_ttft_p99.source, "pod annotation gpuwise.io/slo-ttft-p99");
  EXPECT_EQ(p.slo_tpot_p99.value, milliseconds(100));
  EXPECT_EQ(p.slo_tpot_p99.source, "namespace ml annotation gpuwise.io/slo-tpot-p99");
  EXPECT_EQ(p.automation.value, Automation::kAuto);
  EXPECT_EQ(p.automation.source, "namespace ml annotation gpuwise.io/automation");
  ASSERT_TRUE(p.deadline.value.has_value());
  EXPECT_TRUE(p.deadline.value->relative);
  EXPECT_EQ(p.deadline.value->after_start, milliseconds(12 * 3600 * 1000));
  // The namespace ignores everything in it; this pod opts back in.
  EXPECT_FALSE(p.ignore.value);
  EXPECT_EQ(p.ignore.source, "pod annotation gpuwise.io/ignore");

  const WorkloadPolicy sibling = ResolvePolicy(MakePod(), &ns, {});
  EXPECT_TRUE(sibling.ignore.value);
  EXPECT_EQ(sibling.slo_ttft_p99.value, milliseconds(1000));
}

TEST(ResolvePolicy, InvalidPodValueWarnsAndFallsBackToTheNamespace) {
  const Namespace ns = MakeNamespace({}, {{"gpuwise.io/class", "batch"}});
  const Pod pod = MakePod({}, {{"gpuwise.io/class", "trainig"}});
  const WorkloadPolicy p = ResolvePolicy(pod, &ns, {});
  EXPECT_EQ(p.workload_class.value, WorkloadClass::kBatch);
  EXPECT_EQ(p.workload_class.source, "namespace ml annotation gpuwise.io/class");
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0].object, "pod ml/trainer-0");
  EXPECT_EQ(p.warnings[0].key, "gpuwise.io/class");
  EXPECT_EQ(p.warnings[0].value, "trainig");
  EXPECT_EQ(p.warnings[0].str(),
            "pod ml/trainer-0: gpuwise.io/class=\"trainig\": not one of interactive|batch|training|notebook|dev; "
            "ignored");
}

TEST(ResolvePolicy, InvalidNamespaceValueWarnsAndFallsBackToTheDefault) {
  const Namespace ns = MakeNamespace({}, {{"gpuwise.io/automation", "yes"}, {"gpuwise.io/slo-ttft-p99", "800"}});
  const WorkloadPolicy p = ResolvePolicy(MakePod(), &ns, {});
  EXPECT_EQ(p.automation.value, Automation::kRecommend);
  EXPECT_EQ(p.automation.source, "default");
  EXPECT_EQ(p.slo_ttft_p99.value, std::nullopt);
  ASSERT_EQ(p.warnings.size(), 2u);
  for (const auto& w : p.warnings) EXPECT_EQ(w.object, "namespace ml");
  EXPECT_EQ(p.warnings[0].key, "gpuwise.io/slo-ttft-p99");
  EXPECT_EQ(p.warnings[0].value, "800");
  EXPECT_NE(p.warnings[0].problem.find("unit"), std::string::npos) << p.warnings[0].problem;
  EXPECT_EQ(p.warnings[1].key, "gpuwise.io/automation");
}

TEST(ResolvePolicy, BadSlosDeadlinesAndIgnoreValuesAreWarnings) {
  struct Case {
    std::string key, value;
  };
  const std::vector<Case> cases = {
      {"gpuwise.io/slo-ttft-p99", "0"},          {"gpuwise.io/slo-ttft-p99", "fast"},
      {"gpuwise.io/slo-tpot-p99", "-5ms"},       {"gpuwise.io/slo-tpot-p99", "1.5s"},
      {"gpuwise.io/deadline", "0s"},             {"gpuwise.io/deadline", "next week"},
      {"gpuwise.io/ignore", "yes"},              {"gpuwise.io/isolation", "time-slicing"},
      {"gpuwise.io/automation", "dryrun"},
  };
  for (const Case& c : cases) {
    const WorkloadPolicy p = ResolvePolicy(MakePod({}, {{c.key, c.value}}), nullptr, {});
    ASSERT_EQ(p.warnings.size(), 1u) << c.key << "=" << c.value;
    EXPECT_EQ(p.warnings[0].key, c.key);
    EXPECT_EQ(p.warnings[0].value, c.value);
    EXPECT_EQ(p.warnings[0].object, "pod ml/trainer-0");
    EXPECT_FALSE(p.HasSlo());
    EXPECT_EQ(p.deadline.value, std::nullopt);
    EXPECT_FALSE(p.ignore.value);
    EXPECT_EQ(p.isolation.value, std::nullopt);
    EXPECT_EQ(p.automation.value, Automation::kRecommend);
  }
}

TEST(ResolvePolicy, UnknownKeysAndAnnotationKeysSetAsLabelsAreWarnings) {
  const Pod pod = MakePod({{"gpuwise.io/ignore", "true"}, {"gpuwise.io/team", "search"}, {"app", "x"}},
                          {{"gpuwise.io/slo-ttft", "800ms"}, {"sim.gpuwise.io/openb-qos", "LS"}});
  const WorkloadPolicy p = ResolvePolicy(pod, nullptr, {});
  EXPECT_FALSE(p.ignore.value);  // a label is not the annotation
  ASSERT_EQ(p.warnings.size(), 2u) << ::testing::PrintToString(WarningStrings(p));
  EXPECT_EQ(p.warnings[0].key, "gpuwise.io/ignore");
  EXPECT_NE(p.warnings[0].problem.find("annotations, not labels"), std::string::npos);
  EXPECT_EQ(p.warnings[1].key, "gpuwise.io/slo-ttft");
  EXPECT_NE(p.warnings[1].problem.find("unknown"), std::string::npos);
}

TEST(ResolvePolicy, WarningsQuoteLongOrBinaryValuesSafely) {
  const std::string blob = std::string(500, 'x') + "\n\x01";
  const WorkloadPolicy p = ResolvePolicy(MakePod({}, {{"gpuwise.io/class", blob}}), nullptr, {});
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_LE(p.warnings[0].value.size(), 100u);
  EXPECT_EQ(p.warnings[0].value.find('\n'), std::string::npos);
}

// ---- team

TEST(ResolveTeam, EachRuleInTheDocumentedOrder) {
  const TeamOptions options{{"team", "app.kubernetes.io/part-of"}};
  const Namespace ns = MakeNamespace({{"gpuwise.io/team", "ns-gw"}, {"team", "ns-team"}},
                                     {{"gpuwise.io/team", "ns-gw-annotation"}});
  // Peel one source off at a time and watch the next rule take over.
  Pod pod = MakePod({{"gpuwise.io/team", "search"}, {"team", "pod-team"}, {"app.kubernetes.io/part-of", "rag"}},
                    {{"gpuwise.io/team", "pod-annotation"}});
  WorkloadPolicy p = ResolvePolicy(pod, &ns, options);
  EXPECT_EQ(p.team.team, "search");
  EXPECT_EQ(p.team.rule, TeamRule::kPodTeamLabel);
  EXPECT_EQ(p.team.source, "pod label gpuwise.io/team");

  pod.labels.erase("gpuwise.io/team");
  p = ResolvePolicy(pod, &ns, options);
  EXPECT_EQ(p.team.team, "pod-annotation");
  EXPECT_EQ(p.team.rule, TeamRule::kPodTeamAnnotation);

  pod.annotations.clear();
  p = ResolvePolicy(pod, &ns, options);
  EXPECT_EQ(p.team.team, "pod-team");
  EXPECT_EQ(p.team.source, "pod label team");

  pod.labels.erase("team");
  p = ResolvePolicy(pod, &ns, options);
  EXPECT_EQ(p.team.team, "rag");
  EXPECT_EQ(p.team.rule, TeamRule::kPodLabelKey);
  EXPECT_EQ(p.team.source, "pod label app.kubernetes.io/part-of");

  pod.labels.clear();
  p = ResolvePolicy(pod, &ns, options);
  EXPECT_EQ(p.team.team, "ns-gw");
  EXPECT_EQ(p.team.rule, TeamRule::kNamespaceTeamLabel);
  EXPECT_EQ(p.team.source, "namespace ml label gpuwise.io/team");

  Namespace ns2 = ns;
  ns2.labels.erase("gpuwise.io/team");
  p = ResolvePolicy(pod, &ns2, options);
  EXPECT_EQ(p.team.team, "ns-gw-annotation");
  EXPECT_EQ(p.team.rule, TeamRule::kNamespaceTeamAnnotation);

  ns2.annotations.clear();
  p = ResolvePolicy(pod, &ns2, options);
  EXPECT_EQ(p.team.team, "ns-team");
  EXPECT_EQ(p.team.rule, TeamRule::kNamespaceLabelKey);
  EXPECT_EQ(p.team.source, "namespace ml label team");

  ns2.labels.clear();
  p = ResolvePolicy(pod, &ns2, options);
  EXPECT_EQ(p.team.team, "ml");
  EXPECT_EQ(p.team.rule, TeamRule::kNamespaceName);
  EXPECT_EQ(TeamRuleName(p.team.rule), "namespace-name");
}

TEST(ResolveTeam, ConfiguredKeysAreTriedInTheirOrder) {
  const Pod pod = MakePod({{"team", "a"}, {"app.kubernetes.io/part-of", "b"}});
  EXPECT_EQ(ResolvePolicy(pod, nullptr, {{"team", "app.kubernetes.io/part-of"}}).team.team, "a");
  EXPECT_EQ(ResolvePolicy(pod, nullptr, {{"app.kubernetes.io/part-of", "team"}}).team.team, "b");
  // With no keys configured only gpuwise.io/team counts.
  EXPECT_EQ(ResolvePolicy(pod, nullptr, TeamOptions{{}}).team.team, "ml");
  // Default options read "team".
  EXPECT_EQ(ResolvePolicy(pod, nullptr, {}).team.team, "a");
}

TEST(ResolveTeam, EmptyTeamLabelWarnsAndFallsThrough) {
  const Pod pod = MakePod({{"gpuwise.io/team", " "}, {"team", "infra"}});
  const WorkloadPolicy p = ResolvePolicy(pod, nullptr, {});
  EXPECT_EQ(p.team.team, "infra");
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0].key, "gpuwise.io/team");
  EXPECT_NE(p.warnings[0].problem.find("empty"), std::string::npos);
}

// ---- properties

// Keys and values that exercise the rules (and their traps: empty and space-only values, near-miss keys).
rc::Gen<std::string> KeyGen() {
  return rc::gen::oneOf(rc::gen::element<std::string>("gpuwise.io/team", "team", "app.kubernetes.io/part-of",
                                                      "owner", "gpuwise.io/class", "gpuwise.io/tea", "Team"),
                        rc::gen::arbitrary<std::string>());
}
rc::Gen<std::string> ValueGen() {
  return rc::gen::oneOf(rc::gen::element<std::string>("", " ", "\t", "search", " infra ", "ml-platform"),
                        rc::gen::arbitrary<std::string>());
}
rc::Gen<Labels> LabelsGen() {
  return rc::gen::container<Labels>(KeyGen(), ValueGen());
}

std::string OracleTrim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// The precedence exactly as docs/annotations.md states it, as a list of (map, key) tried in order.
std::string OracleTeam(const Pod& pod, const Namespace* ns, const std::vector<std::string>& keys) {
  std::vector<std::pair<const Labels*, std::string>> order;
  order.emplace_back(&pod.labels, "gpuwise.io/team");
  order.emplace_back(&pod.annotations, "gpuwise.io/team");
  for (const auto& k : keys) order.emplace_back(&pod.labels, k);
  if (ns != nullptr) {
    order.emplace_back(&ns->labels, "gpuwise.io/team");
    order.emplace_back(&ns->annotations, "gpuwise.io/team");
    for (const auto& k : keys) order.emplace_back(&ns->labels, k);
  }
  for (const auto& entry : order) {
    auto it = entry.first->find(entry.second);
    if (it != entry.first->end() && !OracleTrim(it->second).empty()) return OracleTrim(it->second);
  }
  return pod.namespace_name;
}

// Ten pods a case: each rule needs the earlier ones to miss, which random maps rarely arrange.
RC_GTEST_PROP(ResolveTeamProperty, RandomMapsFollowTheDocumentedPrecedence, ()) {
  for (int i = 0; i < 10; ++i) {
    Pod pod = MakePod(*LabelsGen(), *LabelsGen());
    const bool has_ns = *rc::gen::arbitrary<bool>();
    const Namespace ns = MakeNamespace(*LabelsGen(), *LabelsGen());
    std::vector<std::string> keys = *rc::gen::container<std::vector<std::string>>(
        rc::gen::element<std::string>("team", "app.kubernetes.io/part-of", "owner", "gpuwise.io/team"));
    const WorkloadPolicy p = ResolvePolicy(pod, has_ns ? &ns : nullptr, TeamOptions{keys});
    RC_ASSERT(p.team.team == OracleTeam(pod, has_ns ? &ns : nullptr, keys));
    RC_ASSERT(!p.team.source.empty());
  }
}

// Values for the keys that take a closed set, with the set restated here.
bool OracleInSet(const std::string& v, const std::vector<std::string>& set) {
  std::string t = OracleTrim(v);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(set.begin(), set.end(), t) != set.end();
}

RC_GTEST_PROP(ResolvePolicyProperty, ArbitraryValuesNeverFailAndEveryRejectionIsNamed, ()) {
  const std::vector<std::string> keys = {"gpuwise.io/team",     "gpuwise.io/slo-ttft-p99", "gpuwise.io/slo-tpot-p99",
                                         "gpuwise.io/class",    "gpuwise.io/isolation",    "gpuwise.io/deadline",
                                         "gpuwise.io/automation", "gpuwise.io/ignore"};
  const auto value = rc::gen::oneOf(
      rc::gen::element<std::string>("", "800ms", "2s", "0", "interactive", "Batch", "mig", "dry-run", "true",
                                    "FALSE", "yes", "6h", "2026-11-24T10:00:00Z", "1h30m", "timeslice",
                                    "notebook ", "dev"),
      rc::gen::arbitrary<std::string>());
  Labels pod_annotations, ns_annotations;
  for (const auto& k : keys) {
    if (*rc::gen::arbitrary<bool>()) pod_annotations[k] = *value;
    if (*rc::gen::arbitrary<bool>()) ns_annotations[k] = *value;
  }
  // Labels with an annotation key warn too ("read from annotations"); kept out so the counts below are exact.
  Labels pod_labels = *LabelsGen(), ns_labels = *LabelsGen();
  pod_labels.erase("gpuwise.io/class");
  ns_labels.erase("gpuwise.io/class");
  const Pod pod = MakePod(pod_labels, pod_annotations);
  const Namespace ns = MakeNamespace(ns_labels, ns_annotations);
  const WorkloadPolicy p = ResolvePolicy(pod, &ns, {});

  for (const auto& w : p.warnings) {
    RC_ASSERT(w.object == "pod ml/trainer-0" || w.object == "namespace ml");
    RC_ASSERT(w.key.starts_with("gpuwise.io/"));
    RC_ASSERT(!w.problem.empty());
  }
  // The closed-set keys: accepted exactly when the value is in the documented set, else one warning naming it.
  auto warned = [&](const std::string& object, const std::string& key) {
    return std::count_if(p.warnings.begin(), p.warnings.end(),
                         [&](const AnnotationWarning& w) { return w.object == object && w.key == key; });
  };
  struct Closed {
    std::string key;
    std::vector<std::string> set;
  };
  const Closed closed[] = {
      {"gpuwise.io/class", {"interactive", "batch", "training", "notebook", "dev"}},
      {"gpuwise.io/isolation", {"exclusive", "mig", "mps", "timeslice"}},
      {"gpuwise.io/automation", {"off", "recommend", "dry-run", "auto"}},
      {"gpuwise.io/ignore", {"true", "false"}},
  };
  for (const Closed& c : closed) {
    for (const auto& [object, annotations] :
         {std::pair<std::string, const Labels*>{"pod ml/trainer-0", &pod.annotations},
          std::pair<std::string, const Labels*>{"namespace ml", &ns.annotations}}) {
      auto it = annotations->find(c.key);
      const bool valid = it != annotations->end() && OracleInSet(it->second, c.set);
      const bool invalid = it != annotations->end() && !valid;
      RC_ASSERT(warned(object, c.key) == (invalid ? 1 : 0));
    }
  }
  // gpuwise.io/ignore: pod over namespace over false, with the documented spelling of true.
  auto ignore_of = [&](const Labels& a) -> std::optional<bool> {
    auto it = a.find("gpuwise.io/ignore");
    if (it == a.end() || !OracleInSet(it->second, {"true", "false"})) return std::nullopt;
    return OracleInSet(it->second, {"true"});
  };
  RC_ASSERT(p.ignore.value == ignore_of(pod.annotations).value_or(ignore_of(ns.annotations).value_or(false)));
  // Pod over namespace over default, for the class.
  auto pod_class = pod.annotations.find("gpuwise.io/class");
  auto ns_class = ns.annotations.find("gpuwise.io/class");
  const std::vector<std::string> classes = {"interactive", "batch", "training", "notebook", "dev"};
  auto class_name = [](const std::string& v) {
    std::string t = OracleTrim(v);
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return t;
  };
  if (pod_class != pod.annotations.end() && OracleInSet(pod_class->second, classes)) {
    RC_ASSERT(p.workload_class.source == "pod annotation gpuwise.io/class");
    RC_ASSERT(p.workload_class.value.has_value());
    RC_ASSERT(std::string(WorkloadClassName(*p.workload_class.value)) == class_name(pod_class->second));
  } else if (ns_class != ns.annotations.end() && OracleInSet(ns_class->second, classes)) {
    RC_ASSERT(p.workload_class.source == "namespace ml annotation gpuwise.io/class");
    RC_ASSERT(p.workload_class.value.has_value());
    RC_ASSERT(std::string(WorkloadClassName(*p.workload_class.value)) == class_name(ns_class->second));
  } else {
    RC_ASSERT(!p.workload_class.value.has_value());
    RC_ASSERT(p.workload_class.source == "default");
  }
}

}  // namespace
}  // namespace gpuwise::model
