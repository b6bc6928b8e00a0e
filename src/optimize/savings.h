// Savings of a plan, computed the one way the contract allows: the snapshot's end state (projection.h ProjectNow)
// against the same state with every action of the plan applied (ProjectPlan). GPUs and nodes that end with no pod,
// times their price; never the sum of what optimizers claim. Pure.
#pragma once

#include "base/status.h"
#include "model/plan.h"
#include "model/snapshot.h"

namespace gpuwise::optimize {

// Fills a PlanSavings: per node the GPUs freed (a pod held them before and none does after; or every GPU of a node
// the plan cordons and leaves with no GPU pod), their effective price per hour, the actions that touched the node
// or its pods, and for actions that free nothing themselves the actions they enable (those that depend on them).
// An error when the plan cannot be applied to the snapshot (projection.h).
// `assume_mixed_strategy`: see ProjectPlan.
base::Result<model::PlanSavings> ComputeSavings(const model::Snapshot& snapshot, const model::Plan& plan,
                                                bool assume_mixed_strategy = false);

}  // namespace gpuwise::optimize
