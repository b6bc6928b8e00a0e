// libFuzzer target: the small text inputs of `gpuwise report` on arbitrary bytes. Byte 0 picks: a --fail-on
// expression (analyze/fail_on.h), a -l label selector with a label set (analyze/report.h MatchesSelector; the text
// before the first newline is the selector, each later line a key=value label), or a kube-state-metrics resource
// label (observe/ksm_history.h GpuResourceFromKsm).
// Properties: no crash, no sanitizer report, no exception. --fail-on: an error names the expression; a parsed one
// has a known metric, one of the four operators and a finite value, and its canonical text parses to the same
// condition; evaluating it on an empty report gives a message. Selectors: matching is a conjunction (a,b matches
// exactly when a and b both do), "!k" is the negation of "k", and a selector made of the labels' own k=v terms
// matches them. KSM: a label KSM would write for a resource (every character outside [a-zA-Z0-9_] as '_') maps
// back to a name that sanitises to the same label, and a MIG resource's profile is the one the API path reads.
// vLLM pages (byte 0 = 3; pages separated by form feeds, scraped 30 s apart, observe/serving_telemetry.h): parsing
// and the latency window never fail; every quantile is unknown (NaN) or lies within its histogram's bounds, p50 <=
// p99, quantiles are monotone in q, no count is negative, and merging a pod into an empty workload keeps its figures.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyze/fail_on.h"
#include "analyze/report.h"
#include "observe/ksm_history.h"
#include "observe/serving_telemetry.h"

namespace analyze = gpuwise::analyze;

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void FailOn(std::string_view text) {
  const gpuwise::base::Result<analyze::FailOn> f = analyze::ParseFailOn(text);
  if (!f.ok()) {
    Check(f.status().message().find("--fail-on '" + std::string(text) + "'") != std::string::npos);
    return;
  }
  Check(f->op == ">" || f->op == ">=" || f->op == "<" || f->op == "<=");
  Check(std::isfinite(f->value));
  const analyze::Report empty;
  Check(analyze::FailOnMetric(empty, f->metric).ok());
  char value[64];
  std::snprintf(value, sizeof value, "%.17g", f->value);
  const gpuwise::base::Result<analyze::FailOn> again = analyze::ParseFailOn(f->metric + f->op + value);
  Check(again.ok() && again->metric == f->metric && again->op == f->op && again->value == f->value);
  const std::vector<analyze::FailOnResult> r = analyze::EvaluateFailOn(empty, {*f});
  Check(r.size() == 1 && !r[0].message.empty());
}

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

void Selector(std::string_view text) {
  const std::size_t nl = text.find('\n');
  const std::string_view selector = text.substr(0, nl);
  gpuwise::model::Labels labels;
  std::string own;  // k=v terms of the labels themselves
  for (std::string_view rest = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
       !rest.empty();) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    labels[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  for (const auto& [k, v] : labels) {
    // Terms that the selector grammar can carry unchanged: no separators, operators or edge spaces.
    const bool plain = !k.empty() && k.find_first_of(",=!() ") == std::string::npos && v.find_first_of(",=!() ") == std::string::npos;
    if (plain) own += (own.empty() ? "" : ",") + k + "=" + v;
  }
  if (!own.empty()) {
    const gpuwise::base::Result<bool> m = analyze::MatchesSelector(labels, own);
    Check(m.ok() && *m);
  }
  const gpuwise::base::Result<bool> whole = analyze::MatchesSelector(labels, selector);
  if (!whole.ok()) {
    Check(!whole.status().message().empty());
  }
  // Conjunction: split at the first comma. Only for two non-empty halves: "" alone matches everything while an
  // empty term is an error (",a" fails, "a," passes: see the report of this target).
  const std::size_t comma = selector.find(',');
  if (comma != std::string_view::npos && !Trimmed(selector.substr(0, comma)).empty() &&
      !Trimmed(selector.substr(comma + 1)).empty()) {
    const gpuwise::base::Result<bool> a = analyze::MatchesSelector(labels, selector.substr(0, comma));
    const gpuwise::base::Result<bool> b = analyze::MatchesSelector(labels, selector.substr(comma + 1));
    Check(whole.ok() == (a.ok() && b.ok()));
    if (whole.ok()) Check(*whole == (*a && *b));
  }
  // Negation of an existence term.
  const std::string_view key = Trimmed(selector);
  if (whole.ok() && !key.empty() && key.find_first_of(",=!") == std::string_view::npos) {
    const gpuwise::base::Result<bool> neg = analyze::MatchesSelector(labels, "!" + std::string(key));
    Check(neg.ok() && *neg == !*whole);
  }
}

std::string Sanitise(std::string_view s) {  // kube-state-metrics' label value for a resource name
  std::string out(s);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) c = '_';
  }
  return out;
}

