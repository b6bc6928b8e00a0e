// Tests for workload-class detection: one table test per rule (with its reason in words), the traps each rule
// must not fall into, and a property: on random pods built from labelled parts, the classifier agrees with the
// documented rule table, restated here from the parts' labels rather than from the implementation.
#include "analyze/workload_class.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gpuwise::analyze {
namespace {

using model::Container;
using model::OwnerRef;
using model::Pod;

Container MakeContainer(std::string image, std::vector<std::string> command = {},
                        std::vector<std::string> args = {}) {
  Container c;
  c.name = "main";
  c.image = std::move(image);
  c.command = std::move(command);
  c.args = std::move(args);
  return c;
}

Pod MakePod(std::vector<OwnerRef> owners, std::vector<Container> containers) {
  Pod p;
  p.namespace_name = "ml";
  p.name = "p-0";
  p.owners = std::move(owners);
  p.containers = std::move(containers);
  return p;
}

const OwnerRef kReplicaSet{"apps/v1", "ReplicaSet", "web-7d4b9", "u1"};
const OwnerRef kDeployment{"apps/v1", "Deployment", "web", "u2"};
const OwnerRef kJob{"batch/v1", "Job", "nightly-28391", "u3"};
const OwnerRef kCronJob{"batch/v1", "CronJob", "nightly", "u4"};

WorkloadClassification Classify(const Pod& pod, double rps = NAN, const model::Namespace* ns = nullptr) {
  return ClassifyWorkload({pod, ns, rps});
}

// ---- the table itself

TEST(WorkloadClassRules, TheTableIsInTheDocumentedOrder) {
  std::vector<std::string> ids;
  for (const ClassRule& r : ClassRules()) {
    ids.emplace_back(r.id);
    EXPECT_FALSE(r.description.empty()) << r.id;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"annotation", "owner-training", "owner-job-training", "owner-job",
                                           "owner-notebook", "notebook-hint", "serving-engine", "owner-serving",
                                           "traffic", "training-hint", "dev-hint", "none"}));
}

// ---- one test per rule

TEST(WorkloadClassRules, AnnotationOverridesDetection) {
  Pod pod = MakePod({kJob, kCronJob}, {MakeContainer("busybox")});
  pod.annotations["gpuwise.io/class"] = "notebook";
  const auto r = Classify(pod);
  EXPECT_EQ(r.workload_class, WorkloadClass::kNotebook);
  EXPECT_EQ(r.rule_id, "annotation");
  EXPECT_EQ(r.reason, "annotation gpuwise.io/class=notebook");
}

TEST(WorkloadClassRules, NamespaceClassAppliesToItsPodsAndThePodWins) {
  const model::Namespace ns{"ml", {}, {{"gpuwise.io/class", "batch"}}};
  Pod pod = MakePod({kReplicaSet, kDeployment}, {MakeContainer("vllm/vllm-openai:v0.6.3")});
  pod.engine.name = "vllm";
  auto r = Classify(pod, NAN, &ns);
  EXPECT_EQ(r.workload_class, WorkloadClass::kBatch);
  EXPECT_EQ(r.reason, "annotation gpuwise.io/class=batch (namespace ml)");
  pod.annotations["gpuwise.io/class"] = "interactive";
  r = Classify(pod, NAN, &ns);
  EXPECT_EQ(r.workload_class, WorkloadClass::kInteractive);
  EXPECT_EQ(r.reason, "annotation gpuwise.io/class=interactive");
}

TEST(WorkloadClassRules, InvalidAnnotationFallsThroughToDetection) {
  Pod pod = MakePod({kJob, kCronJob}, {MakeContainer("busybox")});
  pod.annotations["gpuwise.io/class"] = "unknown";
  const auto r = Classify(pod);
  EXPECT_EQ(r.workload_class, WorkloadClass::kBatch);
  EXPECT_EQ(r.rule_id, "owner-job");
}

