#include "observe/kube/cluster_reader.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "observe/kube/object_convert.h"
#include "observe/kube/rbac.h"

namespace gpuwise::observe::kube {
namespace {

const AccessRule& Use(Need need, std::string_view verb, const ResourceType& type) {
  return RuleFor(need, verb, type.group, type.resource);
}

base::Status WithRule(const base::Status& st, const AccessRule& rule) {
  return base::Status(st.code(), st.message() + " (gpuwise rbac rule " + std::string(rule.id) + ")");
}

std::string GroupOf(std::string_view api_version) {
  const std::size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string() : std::string(api_version.substr(0, slash));
}

std::string Describe(std::string_view ns, const model::OwnerRef& ref) {
  return "owner " + ref.kind + " " + (ns.empty() ? "" : std::string(ns) + "/") + ref.name + " (" + ref.api_version +
         ")";
}

std::string SourceOf(const RestConfig& c) {
  std::string s = c.server;
  if (!c.context.empty()) s += " (context " + c.context + ")";
  return s;
}

// Namespaces where KAI keeps the reservation pods that hold shared GPUs (current and Run:ai-era names).
bool IsKaiReservationNamespace(std::string_view ns) {
  return ns == "kai-resource-reservation" || ns == "runai-reservation";
}

// Pods say what nodes run: HAMi annotates the pods it binds (hami.io/vgpu-node, hami.io/bind-phase, ...); KAI
// shares GPUs through gpu-fraction / gpu-memory pods placed by its own scheduler, and reservation pods.
void MarkBackendsFromPods(model::ClusterState& state) {
  std::unordered_map<std::string, model::Node*> by_name;
  for (model::Node& n : state.nodes) by_name[n.name] = &n;
  for (const model::Pod& p : state.pods) {
    if (p.node.empty()) continue;
    auto it = by_name.find(p.node);
    if (it == by_name.end() || it->second->backend != model::FractionalBackend::kNone) continue;
    const bool hami = std::any_of(p.annotations.begin(), p.annotations.end(),
                                  [](const auto& kv) { return kv.first.starts_with("hami.io/"); });
    const model::GpuRequest g = p.GpuTotal();
    const bool kai = IsKaiReservationNamespace(p.namespace_name) ||
                     ((g.kai_fraction > 0 || g.kai_memory_mib > 0) && !p.scheduler_name.empty() &&
                      p.scheduler_name != "default-scheduler");
    if (hami) it->second->backend = model::FractionalBackend::kHami;
    else if (kai) it->second->backend = model::FractionalBackend::kKai;
  }
}

}  // namespace

std::string OwnerResolver::Key(std::string_view namespace_name, std::string_view group, std::string_view kind,
                               std::string_view name) {
  std::string key;
  key.reserve(namespace_name.size() + group.size() + kind.size() + name.size() + 3);
  key.append(namespace_name).append("/").append(group).append("/").append(kind).append("/").append(name);
  return key;
}

OwnerResolver::Step OwnerResolver::StepOf(const nlohmann::json& obj, const std::string& what) {
  Step step;
  step.readable = true;
  if (const auto* meta = obj.is_object() && obj.contains("metadata") ? &obj["metadata"] : nullptr;
      meta != nullptr && meta->is_object() && meta->contains("uid") && (*meta)["uid"].is_string()) {
    step.uid = (*meta)["uid"].get<std::string>();
  }
  base::Result<std::optional<model::OwnerRef>> next = ControllerOwnerFromJson(obj, what);
  if (next.ok()) step.next = *next;
  else step.bad_owners = next.status().message();
  return step;
}

OwnerResolver::Step& OwnerResolver::Lookup(std::string_view namespace_name, const model::OwnerRef& ref,
                                           std::vector<std::string>* warnings) {
  const std::string group = GroupOf(ref.api_version);
  std::string key = Key(namespace_name, group, ref.kind, ref.name);
  auto warn_once = [&](Step& step, const std::string& why) -> Step& {
    if (!step.warned && warnings != nullptr) {
      warnings->push_back(Describe(namespace_name, ref) + " cannot be read: " + why +
                          "; its pods are attributed to it, the walk stops there");
    }
    step.warned = true;
    return step;
  };
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    Step step;
    std::string why;
    if (group.empty() && ref.kind == "Node") {
      // Static (mirror) pods are owned by their Node, which owns nothing above it.
      step.readable = true;
    } else if (base::Result<ResourceType> type = client_.ResolveKind(ref.api_version, ref.kind); !type.ok()) {
      why = type.status().message();
    } else {
      const Need need = IsBuiltinOwnerGroup(group) ? Need::kGetBuiltinOwners : Need::kGetCustomOwners;
      const bool covered = Covers(Rule(need), "get", type->group, type->resource);
      ++gets_;
      base::Result<ObjectPtr> object = client_.Get(*type, type->namespaced ? namespace_name : "", ref.name);
      if (object.ok()) {
        step = StepOf(**object, Describe(namespace_name, ref));
      } else {
        why = object.status().message();
        if (object.status().code() == base::Code::kPermissionDenied && !covered) {
          why += " (gpuwise's ClusterRole does not cover " + type->Key() + "; add the group with --owner-group " +
                 type->group + ")";
        }
      }
    }
    it = cache_.emplace(std::move(key), std::move(step)).first;
    if (!why.empty()) return warn_once(it->second, why);
  }
  Step& step = it->second;
  if (step.readable && !ref.uid.empty() && !step.uid.empty() && step.uid != ref.uid) {
    // The object of that name was deleted and created again: the reference names the old one.
    Step& stale = cache_[it->first + "#" + ref.uid];
    return warn_once(stale, "the object of that name has uid " + step.uid + ", the reference names " + ref.uid +
                                " (it was deleted and created again)");
  }
  if (!step.bad_owners.empty() && !step.warned) {
    if (warnings != nullptr) warnings->push_back(step.bad_owners + "; the walk stops there");
    step.warned = true;
  }
  return step;
}