// The API path's MIG profile of a resource name (observe/kube MigProfileOfResource, restated: observe does not link
// the kube library): "nvidia.com/mig-1g.10gb.me" -> "1g.10gb+me".
std::string ApiMigProfile(std::string_view resource) {
  constexpr std::string_view kPrefix = "nvidia.com/mig-";
  if (!resource.starts_with(kPrefix) || resource.size() == kPrefix.size()) return {};
  std::string profile(resource.substr(kPrefix.size()));
  if (profile.ends_with(".me")) profile.replace(profile.size() - 3, 1, "+");
  else if (profile.ends_with(".me.all")) profile.replace(profile.size() - 7, 1, "+");
  return profile;
}

void Ksm(std::string_view text) {
  const std::string label = Sanitise(text);
  const std::string name = gpuwise::observe::GpuResourceFromKsm(label);
  if (!name.empty()) Check(Sanitise(name) == label);
  (void)gpuwise::observe::GpuResourceFromKsm(text);
  // A MIG resource the device plugin could advertise: profile characters [a-z0-9.] only.
  const std::string profile = ApiMigProfile(text);
  bool real = !profile.empty() && text.find("..") == std::string_view::npos && !text.ends_with(".");
  for (char c : text.substr(std::min<std::size_t>(text.size(), 15))) {
    real = real && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.');
  }
  if (real) {
    Check(name.starts_with("nvidia.com/mig-"));
    Check(name.substr(15) == profile);
  }
}

bool Within(double a, double b) {  // a <= b up to rounding of the interpolation
  return a <= b + 1e-9 * std::max(std::fabs(a), std::fabs(b)) + 1e-300;
}

void CheckHistogram(const gpuwise::model::LatencyHistogram& h, double p50, double p99) {
  namespace observe = gpuwise::observe;
  Check(h.upper_bounds.size() == h.cumulative.size());
  Check(!(h.count < 0));
  for (double c : h.cumulative) Check(!(c < 0));
  double last = -INFINITY;
  for (double q : {0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0}) {
    const double v = observe::HistogramQuantile(q, h);
    if (std::isnan(v)) continue;
    if (!std::isfinite(v)) return;  // bounds so far apart that their difference overflows
    Check(!h.upper_bounds.empty());
    Check(Within(v, h.upper_bounds.back()));
    Check(Within(std::min(0.0, h.upper_bounds.front()), v));
    Check(Within(last, v));
    last = v;
  }
  const double r50 = observe::HistogramQuantile(0.5, h), r99 = observe::HistogramQuantile(0.99, h);
  Check(std::isnan(p50) == std::isnan(r50) && (std::isnan(p50) || p50 == r50));
  Check(std::isnan(p99) == std::isnan(r99) && (std::isnan(p99) || p99 == r99));
  if (!std::isnan(p50) && !std::isnan(p99) && std::isfinite(p50) && std::isfinite(p99)) Check(Within(p50, p99));
}

void VllmPages(std::string_view text) {
  namespace observe = gpuwise::observe;
  std::vector<observe::ServingSample> samples;
  std::int64_t t = 0;
  for (std::string_view rest = text;;) {
    const std::size_t ff = rest.find('\f');
    samples.push_back(observe::ParseVllmPage(rest.substr(0, ff), t));
    Check(samples.back().bad_lines >= 0);
    t += 30'000;
    if (ff == std::string_view::npos || samples.size() >= 16) break;
    rest = rest.substr(ff + 1);
  }
  gpuwise::model::ServingUsage u;
  observe::AccumulateServing(samples, &u);
  Check(!(u.latency_requests < 0));
  CheckHistogram(u.ttft, u.ttft_p50_s, u.ttft_p99_s);
  CheckHistogram(u.tpot, u.tpot_p50_s, u.tpot_p99_s);
  CheckHistogram(u.e2e, u.e2e_p50_s, u.e2e_p99_s);
  // A histogram in the window means the pages had one, so the basis is said (the converse need not hold: a window
  // of pages with only a +Inf bucket that did not move has nothing left to read).
  if (u.ttft.read() || u.tpot.read() || u.e2e.read()) Check(!u.latency_basis.empty());
  gpuwise::model::ServingUsage w;
  observe::MergeServing(u, &w);
  Check(w.latency_basis == u.latency_basis);
  for (auto [a, b] : {std::pair{w.ttft_p99_s, u.ttft_p99_s}, std::pair{w.tpot_p99_s, u.tpot_p99_s},
                      std::pair{w.e2e_p50_s, u.e2e_p50_s}}) {
    Check(std::isnan(a) == std::isnan(b) && (std::isnan(a) || a == b));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: FailOn(text); break;
    case 1: Selector(text); break;
    case 2: Ksm(text); break;
    default: VllmPages(text); break;
  }
  return 0;
}