TEST(WorkloadClassRules, TrainingOperatorKindsAreTraining) {
  struct Case {
    std::vector<OwnerRef> owners;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{{"kubeflow.org/v1", "PyTorchJob", "llama-ft", "a"}}, "owner kind PyTorchJob -> training"},
      {{{"kubeflow.org/v1", "TFJob", "t", "a"}}, "owner kind TFJob -> training"},
      {{{"kubeflow.org/v2beta1", "MPIJob", "t", "a"}}, "owner kind MPIJob -> training"},
      {{{"ray.io/v1", "RayCluster", "c", "a"}, {"ray.io/v1", "RayJob", "t", "b"}}, "owner kind RayJob -> training"},
      {{{"batch/v1", "Job", "t-0", "a"}, {"jobset.x-k8s.io/v1alpha2", "JobSet", "t", "b"}},
       "owner kind JobSet -> training"},
      {{{"batch/v1", "Job", "t-0", "a"},
        {"jobset.x-k8s.io/v1alpha2", "JobSet", "t", "b"},
        {"trainer.kubeflow.org/v1alpha1", "TrainJob", "t", "c"}},
       "owner kind TrainJob -> training"},
      {{{"batch.volcano.sh/v1alpha1", "Job", "t", "a"}}, "owner kind Job (batch.volcano.sh) -> training"},
  };
  for (const Case& c : cases) {
    const auto r = Classify(MakePod(c.owners, {MakeContainer("nvcr.io/nvidia/pytorch:24.01-py3")}));
    EXPECT_EQ(r.workload_class, WorkloadClass::kTraining) << c.reason;
    EXPECT_EQ(r.rule_id, "owner-training");
    EXPECT_EQ(r.reason, c.reason);
  }
}

TEST(WorkloadClassRules, JobWithATrainingHintIsTraining) {
  Container c = MakeContainer("nvcr.io/nvidia/pytorch:24.01-py3", {"torchrun"}, {"--nproc_per_node=8", "train.py"});
  c.name = "trainer";
  const auto r = Classify(MakePod({kJob}, {c}));
  EXPECT_EQ(r.workload_class, WorkloadClass::kTraining);
  EXPECT_EQ(r.rule_id, "owner-job-training");
  EXPECT_EQ(r.reason, "owner kind Job with a training hint (command 'torchrun' in container trainer) -> training");
}

TEST(WorkloadClassRules, JobsAndCronJobsAreBatchEvenWhenTheyRunAnEngine) {
  auto r = Classify(MakePod({kJob, kCronJob}, {MakeContainer("python:3.11", {"python", "embed.py"})}));
  EXPECT_EQ(r.workload_class, WorkloadClass::kBatch);
  EXPECT_EQ(r.rule_id, "owner-job");
  EXPECT_EQ(r.reason, "owner kind CronJob -> batch");

  // Offline inference: a Job running vLLM is batch work, not a service.
  Pod offline = MakePod({kJob}, {MakeContainer("vllm/vllm-openai:v0.6.3")});
  offline.engine.name = "vllm";
  r = Classify(offline, 40.0);
  EXPECT_EQ(r.workload_class, WorkloadClass::kBatch);
  EXPECT_EQ(r.reason, "owner kind Job -> batch");

  // A Job kind of some other API group is not the batch API's Job.
  r = Classify(MakePod({{"example.com/v1", "Job", "x", "a"}}, {MakeContainer("busybox")}));
  EXPECT_EQ(r.workload_class, WorkloadClass::kUnknown);
}

TEST(WorkloadClassRules, KubeflowNotebookOwnerIsNotebook) {
  const auto r = Classify(MakePod({{"apps/v1", "StatefulSet", "nb", "a"}, {"kubeflow.org/v1", "Notebook", "nb", "b"}},
                                  {MakeContainer("kubeflownotebookswg/codeserver-python:v1.8.0")}));
  EXPECT_EQ(r.workload_class, WorkloadClass::kNotebook);
  EXPECT_EQ(r.rule_id, "owner-notebook");
  EXPECT_EQ(r.reason, "owner kind Notebook -> notebook");
}

