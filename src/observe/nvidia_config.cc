#include "observe/nvidia_config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <initializer_list>
#include <set>
#include <utility>

namespace gpuwise::observe {
namespace {

namespace fr = optimize::fractional;

// A ConfigMap holds at most 1 MiB; leave room for hand-written files.
constexpr std::size_t kMaxBytes = 4u << 20;
constexpr int kMaxCount = 1'000'000;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  base::Status Error(const YAML::Node& n, const std::string& path, const std::string& what) const {
    std::string where = source_;
    const YAML::Mark m = n.Mark();
    if (m.line >= 0) where += " line " + std::to_string(m.line + 1);
    return base::InvalidArgument(where + ": " + (path.empty() ? "" : path + ": ") + what);
  }

  base::Status CheckKeys(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> known,
                         const char* verb = "unexpected field") const {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) return Error(it->first, path, "a key must be a single value");
      const std::string key = it->first.Scalar();
      if (!seen.insert(key).second) return Error(it->first, path, "duplicate key '" + key + "'");
      bool ok = false;
      for (const char* k : known) ok = ok || key == k;
      if (!ok) {
        std::string list;
        for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return Error(it->first, path, std::string(verb) + " '" + key + "' (known: " + list + ")");
      }
    }
    return base::Status::Ok();
  }

  base::Status Bool(const YAML::Node& n, const std::string& path, bool* out) const {
    // YAML 1.1 booleans as Go's yaml packages read them.
    if (n.IsScalar()) {
      const std::string s = Lower(n.Scalar());
      const bool yes = s == "true" || s == "yes" || s == "on" || s == "y";
      const bool no = s == "false" || s == "no" || s == "off" || s == "n";
      if (yes || no) {
        *out = yes;
        return base::Status::Ok();
      }
    }
    return Error(n, path, "expected true or false");
  }

  base::Status Int(const YAML::Node& n, const std::string& path, int min, int* out) const {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      bool digits = !s.empty() && s.size() <= 7;
      for (char c : s) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (digits && std::stoi(s) <= kMaxCount) {
        *out = std::stoi(s);
        if (*out < min) return Error(n, path, "must be at least " + std::to_string(min));
        return base::Status::Ok();
      }
    }
    return Error(n, path, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(kMaxCount));
  }

  base::Status Text(const YAML::Node& n, const std::string& path, std::string* out) const {
    if (!n.IsScalar() || n.Scalar().empty()) return Error(n, path, "expected a non-empty string");
    for (char c : n.Scalar()) {
      if (c < 0x20 || c > 0x7e) return Error(n, path, "expected printable ASCII");
    }
    *out = n.Scalar();
    return base::Status::Ok();
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

// The node label value `nvidia.com/mig.config=<name>` must hold it: at most 63 characters of [A-Za-z0-9-_.],
// alphanumeric at both ends (Kubernetes label value syntax).
bool UsableAsLabelValue(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return std::isalnum(static_cast<unsigned char>(s.front())) && std::isalnum(static_cast<unsigned char>(s.back()));
}

// "<n>g.<m>gb" with an optional "+<ext>" or "-<ext>" ("1g.10gb+me", "1g.24gb+me.all", "1g.24gb-me").
bool LooksLikeProfile(const std::string& s) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i > from && i - from <= 3;
  };
  if (!digits() || s.compare(i, 2, "g.") != 0) return false;
  i += 2;
  if (!digits() || s.compare(i, 2, "gb") != 0) return false;
  i += 2;
  if (i == s.size()) return true;
  if ((s[i] != '+' && s[i] != '-') || i + 1 == s.size() || s.size() > 40) return false;
  for (++i; i < s.size(); ++i) {
    const char c = s[i];
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '.') {
      return false;
    }
  }
  return true;
}

