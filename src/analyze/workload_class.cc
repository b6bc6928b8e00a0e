#include "analyze/workload_class.h"

#include <array>
#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include "base/check.h"

namespace gpuwise::analyze {
namespace {

using model::Container;
using model::OwnerRef;

// Evidence for a hint: "command 'torchrun' in container trainer". Empty = not found.
using Evidence = std::optional<std::string>;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsSeparator(char c) {
  switch (c) {
    case ' ': case '\t': case '\n': case '\r': case '\v': case '\f':
    case ';': case '&': case '|': case '(': case ')': case '`': case '\'': case '"': case '=':
    case '<': case '>': case '{': case '}': case ',':
      return true;
    default:
      return false;
  }
}

// Command and arguments as words: split on spaces and shell punctuation, so `sh -c "exec torchrun ..."` and
// `--deepspeed=ds.json` show their words.
std::vector<std::string> Words(const Container& c) {
  std::vector<std::string> out;
  auto split = [&out](const std::string& s) {
    std::string word;
    for (char ch : s) {
      if (IsSeparator(ch)) {
        if (!word.empty()) out.push_back(std::move(word));
        word.clear();
      } else {
        word += ch;
      }
    }
    if (!word.empty()) out.push_back(std::move(word));
  };
  for (const std::string& s : c.command) split(s);
  for (const std::string& s : c.args) split(s);
  return out;
}

// "/usr/local/bin/torchrun" -> "torchrun".
std::string_view Base(std::string_view word) {
  const auto slash = word.rfind('/');
  return slash == std::string_view::npos ? word : word.substr(slash + 1);
}

// The image's repository path without registry tag or digest, lower case: "quay.io/jupyter/base-notebook:x" ->
// "quay.io/jupyter/base-notebook".
std::string Repository(std::string_view image) {
  std::string_view s = image;
  if (const auto at = s.find('@'); at != std::string_view::npos) s = s.substr(0, at);
  const auto slash = s.rfind('/');
  const auto colon = s.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) s = s.substr(0, colon);
  return Lower(s);
}

std::vector<std::string_view> PathParts(std::string_view repo) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= repo.size()) {
    const auto slash = repo.find('/', start);
    const auto end = slash == std::string_view::npos ? repo.size() : slash;
    parts.push_back(repo.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

std::string InContainer(std::string what, const Container& c) {
  return c.name.empty() ? what : what + " in container " + c.name;
}

const std::string* WordAt(const std::vector<std::string>& w, std::size_t i) {
  return i < w.size() ? &w[i] : nullptr;
}

Evidence TrainingHint(const model::Pod& pod) {
  for (const Container& c : pod.containers) {
    const std::vector<std::string> w = Words(c);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string_view base = Base(w[i]);
      if (base == "torchrun" || base == "deepspeed") {
        return InContainer("command '" + std::string(base) + "'", c);
      }
      if (w[i] == "--deepspeed") return InContainer("flag '--deepspeed'", c);
      if (w[i].starts_with("torch.distributed")) return InContainer("command '" + w[i] + "'", c);
      const std::string* next = WordAt(w, i + 1);
      if (base == "accelerate" && next != nullptr && *next == "launch") {
        return InContainer("command 'accelerate launch'", c);
      }
    }
    for (const char* key : {"MASTER_ADDR", "WORLD_SIZE"}) {
      if (c.env.count(key) != 0) return InContainer("env " + std::string(key), c);
    }
  }
  return std::nullopt;
}

Evidence NotebookHint(const model::Pod& pod) {
  for (const Container& c : pod.containers) {
    const std::string repo = Repository(c.image);
    const std::vector<std::string_view> parts = PathParts(repo);
    bool jupyter_image = false;
    for (std::string_view part : parts) jupyter_image = jupyter_image || part == "jupyter";
    const std::string_view last = parts.empty() ? std::string_view() : parts.back();
    // jupyterhub/* is the hub and its proxy, not a notebook server.
    if (last.starts_with("jupyter") && last != "jupyterhub") jupyter_image = true;
    if (jupyter_image) return InContainer("image " + c.image, c);

    const std::vector<std::string> w = Words(c);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string_view base = Base(w[i]);
      if (base == "jupyter-lab" || base == "jupyter-notebook" || base == "jupyterlab") {
        return InContainer("command '" + std::string(base) + "'", c);
      }
      const std::string* next = WordAt(w, i + 1);
      if (base == "jupyter" && next != nullptr && (*next == "lab" || *next == "notebook" || *next == "server")) {
        return InContainer("command 'jupyter " + *next + "'", c);
      }
    }
  }
  return std::nullopt;
}