TEST(WorkloadClassRules, JupyterImagesAndCommandsAreNotebooks) {
  struct Case {
    Container container;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {MakeContainer("quay.io/jupyter/pytorch-notebook:cuda12-2024-06-03"),
       "image quay.io/jupyter/pytorch-notebook:cuda12-2024-06-03 in container main -> notebook"},
      {MakeContainer("jupyter/scipy-notebook"), "image jupyter/scipy-notebook in container main -> notebook"},
      {MakeContainer("kubeflownotebookswg/jupyter-pytorch-cuda-full:v1.8.0"),
       "image kubeflownotebookswg/jupyter-pytorch-cuda-full:v1.8.0 in container main -> notebook"},
      {MakeContainer("python:3.11", {"jupyter", "lab"}, {"--ip=0.0.0.0", "--no-browser"}),
       "command 'jupyter lab' in container main -> notebook"},
      {MakeContainer("python:3.11", {"/bin/sh", "-c"}, {"pip install x && exec jupyter notebook --port=8888"}),
       "command 'jupyter notebook' in container main -> notebook"},
      {MakeContainer("python:3.11", {"/opt/conda/bin/jupyter-lab"}),
       "command 'jupyter-lab' in container main -> notebook"},
  };
  for (const Case& c : cases) {
    const auto r = Classify(MakePod({{"apps/v1", "StatefulSet", "nb", "a"}}, {c.container}));
    EXPECT_EQ(r.workload_class, WorkloadClass::kNotebook) << c.reason;
    EXPECT_EQ(r.rule_id, "notebook-hint");
    EXPECT_EQ(r.reason, c.reason);
  }
  // The hub is not a notebook server; "jupyter" as an argument of something else is not a command.
  EXPECT_EQ(Classify(MakePod({}, {MakeContainer("jupyterhub/k8s-hub:3.3.7")})).workload_class,
            WorkloadClass::kUnknown);
  EXPECT_EQ(Classify(MakePod({}, {MakeContainer("python:3.11", {"pip", "install", "jupyter"})})).workload_class,
            WorkloadClass::kUnknown);
}

TEST(WorkloadClassRules, AServingEngineIsInteractive) {
  Pod pod = MakePod({kReplicaSet, kDeployment}, {MakeContainer("vllm/vllm-openai:v0.6.3")});
  pod.engine.name = "vllm";
  pod.engine.evidence = "image vllm/vllm-openai:v0.6.3";
  const auto r = Classify(pod);
  EXPECT_EQ(r.workload_class, WorkloadClass::kInteractive);
  EXPECT_EQ(r.rule_id, "serving-engine");
  EXPECT_EQ(r.reason, "serving engine vllm (image vllm/vllm-openai:v0.6.3) -> interactive");
}