base::Status ReadEntry(const Reader& r, const YAML::Node& n, const std::string& path, fr::MigPartedEntry* e) {
  if (!n.IsMap()) return r.Error(n, path, "an entry is a mapping with devices and mig-enabled");
  RETURN_IF_ERROR(r.CheckKeys(n, path, {"device-filter", "devices", "mig-enabled", "mig-devices"}));
  // Required fields (spec.go MigConfigSpec.UnmarshalJSON).
  for (const char* key : {"devices", "mig-enabled"}) {
    if (!n[key]) return r.Error(n, path, std::string("missing required field '") + key + "'");
  }
  if (const YAML::Node f = n["device-filter"]) {
    const std::string at = path + ".device-filter";
    e->device_filter.clear();
    if (f.IsScalar()) {
      e->device_filter_is_list = false;
      std::string id;
      RETURN_IF_ERROR(r.Text(f, at, &id));
      e->device_filter.push_back(id);
    } else if (f.IsSequence()) {
      e->device_filter_is_list = true;
      for (std::size_t i = 0; i < f.size(); ++i) {
        std::string id;
        RETURN_IF_ERROR(r.Text(f[i], at + "[" + std::to_string(i) + "]", &id));
        e->device_filter.push_back(id);
      }
      if (e->device_filter.empty()) return r.Error(f, at, "an empty list selects no GPU");
    } else {
      return r.Error(f, at, "expected a PCI id string or a list of them");
    }
  }
  const YAML::Node d = n["devices"];
  const std::string dat = path + ".devices";
  if (d.IsScalar()) {
    if (d.Scalar() != "all") return r.Error(d, dat, "expected all or a list of GPU indices, not '" + d.Scalar() + "'");
    e->all_devices = true;
  } else if (d.IsSequence()) {
    e->all_devices = false;
    for (std::size_t i = 0; i < d.size(); ++i) {
      int index = 0;
      RETURN_IF_ERROR(r.Int(d[i], dat + "[" + std::to_string(i) + "]", 0, &index));
      e->devices.push_back(index);
    }
  } else {
    return r.Error(d, dat, "expected all or a list of GPU indices");
  }
  RETURN_IF_ERROR(r.Bool(n["mig-enabled"], path + ".mig-enabled", &e->mig_enabled));
  const YAML::Node m = n["mig-devices"];
  const std::string mat = path + ".mig-devices";
  if (m && !m.IsNull()) {
    if (!m.IsMap()) return r.Error(m, mat, "expected a mapping of MIG profile to count");
    std::set<std::string> seen;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!it->first.IsScalar() || !LooksLikeProfile(it->first.Scalar())) {
        return r.Error(it->first, mat, "\"" + (it->first.IsScalar() ? it->first.Scalar() : std::string("?")) +
                                           "\" is not a MIG profile name (<n>g.<m>gb, e.g. 1g.10gb or 1g.10gb+me)");
      }
      const std::string profile = it->first.Scalar();
      if (!seen.insert(profile).second) return r.Error(it->first, mat, "duplicate profile \"" + profile + "\"");
      int count = 0;
      RETURN_IF_ERROR(r.Int(it->second, mat + ".\"" + profile + "\"", 0, &count));
      e->mig_devices[profile] = count;
    }
  }
  if (e->mig_enabled && !m) {
    return r.Error(n, path, "missing required field 'mig-devices' when 'mig-enabled' is true");
  }
  // spec.go: "MIG devices included when 'mig-enabled' is false" (any entry, even a zero count).
  if (!e->mig_enabled && !e->mig_devices.empty()) {
    return r.Error(m, mat, "MIG devices included when 'mig-enabled' is false");
  }
  return base::Status::Ok();
}