void OwnerResolver::Prefetch(const std::vector<std::pair<std::string, model::OwnerRef>>& direct,
                             const std::vector<std::string>& namespaces, std::vector<std::string>* warnings,
                             std::size_t list_threshold) {
  std::vector<std::pair<std::string, model::OwnerRef>> level = direct;
  for (int depth = 0; depth < max_depth_ && !level.empty(); ++depth) {
    // Distinct unread built-in owners of this level, by group/kind (one example reference each, for ResolveKind).
    std::map<std::string, std::pair<model::OwnerRef, std::set<std::string>>> unread;
    for (const auto& [ns, ref] : level) {
      const std::string group = GroupOf(ref.api_version);
      if (!IsBuiltinOwnerGroup(group) || (group.empty() && ref.kind == "Node")) continue;
      std::string key = Key(ns, group, ref.kind, ref.name);
      if (cache_.count(key)) continue;
      auto& slot = unread[group + "/" + ref.kind];
      if (slot.second.empty()) slot.first = ref;
      slot.second.insert(std::move(key));
    }
    for (const auto& [group_kind, want] : unread) {
      if (want.second.size() < list_threshold || list_refused_.count(group_kind)) continue;
      base::Result<ResourceType> type = client_.ResolveKind(want.first.api_version, want.first.kind);
      if (!type.ok()) continue;  // Chain meets the same error and says so once per owner
      const AccessRule& rule = RuleFor(Need::kListBuiltinOwners, "list", type->group, type->resource);
      std::vector<std::string> scopes = type->namespaced ? namespaces : std::vector<std::string>{};
      if (scopes.empty()) scopes.push_back("");
      for (const std::string& scope : scopes) {
        ListOptions lo;
        lo.namespace_name = scope;
        ++lists_;
        base::Result<ObjectList> list = client_.List(*type, lo);
        if (!list.ok()) {
          list_refused_.insert(group_kind);
          if (warnings != nullptr) {
            warnings->push_back("owners of kind " + type->Key() + " not listed, read one GET at a time (slower): " +
                                WithRule(list.status(), rule).message());
          }
          break;
        }
        for (const ObjectPtr& item : list->items) {
          const nlohmann::json& obj = *item;
          const nlohmann::json* meta = obj.is_object() && obj.contains("metadata") ? &obj["metadata"] : nullptr;
          if (meta == nullptr || !meta->is_object() || !meta->contains("name") || !(*meta)["name"].is_string()) {
            continue;
          }
          const std::string name = (*meta)["name"].get<std::string>();
          std::string ns;
          if (meta->contains("namespace") && (*meta)["namespace"].is_string()) {
            ns = (*meta)["namespace"].get<std::string>();
          }
          model::OwnerRef self;
          self.api_version = type->ApiVersion();
          self.kind = type->kind;
          self.name = name;
          cache_.emplace(Key(ns, type->group, type->kind, name), StepOf(obj, Describe(ns, self)));
        }
      }
    }
    // The next level: the owners of what this level named, as far as they are known now.
    std::vector<std::pair<std::string, model::OwnerRef>> next;
    std::set<std::string> seen;
    for (const auto& [ns, ref] : level) {
      auto it = cache_.find(Key(ns, GroupOf(ref.api_version), ref.kind, ref.name));
      if (it == cache_.end() || !it->second.next) continue;
      const model::OwnerRef& up = *it->second.next;
      if (seen.insert(Key(ns, GroupOf(up.api_version), up.kind, up.name)).second) next.emplace_back(ns, up);
    }
    level = std::move(next);
  }
}

