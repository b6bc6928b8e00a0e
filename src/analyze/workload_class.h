// Workload-class detection: what a GPU workload is for (interactive serving, batch, training, notebook, dev),
// from one fixed table of rules, first match wins, each answer with its reason in words for `explain`.
// The table (ClassRules(), in order; docs/annotations.md lists the same):
//   annotation          gpuwise.io/class on the pod, else on its namespace            -> that class
//   owner-training      top owner PyTorchJob, TFJob, MPIJob, XGBoostJob, PaddleJob,
//                       JAXJob, MXJob, TrainJob, RayJob, JobSet, or a Volcano Job     -> training
//   owner-job-training  top owner Job or CronJob (batch API) and a training hint      -> training
//   owner-job           top owner Job or CronJob (batch API)                          -> batch
//   owner-notebook      top owner Notebook                                            -> notebook
//   notebook-hint       a Jupyter image, or a `jupyter lab|notebook|server` command   -> notebook
//   serving-engine      a model-serving engine was found in the pod (Pod::engine)     -> interactive
//   owner-serving       top owner InferenceService, LeaderWorkerSet, RayService       -> interactive
//   traffic             observed requests/s > 0                                       -> interactive
//   training-hint       torchrun, torch.distributed.*, deepspeed, accelerate launch;
//                       env MASTER_ADDR or WORLD_SIZE                                 -> training
//   dev-hint            sleep infinity, tail -f /dev/null, code-server; a code-server,
//                       vscode or devcontainer image                                  -> dev
//   none                nothing matched ("no rule matched")                           -> unknown
// Pure; thread-safe.
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <string_view>

#include "model/annotations.h"
#include "model/cluster.h"

namespace gpuwise::analyze {

using model::WorkloadClass;

// What the rules read. The pod stands for its workload (any one of its pods: they share a template).
struct ClassifyInput {
  const model::Pod& pod;
  const model::Namespace* ns = nullptr;  // for a namespace-wide gpuwise.io/class; null when not read
  // Requests per second observed on a serving port over the window (engine metrics, proxy); NaN = unknown.
  double requests_per_second = NAN;
};

struct WorkloadClassification {
  WorkloadClass workload_class = WorkloadClass::kUnknown;
  std::string reason;   // "owner kind CronJob -> batch", "annotation gpuwise.io/class=notebook (pod)"
  std::string rule_id;  // one of ClassRules()[i].id
};

struct ClassRule {
  std::string_view id;
  std::string_view description;
};
// The rules in the order they are tried; the last is "none".
std::span<const ClassRule> ClassRules();

WorkloadClassification ClassifyWorkload(const ClassifyInput& input);

}  // namespace gpuwise::analyze