TEST(WorkloadClassRules, ServingOwnersAreInteractive) {
  for (const OwnerRef& top : {OwnerRef{"serving.kserve.io/v1beta1", "InferenceService", "llm", "a"},
                              OwnerRef{"leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "llm", "a"},
                              OwnerRef{"ray.io/v1", "RayService", "llm", "a"}}) {
    const auto r = Classify(MakePod({kReplicaSet, top}, {MakeContainer("myorg/predictor:1")}));
    EXPECT_EQ(r.workload_class, WorkloadClass::kInteractive) << top.kind;
    EXPECT_EQ(r.rule_id, "owner-serving");
    EXPECT_EQ(r.reason, "owner kind " + top.kind + " -> interactive");
  }
}

TEST(WorkloadClassRules, TrafficOnAServingPortIsInteractive) {
  const Pod pod = MakePod({kReplicaSet, kDeployment}, {MakeContainer("myorg/api:2", {"python", "serve.py"})});
  auto r = Classify(pod, 2.5);
  EXPECT_EQ(r.workload_class, WorkloadClass::kInteractive);
  EXPECT_EQ(r.rule_id, "traffic");
  EXPECT_EQ(r.reason, "traffic 2.5 requests/s -> interactive");
  // No requests, or not measured: no evidence of serving.
  for (double rps : {0.0, -1.0, static_cast<double>(NAN), std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(Classify(pod, rps).workload_class, WorkloadClass::kUnknown) << rps;
  }
}

TEST(WorkloadClassRules, TrainingHintsAreTraining) {
  struct Case {
    Container container;
    std::string reason;
  };
  Container env = MakeContainer("myorg/trainer:1", {"python", "train.py"});
  env.env["WORLD_SIZE"] = "16";
  Container master = MakeContainer("myorg/trainer:1", {"python", "train.py"});
  master.env["MASTER_ADDR"] = "trainer-0.trainer";
  const std::vector<Case> cases = {
      {MakeContainer("x", {"/usr/local/bin/torchrun"}, {"--nnodes=2", "train.py"}),
       "command 'torchrun' in container main -> training"},
      {MakeContainer("x", {"python", "-m", "torch.distributed.run", "train.py"}),
       "command 'torch.distributed.run' in container main -> training"},
      {MakeContainer("x", {"bash", "-c", "accelerate launch --num_processes 8 sft.py"}),
       "command 'accelerate launch' in container main -> training"},
      {MakeContainer("x", {"deepspeed", "--num_gpus=8", "train.py"}),
       "command 'deepspeed' in container main -> training"},
      {MakeContainer("x", {"python", "run_clm.py", "--deepspeed=ds_z3.json"}),
       "flag '--deepspeed' in container main -> training"},
      {env, "env WORLD_SIZE in container main -> training"},
      {master, "env MASTER_ADDR in container main -> training"},
  };
  for (const Case& c : cases) {
    const auto r = Classify(MakePod({{"apps/v1", "StatefulSet", "t", "a"}}, {c.container}));
    EXPECT_EQ(r.workload_class, WorkloadClass::kTraining) << c.reason;
    EXPECT_EQ(r.rule_id, "training-hint");
    EXPECT_EQ(r.reason, c.reason);
  }
  // Near misses.
  Container port_only = MakeContainer("x", {"python", "train.py"});
  port_only.env["MASTER_PORT"] = "29500";
  EXPECT_EQ(Classify(MakePod({}, {port_only})).workload_class, WorkloadClass::kUnknown);
  EXPECT_EQ(Classify(MakePod({}, {MakeContainer("x", {"accelerate", "config"})})).workload_class,
            WorkloadClass::kUnknown);
}

TEST(WorkloadClassRules, DevHintsAreDev) {
  struct Case {
    Container container;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {MakeContainer("nvcr.io/nvidia/pytorch:24.01-py3", {"sleep", "infinity"}),
       "command 'sleep infinity' in container main -> dev"},
      {MakeContainer("ubuntu:22.04", {"/bin/sh", "-c", "apt-get update; sleep infinity"}),
       "command 'sleep infinity' in container main -> dev"},
      {MakeContainer("ubuntu:22.04", {"tail", "-f", "/dev/null"}),
       "command 'tail -f /dev/null' in container main -> dev"},
      {MakeContainer("codercom/code-server:4.9.1"), "image codercom/code-server:4.9.1 in container main -> dev"},
      {MakeContainer("gitpod/openvscode-server:latest"),
       "image gitpod/openvscode-server:latest in container main -> dev"},
      {MakeContainer("ubuntu:22.04", {"/usr/bin/code-server", "--bind-addr", "0.0.0.0:8080"}),
       "command 'code-server' in container main -> dev"},
  };
  for (const Case& c : cases) {
    const auto r = Classify(MakePod({{"apps/v1", "StatefulSet", "d", "a"}}, {c.container}));
    EXPECT_EQ(r.workload_class, WorkloadClass::kDev) << c.reason;
    EXPECT_EQ(r.rule_id, "dev-hint");
    EXPECT_EQ(r.reason, c.reason);
  }
  EXPECT_EQ(Classify(MakePod({}, {MakeContainer("ubuntu", {"sleep", "3600"})})).workload_class,
            WorkloadClass::kUnknown);
  EXPECT_EQ(Classify(MakePod({}, {MakeContainer("ubuntu", {"tail", "-f", "/var/log/app.log"})})).workload_class,
            WorkloadClass::kUnknown);
}

TEST(WorkloadClassRules, NothingKnownIsUnknownWithAReason) {
  const auto r = Classify(MakePod({kReplicaSet, kDeployment}, {MakeContainer("myorg/app:1", {"python", "app.py"})}));
  EXPECT_EQ(r.workload_class, WorkloadClass::kUnknown);
  EXPECT_EQ(r.rule_id, "none");
  EXPECT_EQ(r.reason, "no rule matched");
  // A pod with nothing at all in it.
  EXPECT_EQ(Classify(Pod{}).rule_id, "none");
}

TEST(WorkloadClassRules, EarlierRulesWin) {
  // A Notebook owner beats a serving engine in the notebook; a serving engine beats training env.
  Pod nb = MakePod({{"kubeflow.org/v1", "Notebook", "nb", "a"}}, {MakeContainer("vllm/vllm-openai")});
  nb.engine.name = "vllm";
  EXPECT_EQ(Classify(nb).rule_id, "owner-notebook");
  Container c = MakeContainer("vllm/vllm-openai", {"sleep", "infinity"});
  c.env["WORLD_SIZE"] = "2";
  Pod served = MakePod({kReplicaSet, kDeployment}, {c});
  EXPECT_EQ(Classify(served).rule_id, "training-hint");
  served.engine.name = "vllm";
  EXPECT_EQ(Classify(served).rule_id, "serving-engine");
}

// ---- property: the classifier equals the documented table

// Each part carries the hint it stands for, known by construction.
enum class Hint { kNone, kTraining, kNotebook, kDev };
struct CommandPart {
  std::vector<std::string> command;
  Hint hint;
};
struct ImagePart {
  std::string image;
  Hint hint;
};
struct EnvPart {
  std::map<std::string, std::string> env;
  Hint hint;
};
enum class OwnerCategory { kOther, kTrainingKind, kJob, kNotebook, kServing };
struct OwnerPart {
  std::vector<OwnerRef> owners;
  OwnerCategory category;
};

const std::vector<CommandPart>& Commands() {
  static const std::vector<CommandPart> kParts = {
      {{}, Hint::kNone},
      {{"python", "serve.py", "--port", "8000"}, Hint::kNone},
      {{"sleep", "3600"}, Hint::kNone},
      {{"tail", "-f", "/var/log/app.log"}, Hint::kNone},
      {{"accelerate", "config"}, Hint::kNone},
      {{"pip", "install", "jupyter"}, Hint::kNone},
      {{"torchrun", "--nproc_per_node=8", "train.py"}, Hint::kTraining},
      {{"/bin/sh", "-c", "python -m torch.distributed.run --nnodes 2 train.py"}, Hint::kTraining},
      {{"accelerate", "launch", "finetune.py"}, Hint::kTraining},
      {{"deepspeed", "train.py"}, Hint::kTraining},
      {{"jupyter", "lab", "--ip=0.0.0.0"}, Hint::kNotebook},
      {{"sh", "-c", "exec jupyter notebook --no-browser"}, Hint::kNotebook},
      {{"sleep", "infinity"}, Hint::kDev},
      {{"tail", "-f", "/dev/null"}, Hint::kDev},
      {{"code-server", "--bind-addr", "0.0.0.0:8080"}, Hint::kDev},
  };
  return kParts;
}

const std::vector<ImagePart>& Images() {
  static const std::vector<ImagePart> kParts = {
      {"python:3.11", Hint::kNone},
      {"nvcr.io/nvidia/pytorch:24.01-py3", Hint::kNone},
      {"vllm/vllm-openai:v0.6.3", Hint::kNone},
      {"jupyterhub/k8s-hub:3.3.7", Hint::kNone},
      {"jupyterhub/jupyterhub:4.1", Hint::kNone},
      {"jupyter/scipy-notebook:2024-01-15", Hint::kNotebook},
      {"quay.io/jupyter/pytorch-notebook:cuda12", Hint::kNotebook},
      {"codercom/code-server:4.9.1", Hint::kDev},
      {"mcr.microsoft.com/vscode/devcontainers/python:3", Hint::kDev},
  };
  return kParts;
}

const std::vector<EnvPart>& Envs() {
  static const std::vector<EnvPart> kParts = {
      {{}, Hint::kNone},
      {{{"MASTER_PORT", "29500"}}, Hint::kNone},
      {{{"CUDA_VISIBLE_DEVICES", "0"}}, Hint::kNone},
      {{{"MASTER_ADDR", "t-0"}}, Hint::kTraining},
      {{{"WORLD_SIZE", "8"}}, Hint::kTraining},
  };
  return kParts;
}

const std::vector<OwnerPart>& Owners() {
  static const std::vector<OwnerPart> kParts = {
      {{}, OwnerCategory::kOther},
      {{kReplicaSet, kDeployment}, OwnerCategory::kOther},
      {{{"apps/v1", "StatefulSet", "s", "a"}}, OwnerCategory::kOther},
      {{{"apps/v1", "DaemonSet", "d", "a"}}, OwnerCategory::kOther},
      {{{"example.com/v1", "Job", "x", "a"}}, OwnerCategory::kOther},
      {{{"argoproj.io/v1alpha1", "Workflow", "w", "a"}}, OwnerCategory::kOther},
      {{kJob}, OwnerCategory::kJob},
      {{kJob, kCronJob}, OwnerCategory::kJob},
      {{{"batch.volcano.sh/v1alpha1", "Job", "v", "a"}}, OwnerCategory::kTrainingKind},
      {{{"kubeflow.org/v1", "PyTorchJob", "p", "a"}}, OwnerCategory::kTrainingKind},
      {{{"kubeflow.org/v1", "TFJob", "p", "a"}}, OwnerCategory::kTrainingKind},
      {{{"kubeflow.org/v2beta1", "MPIJob", "p", "a"}}, OwnerCategory::kTrainingKind},
      {{kJob, {"jobset.x-k8s.io/v1alpha2", "JobSet", "j", "b"}}, OwnerCategory::kTrainingKind},
      {{kJob,
        {"jobset.x-k8s.io/v1alpha2", "JobSet", "j", "b"},
        {"trainer.kubeflow.org/v1alpha1", "TrainJob", "t", "c"}},
       OwnerCategory::kTrainingKind},
      {{{"ray.io/v1", "RayCluster", "r", "a"}, {"ray.io/v1", "RayJob", "r", "b"}}, OwnerCategory::kTrainingKind},
      {{{"apps/v1", "StatefulSet", "n", "a"}, {"kubeflow.org/v1", "Notebook", "n", "b"}}, OwnerCategory::kNotebook},
      {{kReplicaSet, kDeployment, {"serving.kserve.io/v1beta1", "InferenceService", "i", "c"}},
       OwnerCategory::kServing},
      {{{"apps/v1", "StatefulSet", "l", "a"}, {"leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "l", "b"}},
       OwnerCategory::kServing},
      {{{"ray.io/v1", "RayCluster", "r", "a"}, {"ray.io/v1", "RayService", "r", "b"}}, OwnerCategory::kServing},
  };
  return kParts;
}

// nullopt: annotation absent; "" or a bad word: present but invalid.
const std::vector<std::optional<std::string>>& ClassValues() {
  static const std::vector<std::optional<std::string>> kValues = {
      std::nullopt, std::nullopt, std::nullopt, std::string("interactive"), std::string("batch"),
      std::string("training"), std::string("notebook"), std::string("dev"), std::string("unknown"),
      std::string(""), std::string("trainig")};
  return kValues;
}

std::optional<WorkloadClass> ValidClass(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  if (*v == "interactive") return WorkloadClass::kInteractive;
  if (*v == "batch") return WorkloadClass::kBatch;
  if (*v == "training") return WorkloadClass::kTraining;
  if (*v == "notebook") return WorkloadClass::kNotebook;
  if (*v == "dev") return WorkloadClass::kDev;
  return std::nullopt;
}

struct Expected {
  WorkloadClass workload_class;
  std::string rule_id;
};

// The documented table, first match wins, restated over the parts' labels.
Expected Oracle(std::optional<WorkloadClass> pod_class, std::optional<WorkloadClass> ns_class,
                OwnerCategory owner, bool training, bool notebook, bool dev, bool engine, double rps) {
  if (pod_class) return {*pod_class, "annotation"};
  if (ns_class) return {*ns_class, "annotation"};
  if (owner == OwnerCategory::kTrainingKind) return {WorkloadClass::kTraining, "owner-training"};
  if (owner == OwnerCategory::kJob && training) return {WorkloadClass::kTraining, "owner-job-training"};
  if (owner == OwnerCategory::kJob) return {WorkloadClass::kBatch, "owner-job"};
  if (owner == OwnerCategory::kNotebook) return {WorkloadClass::kNotebook, "owner-notebook"};
  if (notebook) return {WorkloadClass::kNotebook, "notebook-hint"};
  if (engine) return {WorkloadClass::kInteractive, "serving-engine"};
  if (owner == OwnerCategory::kServing) return {WorkloadClass::kInteractive, "owner-serving"};
  if (rps > 0 && rps < std::numeric_limits<double>::infinity()) return {WorkloadClass::kInteractive, "traffic"};
  if (training) return {WorkloadClass::kTraining, "training-hint"};
  if (dev) return {WorkloadClass::kDev, "dev-hint"};
  return {WorkloadClass::kUnknown, "none"};
}

// Uniform over [0, n) at every size (inRange alone favours small indices early in a run), shrinking to 0.
std::size_t Index(std::size_t n) { return *rc::gen::resize(100, rc::gen::inRange<std::size_t>(0, n)); }

template <typename T>
const T& Pick(const std::vector<T>& v) {
  return v[Index(v.size())];
}

// One random pod, classified and compared with the oracle.
void CheckOneRandomPod() {
  Pod pod;
  pod.namespace_name = "ml";
  pod.name = "p-0";
  const OwnerPart& owner = Pick(Owners());
  pod.owners = owner.owners;
  bool training = false, notebook = false, dev = false;
  const std::size_t n = Index(4);
  for (std::size_t i = 0; i < n; ++i) {
    const ImagePart& image = Pick(Images());
    const CommandPart& command = Pick(Commands());
    const EnvPart& env = Pick(Envs());
    Container c;
    c.name = "c" + std::to_string(i);
    c.image = image.image;
    // Split the words between command and args at a random point: where they sit must not matter.
    const std::size_t cut = Index(command.command.size() + 1);
    c.command.assign(command.command.begin(), command.command.begin() + static_cast<std::ptrdiff_t>(cut));
    c.args.assign(command.command.begin() + static_cast<std::ptrdiff_t>(cut), command.command.end());
    c.env = env.env;
    for (Hint h : {image.hint, command.hint, env.hint}) {
      training = training || h == Hint::kTraining;
      notebook = notebook || h == Hint::kNotebook;
      dev = dev || h == Hint::kDev;
    }
    pod.containers.push_back(std::move(c));
  }
  const bool engine = *rc::gen::arbitrary<bool>();
  if (engine) {
    pod.engine.name = "vllm";
    pod.engine.evidence = "image vllm/vllm-openai:v0.6.3";
  }
  const std::optional<std::string> pod_value = Pick(ClassValues());
  const std::optional<std::string> ns_value = Pick(ClassValues());
  if (pod_value) pod.annotations["gpuwise.io/class"] = *pod_value;
  model::Namespace ns{"ml", {}, {}};
  if (ns_value) ns.annotations["gpuwise.io/class"] = *ns_value;
  const double rps = *rc::gen::element<double>(NAN, 0.0, -1.0, 0.2, 35.0, std::numeric_limits<double>::infinity());

  const WorkloadClassification got = ClassifyWorkload({pod, &ns, rps});
  const Expected want =
      Oracle(ValidClass(pod_value), ValidClass(ns_value), owner.category, training, notebook, dev, engine, rps);
  RC_ASSERT(got.rule_id == want.rule_id);
  RC_ASSERT(got.workload_class == want.workload_class);
  RC_ASSERT(!got.reason.empty());
  if (got.workload_class != WorkloadClass::kUnknown) {
    RC_ASSERT(got.reason.find(std::string(model::WorkloadClassName(got.workload_class))) != std::string::npos);
  }
}

// Twenty pods a case (2,000 a run): the space of part combinations is large and each pod is cheap.
RC_GTEST_PROP(WorkloadClassProperty, ClassifierEqualsTheDocumentedTable, ()) {
  for (int i = 0; i < 20; ++i) CheckOneRandomPod();
}

}  // namespace
}  // namespace gpuwise::analyze