Evidence DevHint(const model::Pod& pod) {
  for (const Container& c : pod.containers) {
    const std::string repo = Repository(c.image);
    for (const char* needle : {"code-server", "codeserver", "vscode", "devcontainer"}) {
      if (repo.find(needle) != std::string::npos) return InContainer("image " + c.image, c);
    }
    const std::vector<std::string> w = Words(c);
    for (std::size_t i = 0; i < w.size(); ++i) {
      const std::string_view base = Base(w[i]);
      const std::string* next = WordAt(w, i + 1);
      const std::string* after = WordAt(w, i + 2);
      if (base == "sleep" && next != nullptr && (*next == "infinity" || *next == "inf")) {
        return InContainer("command 'sleep " + *next + "'", c);
      }
      if (base == "tail" && next != nullptr && (*next == "-f" || *next == "-F" || *next == "--follow") &&
          after != nullptr && *after == "/dev/null") {
        return InContainer("command 'tail " + *next + " /dev/null'", c);
      }
      if (base == "code-server" || base == "openvscode-server") {
        return InContainer("command '" + std::string(base) + "'", c);
      }
    }
  }
  return std::nullopt;
}

std::string_view Group(const OwnerRef& o) {
  const auto slash = o.api_version.find('/');
  return slash == std::string::npos ? std::string_view() : std::string_view(o.api_version).substr(0, slash);
}

bool IsVolcanoJob(const OwnerRef& o) { return o.kind == "Job" && Group(o) == "batch.volcano.sh"; }

// Job and CronJob of the batch API (or with no apiVersion, when inferred from a gone pod's name).
bool IsBatchJob(const OwnerRef& o) {
  return (o.kind == "Job" || o.kind == "CronJob") && (Group(o) == "batch" || o.api_version.empty());
}

bool IsTrainingKind(const OwnerRef& o) {
  static constexpr std::string_view kKinds[] = {"PyTorchJob", "TFJob",    "MPIJob", "XGBoostJob", "PaddleJob",
                                                 "JAXJob",     "MXJob",    "TrainJob", "RayJob",   "JobSet"};
  for (std::string_view k : kKinds) {
    if (o.kind == k) return true;
  }
  return IsVolcanoJob(o);
}

bool IsServingKind(const OwnerRef& o) {
  return o.kind == "InferenceService" || o.kind == "LeaderWorkerSet" || o.kind == "RayService";
}

// Everything the rules look at, worked out once.
struct Facts {
  const ClassifyInput& in;
  std::optional<OwnerRef> top;  // nullopt for a bare pod
  model::Sourced<std::optional<WorkloadClass>> annotated;
  Evidence training, notebook, dev;
};

struct Match {
  WorkloadClass workload_class;
  std::string reason;
};
using MatchFn = std::optional<Match> (*)(const Facts&);

std::string Arrow(WorkloadClass c) { return " -> " + std::string(model::WorkloadClassName(c)); }

std::string OwnerText(const OwnerRef& o) {
  return IsVolcanoJob(o) ? "owner kind Job (batch.volcano.sh)" : "owner kind " + o.kind;
}

std::optional<Match> AnnotationRule(const Facts& f) {
  if (!f.annotated.value) return std::nullopt;
  const WorkloadClass c = *f.annotated.value;
  std::string reason = "annotation gpuwise.io/class=" + std::string(model::WorkloadClassName(c));
  if (!f.annotated.source.starts_with("pod ") && f.in.ns != nullptr) reason += " (namespace " + f.in.ns->name + ")";
  return Match{c, std::move(reason)};
}

std::optional<Match> OwnerTrainingRule(const Facts& f) {
  if (!f.top || !IsTrainingKind(*f.top)) return std::nullopt;
  return Match{WorkloadClass::kTraining, OwnerText(*f.top) + Arrow(WorkloadClass::kTraining)};
}

std::optional<Match> OwnerJobTrainingRule(const Facts& f) {
  if (!f.top || !IsBatchJob(*f.top) || !f.training) return std::nullopt;
  return Match{WorkloadClass::kTraining,
               OwnerText(*f.top) + " with a training hint (" + *f.training + ")" + Arrow(WorkloadClass::kTraining)};
}

std::optional<Match> OwnerJobRule(const Facts& f) {
  if (!f.top || !IsBatchJob(*f.top)) return std::nullopt;
  return Match{WorkloadClass::kBatch, OwnerText(*f.top) + Arrow(WorkloadClass::kBatch)};
}

std::optional<Match> OwnerNotebookRule(const Facts& f) {
  if (!f.top || f.top->kind != "Notebook") return std::nullopt;
  return Match{WorkloadClass::kNotebook, OwnerText(*f.top) + Arrow(WorkloadClass::kNotebook)};
}

std::optional<Match> NotebookHintRule(const Facts& f) {
  if (!f.notebook) return std::nullopt;
  return Match{WorkloadClass::kNotebook, *f.notebook + Arrow(WorkloadClass::kNotebook)};
}

