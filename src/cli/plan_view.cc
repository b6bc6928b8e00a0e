#include "cli/plan_view.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/units.h"

namespace gpuwise::cli {
namespace {

using nlohmann::json;

std::string Money(std::int64_t micro) { return base::FormatDollars(micro); }

json Tolerations(const std::vector<model::Taint>& ts) {
  json a = json::array();
  for (const model::Taint& t : ts) {
    json j = {{"key", t.key}, {"effect", t.effect}};
    if (t.value == "*") j["operator"] = "Exists";
    else j["value"] = t.value, j["operator"] = "Equal";
    a.push_back(j);
  }
  return a;
}

// The typed value as JSON: null for none.
json ValueJson(const model::ActionValue& v) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, model::ResourceValues>) {
          return {{"requests", x.requests}, {"limits", x.limits}};
        } else if constexpr (std::is_same_v<T, model::EngineArgs>) {
          return {{"args", x.args}};
        } else if constexpr (std::is_same_v<T, model::ReplicaCount>) {
          return {{"replicas", x.replicas}};
        } else if constexpr (std::is_same_v<T, model::AutoscalerBounds>) {
          return {{"minReplicas", x.min_replicas}, {"maxReplicas", x.max_replicas}};
        } else if constexpr (std::is_same_v<T, model::LabelValue>) {
          return {{"key", x.key}, {"value", x.value ? json(*x.value) : json(nullptr)}};
        } else if constexpr (std::is_same_v<T, model::ConfigMapValue>) {
          json j = {{"key", x.key}, {"format", x.format}, {"text", x.text ? json(*x.text) : json(nullptr)}};
          if (!x.mig_layouts.empty()) j["migLayouts"] = x.mig_layouts;
          for (const auto& [name, kg] : x.mig_devices) j["migDevices"][name] = {{"migGpus", kg.first}, {"gpus", kg.second}};
          if (!x.sharing.empty()) {
            json s = json::object();
            for (const auto& [name, v] : x.sharing) s[name] = {{"strategy", v.first}, {"replicas", v.second}};
            j["sharing"] = s;
          }
          return j;
        } else if constexpr (std::is_same_v<T, model::Schedulability>) {
          return {{"unschedulable", x.unschedulable}};
        } else if constexpr (std::is_same_v<T, model::PodPlacement>) {
          return {{"node", x.node}};
        } else if constexpr (std::is_same_v<T, model::CronSchedule>) {
          return {{"schedule", x.schedule}, {"suspend", x.suspend}};
        } else {
          static_assert(std::is_same_v<T, model::SchedulingValues>);
          return {{"nodeSelector", x.node_selector}, {"tolerations", Tolerations(x.tolerations)}};
        }
      },
      v);
}

json ActionJson(const model::Action& a) {
  json revert = a.revert.manual ? json{{"manual", true}, {"instructions", a.revert.instructions}}
                                : json{{"manual", false}, {"kind", std::string(model::ActionKindName(a.revert.kind))}};
  return {{"id", a.id},
          {"optimizer", a.optimizer},
          {"kind", std::string(model::ActionKindName(a.kind))},
          {"target",
           {{"apiVersion", a.target.api_version}, {"kind", a.target.kind}, {"namespace", a.target.namespace_name},
            {"name", a.target.name}, {"container", a.target.container}}},
          {"before", ValueJson(a.before)},
          {"after", ValueJson(a.after)},
          {"dependsOn", a.depends_on},
          {"disruption",
           {{"podsRestarted", a.disruption.pods_restarted}, {"expectedSeconds", a.disruption.expected_seconds},
            {"text", a.disruption.text}}},
          {"reason", a.reason},
          {"evidence", a.evidence},
          {"risk", std::string(model::RiskName(a.risk))},
          {"revert", revert}};
}