base::Result<fr::MigPartedSpec> ParseSpec(const Reader& r, const YAML::Node& root) {
  if (!root.IsMap()) return r.Error(root, "", "a mig-parted config is a mapping with version and mig-configs");
  RETURN_IF_ERROR(r.CheckKeys(root, "", {"version", "mig-configs"}));
  const YAML::Node v = root["version"];
  if (!v) return r.Error(root, "", "missing 'version' field");
  if (!v.IsScalar() || v.Scalar() != "v1") {
    return r.Error(v, "version", "unknown version '" + (v.IsScalar() ? v.Scalar() : std::string("?")) + "' (v1)");
  }
  fr::MigPartedSpec spec;
  spec.version = v.Scalar();
  const YAML::Node configs = root["mig-configs"];
  if (!configs || configs.IsNull()) return spec;
  if (!configs.IsMap() || configs.size() == 0) {
    return r.Error(configs, "mig-configs", "at least one named config is required");
  }
  std::set<std::string> names;
  for (auto it = configs.begin(); it != configs.end(); ++it) {
    if (!it->first.IsScalar()) return r.Error(it->first, "mig-configs", "a config name must be a single value");
    const std::string name = it->first.Scalar();
    const std::string path = "mig-configs." + name;
    if (!UsableAsLabelValue(name)) {
      return r.Error(it->first, "mig-configs",
                     "config name '" + name + "' cannot be the value of node label nvidia.com/mig.config "
                     "(at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends)");
    }
    if (!names.insert(name).second) return r.Error(it->first, "mig-configs", "duplicate config '" + name + "'");
    const YAML::Node list = it->second;
    if (!list.IsSequence() || list.size() == 0) {
      return r.Error(list.IsDefined() && !list.IsNull() ? list : it->first, path, "at least one entry is required");
    }
    fr::MigPartedConfig config;
    config.name = name;
    for (std::size_t i = 0; i < list.size(); ++i) {
      fr::MigPartedEntry e;
      RETURN_IF_ERROR(ReadEntry(r, list[i], fr::EntryPath(name, i), &e));
      config.entries.push_back(std::move(e));
    }
    spec.configs.push_back(std::move(config));
  }
  return spec;
}

