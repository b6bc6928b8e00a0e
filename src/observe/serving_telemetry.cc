#include "observe/serving_telemetry.h"

#include <algorithm>
#include <charconv>
#include <map>

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

}  // namespace gpuwise::observe