std::vector<model::OwnerRef> OwnerResolver::Chain(std::string_view namespace_name, const model::OwnerRef& direct,
                                                  std::vector<std::string>* warnings) {
  std::vector<model::OwnerRef> chain = {direct};
  std::set<std::pair<std::string, std::string>> seen = {{direct.kind, direct.name}};
  model::OwnerRef cur = direct;
  for (int depth = 0; depth < max_depth_; ++depth) {
    const Step& step = Lookup(namespace_name, cur, warnings);
    if (!step.readable || !step.next) break;
    if (!seen.insert({step.next->kind, step.next->name}).second) {
      if (warnings != nullptr) {
        warnings->push_back(Describe(namespace_name, cur) + ": ownerReferences form a cycle through " +
                            step.next->kind + " " + step.next->name + "; the walk stops there");
      }
      break;
    }
    chain.push_back(*step.next);
    cur = *step.next;
  }
  return chain;
}

base::Result<model::ClusterState> ReadCluster(KubeClient& client, const ReadOptions& options) {
  base::Clock& clock = options.clock != nullptr ? *options.clock : base::SystemClock::Get();
  model::ClusterState state;
  state.read_unix_s = clock.NowUnixMillis() / 1000;
  state.source = SourceOf(client.config());
  auto progress = [&](std::string_view stage) -> std::function<void(std::size_t)> {
    if (!options.progress) return {};
    return [&options, stage](std::size_t n) { options.progress(stage, n); };
  };

  // Nodes: required.
  {
    const AccessRule& rule = Use(Need::kListNodes, "list", NodesType());
    base::Result<ObjectList> nodes = client.List(NodesType(), {}, progress("nodes"));
    if (!nodes.ok()) return WithRule(nodes.status(), rule);
    for (const ObjectPtr& item : nodes->items) {
      base::Result<model::Node> n = NodeFromJson(*item, &state.warnings);
      if (n.ok()) state.nodes.push_back(std::move(*n));
      else state.warnings.push_back("skipped: " + n.status().message());
    }
  }

  // Namespaces: labels and annotations only, so a failure is a warning.
  auto add_namespace = [&](const nlohmann::json& item) {
    base::Result<model::Namespace> ns = NamespaceFromJson(item);
    if (ns.ok()) state.namespaces.push_back(std::move(*ns));
    else state.warnings.push_back("skipped: " + ns.status().message());
  };
  if (options.namespaces.empty()) {
    const AccessRule& rule = Use(Need::kListNamespaces, "list", NamespacesType());
    base::Result<ObjectList> list = client.List(NamespacesType(), {}, progress("namespaces"));
    if (list.ok()) {
      for (const ObjectPtr& item : list->items) add_namespace(*item);
    } else {
      state.warnings.push_back("namespaces not read, their labels and gpuwise.io/ annotations are missing: " +
                               WithRule(list.status(), rule).message());
    }
  } else {
    const AccessRule& rule = Use(Need::kGetNamespaces, "get", NamespacesType());
    for (const std::string& name : options.namespaces) {
      base::Result<ObjectPtr> ns = client.Get(NamespacesType(), "", name);
      if (ns.ok()) {
        add_namespace(**ns);
      } else if (ns.status().code() == base::Code::kNotFound) {
        state.warnings.push_back("namespace " + name + " does not exist");
      } else {
        state.warnings.push_back("namespace " + name + " not read: " + WithRule(ns.status(), rule).message());
      }
    }
  }

  // Pods: required.
  {
    const AccessRule& rule = Use(Need::kListPods, "list", PodsType());
    std::vector<std::string> scopes = options.namespaces;
    if (scopes.empty()) scopes.push_back("");
    std::size_t done = 0;
    for (const std::string& ns : scopes) {
      ListOptions lo;
      lo.namespace_name = ns;
      lo.label_selector = options.label_selector;
      std::function<void(std::size_t)> per_page;
      if (options.progress) per_page = [&](std::size_t n) { options.progress("pods", done + n); };
      base::Result<ObjectList> pods = client.List(PodsType(), lo, per_page);
      if (!pods.ok()) return WithRule(pods.status(), rule);
      done += pods->items.size();
      for (const ObjectPtr& item : pods->items) {
        base::Result<model::Pod> p = PodFromJson(*item, &state.warnings);
        if (p.ok()) state.pods.push_back(std::move(*p));
        else state.warnings.push_back("skipped: " + p.status().message());
      }
    }
  }

  if (options.resolve_owners) {
    OwnerResolver owners(client, options.max_owner_depth);
    std::vector<std::pair<std::string, model::OwnerRef>> direct;
    for (const model::Pod& p : state.pods) {
      if (!p.owners.empty()) direct.emplace_back(p.namespace_name, p.owners.front());
    }
    if (options.list_owners_from > 0) {
      owners.Prefetch(direct, options.namespaces, &state.warnings, options.list_owners_from);
    }
    std::size_t walked = 0;
    for (model::Pod& p : state.pods) {
      if (!p.owners.empty()) p.owners = owners.Chain(p.namespace_name, p.owners.front(), &state.warnings);
      if (options.progress) options.progress("owners", ++walked);
    }
  }

  // The GPU Operator's configs a plan extends: optional.
  for (const std::string& ref : options.config_maps) {
    const auto slash = ref.find('/');
    if (slash == std::string::npos) continue;
    const AccessRule& rule = Use(Need::kGetGpuOperatorConfigs, "get", ConfigMapsType());
    base::Result<ObjectPtr> cm = client.Get(ConfigMapsType(), ref.substr(0, slash), ref.substr(slash + 1));
    if (!cm.ok()) {
      state.warnings.push_back("configmap " + ref + " not read (plans that change MIG layouts then carry only their own "
                               "configs, to merge by hand): " + WithRule(cm.status(), rule).message());
      continue;
    }
    std::map<std::string, std::string>& data = state.config_maps[ref];
    if (auto d = (*cm)->find("data"); d != (*cm)->end() && d->is_object()) {
      for (auto it = d->begin(); it != d->end(); ++it) {
        if (it->is_string()) data[it.key()] = it->get<std::string>();
      }
    }
  }

  std::sort(state.nodes.begin(), state.nodes.end(),
            [](const model::Node& a, const model::Node& b) { return a.name < b.name; });
  std::sort(state.pods.begin(), state.pods.end(), [](const model::Pod& a, const model::Pod& b) {
    return std::tie(a.namespace_name, a.name) < std::tie(b.namespace_name, b.name);
  });
  std::sort(state.namespaces.begin(), state.namespaces.end(),
            [](const model::Namespace& a, const model::Namespace& b) { return a.name < b.name; });
  MarkBackendsFromPods(state);
  return state;
}

}  // namespace gpuwise::observe::kube