base::Result<YAML::Node> Load(std::string_view yaml, const std::string& source) {
  if (yaml.size() > kMaxBytes) {
    return base::ResourceExhausted(source + ": larger than " + std::to_string(kMaxBytes >> 20) + " MiB");
  }
  try {
    return YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return base::InvalidArgument(source + " line " + std::to_string(e.mark.line + 1) + " column " +
                                 std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
  }
}

base::Status ReadReplicated(const Reader& r, const YAML::Node& n, const std::string& path,
                            fr::ReplicatedResources* out) {
  if (!n.IsMap()) return r.Error(n, path, "expected a mapping with resources");
  RETURN_IF_ERROR(
      r.CheckKeys(n, path, {"renameByDefault", "failRequestsGreaterThanOne", "resources", "strategy"}, "unknown key"));
  if (const YAML::Node s = n["strategy"]; s && !(s.IsScalar() && s.Scalar().empty()) && !s.IsNull()) {
    return r.Error(s, path + ".strategy", "unknown time-slicing strategy (only the default is supported)");
  }
  if (const YAML::Node b = n["renameByDefault"]; b && !b.IsNull()) {
    bool v = false;
    RETURN_IF_ERROR(r.Bool(b, path + ".renameByDefault", &v));
    out->rename_by_default = v;
  }
  if (const YAML::Node b = n["failRequestsGreaterThanOne"]; b && !b.IsNull()) {
    bool v = false;
    RETURN_IF_ERROR(r.Bool(b, path + ".failRequestsGreaterThanOne", &v));
    out->fail_requests_greater_than_one = v;
  }
  const YAML::Node list = n["resources"];
  // replicas.go: "no resources specified".
  if (!list || !list.IsSequence() || list.size() == 0) {
    return r.Error(list && !list.IsNull() ? list : n, path + ".resources", "no resources specified");
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = path + ".resources[" + std::to_string(i) + "]";
    const YAML::Node res = list[i];
    if (!res.IsMap()) return r.Error(res, at, "expected a mapping with name and replicas");
    RETURN_IF_ERROR(r.CheckKeys(res, at, {"name", "replicas", "rename", "devices"}, "unknown key"));
    fr::ReplicatedResource rr;
    if (!res["name"]) return r.Error(res, at, "no resource name specified");
    RETURN_IF_ERROR(r.Text(res["name"], at + ".name", &rr.name));
    if (!res["replicas"]) return r.Error(res, at, "no replicas specified");
    RETURN_IF_ERROR(r.Int(res["replicas"], at + ".replicas", 1, &rr.replicas));
    out->resources.push_back(std::move(rr));
  }
  return base::Status::Ok();
}

// Plain when the text reads back as the same string in YAML 1.1 and 1.2; double-quoted otherwise.
void Str(YAML::Emitter& out, const std::string& s) {
  static const std::set<std::string> kSpecial = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"};
  bool plain = !s.empty() && std::isalpha(static_cast<unsigned char>(s[0])) && !kSpecial.count(Lower(s));
  for (char c : s) {
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/');
  }
  if (plain) {
    out << s;
  } else {
    out << YAML::DoubleQuoted << s;
  }
}

void EmitReplicated(YAML::Emitter& out, const fr::ReplicatedResources& r) {
  out << YAML::BeginMap;
  if (r.rename_by_default) out << YAML::Key << "renameByDefault" << YAML::Value << *r.rename_by_default;
  if (r.fail_requests_greater_than_one) {
    out << YAML::Key << "failRequestsGreaterThanOne" << YAML::Value << *r.fail_requests_greater_than_one;
  }
  out << YAML::Key << "resources" << YAML::Value << YAML::BeginSeq;
  for (const fr::ReplicatedResource& res : r.resources) {
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value;
    Str(out, res.name);
    out << YAML::Key << "replicas" << YAML::Value << res.replicas << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
}

}  // namespace

base::Result<fr::MigPartedSpec> ParseMigPartedConfig(std::string_view yaml, std::string_view source) {
  const Reader r{std::string(source)};
  ASSIGN_OR_RETURN(const YAML::Node root, Load(yaml, r.source()));
  try {
    return ParseSpec(r, root);
  } catch (const YAML::Exception& e) {
    return base::InvalidArgument(r.source() + " line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

base::Result<fr::MigPartedSpec> ParseMigPartedConfigMap(std::string_view yaml, std::string_view source) {
  const Reader r{std::string(source)};
  ASSIGN_OR_RETURN(const YAML::Node root, Load(yaml, r.source()));
  try {
    if (!root.IsMap()) return r.Error(root, "", "expected a ConfigMap");
    const YAML::Node kind = root["kind"];
    if (!kind || !kind.IsScalar() || kind.Scalar() != "ConfigMap") return r.Error(root, "kind", "expected ConfigMap");
    const YAML::Node data = root["data"];
    if (!data || !data.IsMap()) return r.Error(root, "data", "missing");
    // gpu-operator values.yaml: a custom MIG ConfigMap must have the key config.yaml.
    const YAML::Node file = data["config.yaml"];
    if (!file || !file.IsScalar()) return r.Error(data, "data", "missing key config.yaml");
    return ParseMigPartedConfig(file.Scalar(), r.source() + " data[config.yaml]");
  } catch (const YAML::Exception& e) {
    return base::InvalidArgument(r.source() + " line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

std::string RenderMigPartedConfig(const fr::MigPartedSpec& spec) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "version" << YAML::Value;
  Str(out, spec.version);
  if (!spec.configs.empty()) {
    out << YAML::Key << "mig-configs" << YAML::Value << YAML::BeginMap;
    for (const fr::MigPartedConfig& c : spec.configs) {
      out << YAML::Key;
      Str(out, c.name);
      out << YAML::Value << YAML::BeginSeq;
      for (const fr::MigPartedEntry& e : c.entries) {
        out << YAML::BeginMap;
        if (!e.device_filter.empty()) {
          out << YAML::Key << "device-filter" << YAML::Value;
          if (e.device_filter_is_list || e.device_filter.size() != 1) {
            out << YAML::Flow << YAML::BeginSeq;
            for (const std::string& id : e.device_filter) out << YAML::DoubleQuoted << id;
            out << YAML::EndSeq;
          } else {
            out << YAML::DoubleQuoted << e.device_filter[0];
          }
        }
        out << YAML::Key << "devices" << YAML::Value;
        if (e.all_devices) {
          out << "all";
        } else {
          out << YAML::Flow << YAML::BeginSeq;
          for (int d : e.devices) out << d;
          out << YAML::EndSeq;
        }
        out << YAML::Key << "mig-enabled" << YAML::Value << e.mig_enabled;
        if (e.mig_enabled) {
          out << YAML::Key << "mig-devices" << YAML::Value;
          if (e.mig_devices.empty()) {
            out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
          } else {
            out << YAML::BeginMap;
            for (const auto& [profile, count] : e.mig_devices) {
              out << YAML::Key << YAML::DoubleQuoted << profile << YAML::Value << count;
            }
            out << YAML::EndMap;
          }
        }
        out << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

base::Result<fr::DevicePluginConfig> ParseDevicePluginConfig(std::string_view yaml, std::string_view source) {
  const Reader r{std::string(source)};
  ASSIGN_OR_RETURN(const YAML::Node root, Load(yaml, r.source()));
  try {
    if (!root.IsMap()) return r.Error(root, "", "a device-plugin config is a mapping (version, flags, sharing)");
    RETURN_IF_ERROR(r.CheckKeys(root, "", {"version", "flags", "resources", "sharing", "imex"}, "unknown key"));
    fr::DevicePluginConfig c;
    // config.go: an empty version means v1; any other is an error.
    if (const YAML::Node v = root["version"]; v && !v.IsNull()) {
      if (!v.IsScalar() || (v.Scalar() != "v1" && !v.Scalar().empty())) {
        return r.Error(v, "version", "unknown version (v1)");
      }
    }
    if (const YAML::Node flags = root["flags"]; flags && !flags.IsNull()) {
      if (!flags.IsMap()) return r.Error(flags, "flags", "expected a mapping");
      if (const YAML::Node m = flags["migStrategy"]; m && !m.IsNull()) {
        const std::string s = m.IsScalar() ? m.Scalar() : "";
        if (s == "none") {
          c.mig_strategy = fr::MigStrategy::kNone;
        } else if (s == "single") {
          c.mig_strategy = fr::MigStrategy::kSingle;
        } else if (s == "mixed") {
          c.mig_strategy = fr::MigStrategy::kMixed;
        } else {
          return r.Error(m, "flags.migStrategy", "expected none, single or mixed");
        }
      }
    }
    if (const YAML::Node sharing = root["sharing"]; sharing && !sharing.IsNull()) {
      if (!sharing.IsMap()) return r.Error(sharing, "sharing", "expected a mapping");
      RETURN_IF_ERROR(r.CheckKeys(sharing, "sharing", {"timeSlicing", "mps"}, "unknown key"));
      if (const YAML::Node ts = sharing["timeSlicing"]; ts && !ts.IsNull()) {
        fr::ReplicatedResources rr;
        RETURN_IF_ERROR(ReadReplicated(r, ts, "sharing.timeSlicing", &rr));
        c.time_slicing = std::move(rr);
      }
      if (const YAML::Node mps = sharing["mps"]; mps && !mps.IsNull()) {
        fr::ReplicatedResources rr;
        RETURN_IF_ERROR(ReadReplicated(r, mps, "sharing.mps", &rr));
        c.mps = std::move(rr);
      }
    }
    return c;
  } catch (const YAML::Exception& e) {
    return base::InvalidArgument(r.source() + " line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

std::string RenderDevicePluginConfig(const fr::DevicePluginConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "version" << YAML::Value;
  Str(out, config.version);
  if (config.mig_strategy) {
    out << YAML::Key << "flags" << YAML::Value << YAML::BeginMap << YAML::Key << "migStrategy" << YAML::Value
        << std::string(fr::MigStrategyName(*config.mig_strategy)) << YAML::EndMap;
  }
  if (config.time_slicing || config.mps) {
    out << YAML::Key << "sharing" << YAML::Value << YAML::BeginMap;
    if (config.time_slicing) {
      out << YAML::Key << "timeSlicing" << YAML::Value;
      EmitReplicated(out, *config.time_slicing);
    }
    if (config.mps) {
      out << YAML::Key << "mps" << YAML::Value;
      EmitReplicated(out, *config.mps);
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace gpuwise::observe