std::optional<Match> ServingEngineRule(const Facts& f) {
  const model::ServingEngine& e = f.in.pod.engine;
  if (!e.Found()) return std::nullopt;
  std::string reason = "serving engine " + e.name;
  if (!e.evidence.empty()) reason += " (" + e.evidence + ")";
  return Match{WorkloadClass::kInteractive, reason + Arrow(WorkloadClass::kInteractive)};
}

std::optional<Match> OwnerServingRule(const Facts& f) {
  if (!f.top || !IsServingKind(*f.top)) return std::nullopt;
  return Match{WorkloadClass::kInteractive, OwnerText(*f.top) + Arrow(WorkloadClass::kInteractive)};
}

std::optional<Match> TrafficRule(const Facts& f) {
  const double rps = f.in.requests_per_second;
  if (!(std::isfinite(rps) && rps > 0)) return std::nullopt;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "traffic %.3g requests/s", rps);
  return Match{WorkloadClass::kInteractive, buf + Arrow(WorkloadClass::kInteractive)};
}

std::optional<Match> TrainingHintRule(const Facts& f) {
  if (!f.training) return std::nullopt;
  return Match{WorkloadClass::kTraining, *f.training + Arrow(WorkloadClass::kTraining)};
}

std::optional<Match> DevHintRule(const Facts& f) {
  if (!f.dev) return std::nullopt;
  return Match{WorkloadClass::kDev, *f.dev + Arrow(WorkloadClass::kDev)};
}

std::optional<Match> NoneRule(const Facts&) { return Match{WorkloadClass::kUnknown, "no rule matched"}; }

struct RuleEntry {
  ClassRule rule;
  MatchFn match;
};

// The one table, in order; first match wins. docs/annotations.md lists the same rows.
constexpr RuleEntry kRules[] = {
    {{"annotation", "gpuwise.io/class on the pod, else on its namespace -> that class"}, AnnotationRule},
    {{"owner-training",
      "top owner PyTorchJob, TFJob, MPIJob, XGBoostJob, PaddleJob, JAXJob, MXJob, TrainJob, RayJob, JobSet, or a "
      "Volcano Job (batch.volcano.sh) -> training"},
     OwnerTrainingRule},
    {{"owner-job-training", "top owner Job or CronJob (batch) with a training hint -> training"},
     OwnerJobTrainingRule},
    {{"owner-job", "top owner Job or CronJob (batch) -> batch"}, OwnerJobRule},
    {{"owner-notebook", "top owner Notebook -> notebook"}, OwnerNotebookRule},
    {{"notebook-hint", "a Jupyter image (a jupyter/ path part or a jupyter* name) or a jupyter lab|notebook|server "
                       "command -> notebook"},
     NotebookHintRule},
    {{"serving-engine", "a model-serving engine found in the pod -> interactive"}, ServingEngineRule},
    {{"owner-serving", "top owner InferenceService, LeaderWorkerSet or RayService -> interactive"}, OwnerServingRule},
    {{"traffic", "observed requests/s > 0 on a serving port -> interactive"}, TrafficRule},
    {{"training-hint", "torchrun, torch.distributed.*, deepspeed or --deepspeed, accelerate launch; env MASTER_ADDR "
                       "or WORLD_SIZE -> training"},
     TrainingHintRule},
    {{"dev-hint", "sleep infinity, tail -f /dev/null, code-server; a code-server, vscode or devcontainer image "
                  "-> dev"},
     DevHintRule},
    {{"none", "no rule matched -> unknown"}, NoneRule},
};

constexpr std::array<ClassRule, std::size(kRules)> MakeRuleList() {
  std::array<ClassRule, std::size(kRules)> out{};
  for (std::size_t i = 0; i < std::size(kRules); ++i) out[i] = kRules[i].rule;
  return out;
}
constexpr std::array<ClassRule, std::size(kRules)> kRuleList = MakeRuleList();

}  // namespace

std::span<const ClassRule> ClassRules() { return kRuleList; }

WorkloadClassification ClassifyWorkload(const ClassifyInput& input) {
  Facts facts{input, std::nullopt, {}, std::nullopt, std::nullopt, std::nullopt};
  if (!input.pod.owners.empty()) facts.top = input.pod.owners.back();
  // The class annotation is read through the one parser (warnings are the policy's to report, not ours).
  facts.annotated = model::ResolvePolicy(input.pod, input.ns, model::TeamOptions{{}}).workload_class;
  facts.training = TrainingHint(input.pod);
  facts.notebook = NotebookHint(input.pod);
  facts.dev = DevHint(input.pod);
  for (const RuleEntry& entry : kRules) {
    if (std::optional<Match> m = entry.match(facts)) {
      return {m->workload_class, std::move(m->reason), std::string(entry.rule.id)};
    }
  }
  CHECK(false) << "the last workload-class rule always matches";
  return {};
}

}  // namespace gpuwise::analyze