// A short description of the change: "replicas 2 -> 0", "nvidia.com/mig.config -> all-balanced".
std::string Change(const model::Action& a) {
  const json f = ValueJson(a.after);
  switch (a.kind) {
    case model::ActionKind::kSetReplicas:
      return "replicas " + std::to_string(std::get<model::ReplicaCount>(a.before).replicas) + " -> " +
             std::to_string(std::get<model::ReplicaCount>(a.after).replicas);
    case model::ActionKind::kCordon: return "cordon";
    case model::ActionKind::kUncordon: return "uncordon";
    case model::ActionKind::kEvict: return "evict from " + std::get<model::PodPlacement>(a.before).node;
    case model::ActionKind::kSetNodeLabel:
    case model::ActionKind::kWaitForNodeLabel: {
      const auto& l = std::get<model::LabelValue>(a.after);
      return l.key + (a.kind == model::ActionKind::kWaitForNodeLabel ? " == " : " -> ") + l.value.value_or("(absent)");
    }
    case model::ActionKind::kSetConfigMapKey: return "key " + std::get<model::ConfigMapValue>(a.after).key;
    case model::ActionKind::kSetResources: {
      auto side = [](const model::ResourceValues& v) {
        std::string s;
        for (const auto& [k, q] : v.requests) s += (s.empty() ? "" : ", ") + k + " " + q;
        return s.empty() ? std::string("(none)") : s;
      };
      return side(std::get<model::ResourceValues>(a.before)) + " -> " + side(std::get<model::ResourceValues>(a.after));
    }
    default: return f.dump();
  }
}

std::string Slug(const model::Action& a) {
  std::string s = a.id + "-" + std::string(model::ActionKindName(a.kind)) + "-" +
                  (a.target.namespace_name.empty() ? "" : a.target.namespace_name + "-") + a.target.name;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '-';
  }
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// kubectl's resource argument: "deployment.apps/chat" (kind.group for non-core groups).
std::string Resource(const model::ObjectRef& t) {
  std::string r = Lower(t.kind);
  if (auto slash = t.api_version.find('/'); slash != std::string::npos) r += "." + t.api_version.substr(0, slash);
  return r + "/" + t.name;
}

std::string Ns(const model::ObjectRef& t) { return t.namespace_name.empty() ? "" : " -n " + Quote(t.namespace_name); }

// The file for an action (empty name: no file, the command says it all) and its kubectl command.
struct Step {
  std::string file, body, command;
};

