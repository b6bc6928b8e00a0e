#include "observe/serving_telemetry.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include "observe/prom/exposition_parser.h"

namespace gpuwise::observe {
namespace {

double LabelNumber(std::span<const prom::Label> labels, std::string_view name) {
  for (const prom::Label& l : labels) {
    if (l.name != name) continue;
    double v = NAN;
    auto [p, ec] = std::from_chars(l.value.data(), l.value.data() + l.value.size(), v);
    return ec == std::errc() && p == l.value.data() + l.value.size() ? v : NAN;
  }
  return NAN;
}

std::string_view LabelValue(std::span<const prom::Label> labels, std::string_view name) {
  for (const prom::Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

void AddTo(double* sum, double v) {
  if (!std::isfinite(v) || v < 0) return;
  *sum = std::isnan(*sum) ? v : *sum + v;
}

}  // namespace

ServingSample ParseVllmPage(std::string_view page, std::int64_t t_ms) {
  ServingSample s;
  s.t_ms = t_ms;
  prom::ExpositionParser parser(page, {});
  prom::Entry e;
  // Per engine (the `engine` label; "" before 0.10): KV use and blocks, so several engines weigh by capacity.
  std::map<std::string, std::pair<double, double>> kv;  // engine -> (usage, tokens)
  bool new_kv_name = false;
  while (true) {
    if (!parser.Next(&e).ok()) {
      ++s.bad_lines;
      continue;
    }
    if (e.kind == prom::EntryKind::kEof) break;
    if (e.kind != prom::EntryKind::kSample) continue;
    const std::string_view n = e.sample.name;
    const double v = e.sample.value;
    const std::string engine(LabelValue(e.sample.labels, "engine"));
    if (n == "vllm:kv_cache_usage_perc" || (n == "vllm:gpu_cache_usage_perc" && !new_kv_name)) {
      if (n == "vllm:kv_cache_usage_perc" && !new_kv_name) {
        new_kv_name = true;  // the current name wins over the deprecated one on the same page
        for (auto& [k, x] : kv) x.first = NAN;
      }
      if (std::isfinite(v) && v >= 0) kv[engine].first = std::min(v, 1.0);
    } else if (n == "vllm:cache_config_info") {
      const double blocks = LabelNumber(e.sample.labels, "num_gpu_blocks");
      const double block_size = LabelNumber(e.sample.labels, "block_size");
      if (std::isfinite(blocks) && std::isfinite(block_size) && blocks >= 0 && block_size > 0) {
        kv[engine].second = blocks * block_size;
      }
      const double util = LabelNumber(e.sample.labels, "gpu_memory_utilization");
      if (std::isfinite(util) && util > 0 && util <= 1) s.gpu_memory_utilization = util;
    } else if (n == "vllm:request_success_total") {
      AddTo(&s.requests, v);
    } else if (n == "vllm:prompt_tokens_total") {
      AddTo(&s.prompt_tokens, v);
    } else if (n == "vllm:generation_tokens_total") {
      AddTo(&s.generation_tokens, v);
    } else if (n == "vllm:num_preemptions_total") {
      AddTo(&s.preemptions, v);
    } else if (n == "vllm:num_requests_running") {
      AddTo(&s.running, v);
    } else if (n == "vllm:num_requests_waiting") {
      AddTo(&s.waiting, v);
    }
  }
  double used = 0, tokens = 0, plain = NAN;
  for (const auto& [engine, x] : kv) {
    if (std::isnan(x.first)) continue;
    if (x.second > 0) {
      used += x.first * x.second;
      tokens += x.second;
    } else {
      plain = std::isnan(plain) ? x.first : std::max(plain, x.first);
    }
  }
  if (tokens > 0) {
    s.kv_usage = used / tokens;
    s.kv_capacity_tokens = tokens;
  } else {
    s.kv_usage = plain;
  }
  return s;
}

void AccumulateServing(const std::vector<ServingSample>& samples, model::ServingUsage* out) {
  if (samples.empty()) return;
  out->engine = "vllm";
  ++out->pods;
  auto increase = [&](double ServingSample::*field) {
    double total = 0, last = NAN;
    for (const ServingSample& s : samples) {
      const double v = s.*field;
      if (std::isnan(v)) continue;
      if (!std::isnan(last)) total += v >= last ? v - last : v;  // a drop is a restart: the new value is the increase
      last = v;
    }
    return total;
  };
  out->requests += increase(&ServingSample::requests);
  out->prompt_tokens += increase(&ServingSample::prompt_tokens);
  out->generation_tokens += increase(&ServingSample::generation_tokens);
  out->preemptions += increase(&ServingSample::preemptions);
  out->seconds = std::max(out->seconds, static_cast<double>(samples.back().t_ms - samples.front().t_ms) / 1000.0);
  for (const ServingSample& s : samples) {
    if (!std::isnan(s.kv_usage)) out->kv_usage.Insert(s.kv_usage);
    if (!std::isnan(s.kv_capacity_tokens)) out->kv_capacity_tokens = s.kv_capacity_tokens;
    if (!std::isnan(s.gpu_memory_utilization)) out->gpu_memory_utilization = s.gpu_memory_utilization;
  }
}

void MergeServing(const model::ServingUsage& pod, model::ServingUsage* w) {
  w->engine = pod.engine;
  w->pods += std::max(1, pod.pods);
  w->requests += pod.requests;
  w->prompt_tokens += pod.prompt_tokens;
  w->generation_tokens += pod.generation_tokens;
  w->preemptions += pod.preemptions;
  w->seconds = std::max(w->seconds, pod.seconds);
  auto up = [](double* slot, double v) {
    if (!std::isnan(v)) *slot = std::isnan(*slot) ? v : std::max(*slot, v);
  };
  up(&w->kv_p95, pod.kv_p95);
  up(&w->kv_max, pod.kv_max);
  up(&w->kv_capacity_tokens, pod.kv_capacity_tokens);
  up(&w->gpu_memory_utilization, pod.gpu_memory_utilization);
  if (pod.kv_usage.count() > 0) (void)w->kv_usage.Merge(pod.kv_usage);
}

base::Result<ServingTotals> ReadServingHistory(prom::PromClient& client, std::int64_t start, std::int64_t end,
                                               const std::map<std::string, std::pair<std::string, std::string>>& pod_by_address,
                                               int* unmatched) {
  ServingTotals out;
  if (end <= start) return base::InvalidArgument("serving history: the window is empty");
  const std::string w = prom::FormatPromDuration(std::chrono::milliseconds((end - start) * 1000));
  const std::int64_t at = end * 1000;
  std::set<std::string> missed;
  auto pod_of = [&](const prom::Labels& labels) -> const std::pair<std::string, std::string>* {
    std::string pod, ns, instance;
    for (const auto& [k, v] : labels) {
      if (k == "pod") pod = v;
      else if (k == "namespace") ns = v;
      else if (k == "instance") instance = v;
    }
    static thread_local std::pair<std::string, std::string> key;
    if (!pod.empty() && !ns.empty()) {
      key = {ns, pod};
      return &key;
    }
    auto it = pod_by_address.find(instance);
    if (it == pod_by_address.end()) it = pod_by_address.find(instance.substr(0, instance.rfind(':')));
    if (it == pod_by_address.end()) {
      missed.insert(instance);
      return nullptr;
    }
    return &it->second;
  };
  auto each = [&](const std::string& promql, const std::function<void(model::ServingUsage&, const prom::Sample&)>& f) -> base::Status {
    ASSIGN_OR_RETURN(prom::QueryResponse r, client.Query(promql, at));
    for (const prom::Sample& s : r.vector) {
      if (!std::isfinite(s.value)) continue;
      const auto* key = pod_of(s.labels);
      if (key == nullptr) continue;
      model::ServingUsage& u = out[*key];
      u.engine = "vllm";
      f(u, s);
    }
    return base::Status::Ok();
  };
  auto counter = [&](const char* metric, double model::ServingUsage::*field) {
    return each(std::string("sum by (namespace, pod, instance) (increase(") + metric + "[" + w + "]))",
                [field](model::ServingUsage& u, const prom::Sample& s) { u.*field += std::max(0.0, s.value); });
  };
  RETURN_IF_ERROR(counter("vllm:request_success_total", &model::ServingUsage::requests));
  RETURN_IF_ERROR(counter("vllm:prompt_tokens_total", &model::ServingUsage::prompt_tokens));
  RETURN_IF_ERROR(counter("vllm:generation_tokens_total", &model::ServingUsage::generation_tokens));
  RETURN_IF_ERROR(counter("vllm:num_preemptions_total", &model::ServingUsage::preemptions));
  for (const char* metric : {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"}) {
    RETURN_IF_ERROR(each(std::string("quantile_over_time(0.95, ") + metric + "[" + w + "])",
                         [](model::ServingUsage& u, const prom::Sample& s) {
                           u.kv_p95 = std::isnan(u.kv_p95) ? s.value : std::max(u.kv_p95, s.value);
                         }));
    RETURN_IF_ERROR(each(std::string("max_over_time(") + metric + "[" + w + "])", [](model::ServingUsage& u, const prom::Sample& s) {
      u.kv_max = std::isnan(u.kv_max) ? s.value : std::max(u.kv_max, s.value);
    }));
  }
  RETURN_IF_ERROR(each("last_over_time(vllm:cache_config_info[" + w + "])", [](model::ServingUsage& u, const prom::Sample& s) {
    double blocks = NAN, block_size = NAN, util = NAN;
    for (const auto& [k, v] : s.labels) {
      const double x = std::atof(v.c_str());
      if (k == "num_gpu_blocks") blocks = x;
      else if (k == "block_size") block_size = x;
      else if (k == "gpu_memory_utilization") util = x;
    }
    if (blocks > 0 && block_size > 0) u.kv_capacity_tokens = (std::isnan(u.kv_capacity_tokens) ? 0 : u.kv_capacity_tokens) + blocks * block_size;
    if (util > 0 && util <= 1) u.gpu_memory_utilization = util;
  }));
  for (auto& [key, u] : out) {
    u.pods = 1;
    u.seconds = static_cast<double>(end - start);
  }
  if (unmatched != nullptr) *unmatched = static_cast<int>(missed.size());
  return out;
}

}  // namespace gpuwise::observe
