#include "model/plan.h"

#include <gtest/gtest.h>

namespace gpuwise::model {
namespace {

Action Cordon(std::string id) {
  Action a;
  a.id = std::move(id);
  a.kind = ActionKind::kCordon;
  a.target = {"v1", "Node", "", "gpu-1", ""};
  a.before = Schedulability{false};
  a.after = Schedulability{true};
  a.revert.kind = ActionKind::kUncordon;
  return a;
}

TEST(PlanTest, KindNamesRoundTrip) {
  for (int k = 0; k <= static_cast<int>(ActionKind::kSetScheduling); ++k) {
    const auto kind = static_cast<ActionKind>(k);
    EXPECT_EQ(ParseActionKind(ActionKindName(kind)), kind) << ActionKindName(kind);
  }
  EXPECT_FALSE(ParseActionKind("Delete").has_value());
}

TEST(PlanTest, AWellFormedPlanPasses) {
  Plan p;
  p.actions.push_back(Cordon("a1"));
  Action evict;
  evict.id = "a2";
  evict.kind = ActionKind::kEvict;
  evict.target = {"v1", "Pod", "ml", "chat-0", ""};
  evict.before = PodPlacement{"gpu-1"};
  evict.depends_on = {"a1"};
  evict.revert = {true, ActionKind::kEvict, "the controller recreates the pod; nothing to undo"};
  p.actions.push_back(evict);
  EXPECT_TRUE(ValidatePlan(p).ok()) << ValidatePlan(p).ToString();
}

TEST(PlanTest, EachMalformationIsNamed) {
  Plan dup;
  dup.actions = {Cordon("a1"), Cordon("a1")};
  EXPECT_NE(ValidatePlan(dup).message().find("a1"), std::string::npos);
  EXPECT_NE(ValidatePlan(dup).message().find("twice"), std::string::npos);

  Plan forward;
  forward.actions = {Cordon("a1"), Cordon("a2")};
  forward.actions[0].depends_on = {"a2"};  // a later action: not allowed
  EXPECT_NE(ValidatePlan(forward).message().find("depends on a2"), std::string::npos);

  Plan wrong_type;
  wrong_type.actions = {Cordon("a1")};
  wrong_type.actions[0].after = ReplicaCount{3};
  EXPECT_NE(ValidatePlan(wrong_type).message().find("not of the type"), std::string::npos);

  Plan bad_revert;
  bad_revert.actions = {Cordon("a1")};
  bad_revert.actions[0].revert.kind = ActionKind::kSetReplicas;
  EXPECT_NE(ValidatePlan(bad_revert).message().find("revert"), std::string::npos);

  Plan manual;
  manual.actions = {Cordon("a1")};
  manual.actions[0].revert = {true, ActionKind::kCordon, ""};
  EXPECT_NE(ValidatePlan(manual).message().find("instructions"), std::string::npos);
}

}  // namespace
}  // namespace gpuwise::model