Step StepFor(const model::Action& a, int index) {
  Step s;
  char prefix[16];
  std::snprintf(prefix, sizeof prefix, "%02d-", index);
  const std::string base = prefix + Slug(a);
  const model::ObjectRef& t = a.target;
  switch (a.kind) {
    case model::ActionKind::kSetReplicas:
      s.file = base + ".json";
      s.body = json{{"spec", {{"replicas", std::get<model::ReplicaCount>(a.after).replicas}}}}.dump(2);
      s.command = "kubectl" + Ns(t) + " patch " + Resource(t) + " --type merge --patch-file " + Quote(s.file);
      break;
    case model::ActionKind::kSetAutoscalerBounds: {
      const auto& b = std::get<model::AutoscalerBounds>(a.after);
      s.file = base + ".json";
      s.body = json{{"spec", {{"minReplicas", b.min_replicas}, {"maxReplicas", b.max_replicas}}}}.dump(2);
      s.command = "kubectl" + Ns(t) + " patch " + Resource(t) + " --type merge --patch-file " + Quote(s.file);
      break;
    }
    case model::ActionKind::kSetResources: {
      const auto& r = std::get<model::ResourceValues>(a.after);
      const auto& before = std::get<model::ResourceValues>(a.before);
      json res = {{"requests", r.requests}, {"limits", r.limits}};
      // A strategic merge patch removes a resource by setting it to null.
      for (const auto& [k, v] : before.requests) {
        if (!r.requests.count(k)) res["requests"][k] = nullptr;
      }
      for (const auto& [k, v] : before.limits) {
        if (!r.limits.count(k)) res["limits"][k] = nullptr;
      }
      json container = {{"name", t.container}, {"resources", res}};
      s.file = base + ".json";
      s.body = json{{"spec", {{"template", {{"spec", {{"containers", json::array({container})}}}}}}}}.dump(2);
      s.command = "kubectl" + Ns(t) + " patch " + Resource(t) + " --type strategic --patch-file " + Quote(s.file);
      break;
    }
    case model::ActionKind::kSetScheduling: {
      const auto& v = std::get<model::SchedulingValues>(a.after);
      s.file = base + ".json";
      s.body = json{{"spec", {{"template", {{"spec", {{"nodeSelector", v.node_selector}, {"tolerations", Tolerations(v.tolerations)}}}}}}}}
                   .dump(2);
      s.command = "kubectl" + Ns(t) + " patch " + Resource(t) + " --type strategic --patch-file " + Quote(s.file);
      break;
    }
    case model::ActionKind::kSetCronSchedule: {
      const auto& v = std::get<model::CronSchedule>(a.after);
      s.file = base + ".json";
      s.body = json{{"spec", {{"schedule", v.schedule}, {"suspend", v.suspend}}}}.dump(2);
      s.command = "kubectl" + Ns(t) + " patch " + Resource(t) + " --type merge --patch-file " + Quote(s.file);
      break;
    }
    case model::ActionKind::kSetEngineArgs:
      // Engine arguments live in the container's args: the patch needs the whole list, which the plan does not
      // carry; the command says what to change.
      s.command = "# edit " + Resource(t) + " container " + t.container + ": set " + ValueJson(a.after).dump();
      break;
    case model::ActionKind::kSetNodeLabel: {
      const auto& l = std::get<model::LabelValue>(a.after);
      s.command = "kubectl label node " + Quote(t.name) + " " + Quote(l.key + (l.value ? "=" + *l.value : "-")) + " --overwrite";
      break;
    }
    case model::ActionKind::kWaitForNodeLabel: {
      const auto& l = std::get<model::LabelValue>(a.after);
      std::string path = l.key;
      std::string escaped;
      for (char c : path) escaped += c == '.' ? std::string("\\.") : std::string(1, c);
      s.command = "kubectl wait node/" + t.name + " --for=jsonpath='{.metadata.labels." + escaped + "}'=" +
                  l.value.value_or("") + " --timeout=30m";
      break;
    }
    case model::ActionKind::kSetConfigMapKey: {
      const auto& v = std::get<model::ConfigMapValue>(a.after);
      s.file = base + ".json";
      s.body = json{{"data", {{v.key, v.text.value_or("")}}}}.dump(2);
      s.command = "kubectl" + Ns(t) + " patch configmap " + Quote(t.name) + " --type merge --patch-file " + Quote(s.file) +
                  " || kubectl" + Ns(t) + " create configmap " + Quote(t.name) + " --from-literal=" +
                  Quote(v.key + "=" + v.text.value_or(""));
      break;
    }
    case model::ActionKind::kCordon: s.command = "kubectl cordon " + Quote(t.name); break;
    case model::ActionKind::kUncordon: s.command = "kubectl uncordon " + Quote(t.name); break;
    case model::ActionKind::kEvict:
      s.file = base + ".json";
      s.body = json{{"apiVersion", "policy/v1"},
                    {"kind", "Eviction"},
                    {"metadata", {{"name", t.name}, {"namespace", t.namespace_name}}}}
                   .dump(2);
      // The eviction API honours PodDisruptionBudgets: `evict` (kEvictFunction) retries while the budget is spent.
      s.command = "evict " + Quote(t.namespace_name) + " " + Quote(t.name) + " " + Quote(s.file);
      break;
  }
  return s;
}

}  // namespace

nlohmann::json PlanJson(const model::Plan& p) {
  json actions = json::array();
  for (const model::Action& a : p.actions) actions.push_back(ActionJson(a));
  json freed = json::array();
  for (const model::FreedGpu& f : p.savings.freed) {
    freed.push_back({{"node", f.node}, {"gpus", f.gpus}, {"nodeReleased", f.node_released},
                     {"microUsdPerHour", f.micro_per_hour}, {"actions", f.actions}});
  }
  json optimizers = json::array();
  for (const model::OptimizerRun& o : p.optimizers) {
    optimizers.push_back({{"name", o.name}, {"enabled", o.enabled}, {"seconds", o.seconds}, {"actions", o.actions}, {"notes", o.notes}});
  }
  return {{"id", p.id},
          {"snapshotId", p.snapshot_id},
          {"created", p.created_unix_s},
          {"actions", actions},
          {"savings",
           {{"gpusFreed", p.savings.gpus_freed}, {"nodesReleased", p.savings.nodes_released},
            {"microUsdPerHour", p.savings.micro_per_hour}, {"annualizedMicroUsd", p.savings.annualized},
            {"freed", freed}, {"enables", p.savings.enables}, {"method", p.savings.method}, {"notes", p.savings.notes},
            {"podsLeftPending", p.savings.pods_left_pending}}},
          {"risks", p.risks},
          {"optimizers", optimizers}};
}

Table PlanTable(const model::Plan& p) {
  Table t;
  t.columns = {"ID", "OPTIMIZER", "KIND", "TARGET", "CHANGE", "RISK", "DEPENDS", "REASON"};
  for (const model::Action& a : p.actions) {
    std::string deps;
    for (const std::string& d : a.depends_on) deps += (deps.empty() ? "" : ",") + d;
    t.rows.push_back({a.id, a.optimizer, std::string(model::ActionKindName(a.kind)),
                      (a.target.namespace_name.empty() ? "" : a.target.namespace_name + "/") + a.target.kind + "/" + a.target.name,
                      Change(a), std::string(model::RiskName(a.risk)), deps.empty() ? "-" : deps, a.reason});
  }
  t.notes.push_back(RecoverableLine(p.savings));
  return t;
}

std::string RecoverableLine(const model::PlanSavings& s) {
  if (s.gpus_freed == 0) return "recoverable: nothing the plan frees yet (no GPU ends with no pod)";
  return "recoverable " + Money(s.annualized) + " a year (" + Money(s.micro_per_hour) + " per hour): the plan frees " +
         std::to_string(s.gpus_freed) + " GPU(s)" +
         (s.nodes_released > 0 ? ", " + std::to_string(s.nodes_released) + " whole node(s)" : std::string()) +
         " (gpuwise recommend)";
}

std::string PlanText(const model::Plan& p, bool color) {
  std::ostringstream out;
  out << (color ? "\033[1mgpuwise plan\033[0m " : "gpuwise plan ") << p.id << "  (" << p.actions.size() << " actions, from "
      << p.snapshot_id << ")\n\n";
  if (p.actions.empty()) {
    out << "  nothing to change.\n";
  } else {
    Table t = PlanTable(p);
    t.notes.clear();
    out << RenderTable(t, color) << "\n";
  }
  out << "SAVINGS  " << RecoverableLine(p.savings) << "\n";
  for (const model::FreedGpu& f : p.savings.freed) {
    out << "  " << f.node << ": " << f.gpus << " GPU(s) " << (f.node_released ? "(the whole node) " : "") << Money(f.micro_per_hour)
        << "/h by " << [&] {
             std::string s;
             for (const std::string& a : f.actions) s += (s.empty() ? "" : ", ") + a;
             return s.empty() ? std::string("-") : s;
           }() << "\n";
  }
  for (const auto& [id, enables] : p.savings.enables) {
    if (!enables.empty()) out << "  " << id << ": $0 by itself; enables " << enables << "\n";
  }
  out << "  method: " << p.savings.method << "\n";
  for (const std::string& n : p.savings.notes) out << "  note: " << n << "\n";
  if (!p.risks.empty()) {
    out << "\nRISKS\n";
    for (const std::string& r : p.risks) out << "  " << r << "\n";
  }
  out << "\nOPTIMIZERS\n";
  for (const model::OptimizerRun& o : p.optimizers) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f s", o.seconds);
    out << "  " << o.name << ": " << (o.enabled ? std::to_string(o.actions) + " action(s), " + secs : std::string("disabled")) << "\n";
    for (const std::string& n : o.notes) out << "    - " << n << "\n";
  }
  return out.str();
}

// apply.sh's eviction: the eviction API, retried every 5 s for up to 10 minutes while a PodDisruptionBudget forbids
// it (HTTP 429), as kubectl drain does; a pod already gone counts as evicted; any other error stops the script.
constexpr char kEvictFunction[] = R"(
# evict NAMESPACE POD FILE: the eviction API, retried every 5 s for up to 10 minutes while a PodDisruptionBudget
# forbids it (429 TooManyRequests), as kubectl drain does; a pod already gone counts as evicted.
evict() {
  tries=0
  while :; do
    if out=$(kubectl create --raw "/api/v1/namespaces/$1/pods/$2/eviction" -f "$3" 2>&1); then return 0; fi
    case "$out" in
      *NotFound*) return 0 ;;
      *TooManyRequests*) ;;
      *) echo "evict $1/$2: $out" >&2; return 1 ;;
    esac
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ]; then echo "evict $1/$2: its disruption budget still forbids it after 10 minutes" >&2; return 1; fi
    sleep 5
  done
}
)";

base::Result<int> WritePlanFiles(const model::Plan& p, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return base::InvalidArgument("--out-dir " + dir + ": " + ec.message());
  // Files an earlier plan wrote here ("NN-aN-....json") would mix with this plan's: remove them, and only them.
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const bool ours = name.size() > 6 && std::isdigit(static_cast<unsigned char>(name[0])) &&
                      std::isdigit(static_cast<unsigned char>(name[1])) && name.compare(2, 2, "-a") == 0 &&
                      name.ends_with(".json");
    if (ours) fs::remove(e.path(), ec);
  }
  auto write = [&](const std::string& name, const std::string& body) -> base::Status {
    std::ofstream f(fs::path(dir) / name, std::ios::trunc);
    f << body;
    f.close();
    if (!f) return base::InvalidArgument("--out-dir " + dir + ": cannot write " + name);
    return base::Status::Ok();
  };
  int files = 0;
  std::ostringstream script;
  script << "#!/bin/sh\n# gpuwise plan " << p.id << " (" << p.snapshot_id << "): " << p.actions.size()
         << " actions in order. Review before running;\n# each step's reason, risk and disruption are in plan.json.\n"
         << "# " << RecoverableLine(p.savings) << "\nset -eu\ncd \"$(dirname \"$0\")\"\n";
  if (std::any_of(p.actions.begin(), p.actions.end(), [](const model::Action& a) { return a.kind == model::ActionKind::kEvict; })) {
    script << kEvictFunction;
  }
  int index = 1;
  for (const model::Action& a : p.actions) {
    const Step s = StepFor(a, index++);
    if (!s.file.empty()) {
      RETURN_IF_ERROR(write(s.file, s.body + "\n"));
      ++files;
    }
    script << "\n# " << a.id << " [" << model::RiskName(a.risk) << "] " << a.reason << "\n";
    if (!a.disruption.text.empty()) script << "# disruption: " << a.disruption.text << "\n";
    script << s.command << "\n";
  }
  RETURN_IF_ERROR(write("apply.sh", script.str()));
  fs::permissions(fs::path(dir) / "apply.sh", fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add, ec);
  json doc = PlanJson(p);
  doc["apiVersion"] = std::string(kApiVersion);
  doc["kind"] = "Plan";
  RETURN_IF_ERROR(write("plan.json", doc.dump(2) + "\n"));
  return files + 2;
}

}  // namespace gpuwise::cli
