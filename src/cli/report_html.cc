#include "cli/report_html.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <map>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cli/report_view.h"

namespace gpuwise::cli {
namespace {

using analyze::GpuState;
using analyze::Report;
using analyze::WorkloadRow;

// ---- formatting: locale-free, so the same report gives the same bytes -------------------------------------------

std::string HtmlFixed(double v, int digits) {
  if (!std::isfinite(v)) return "unknown";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, digits);
  if (res.ec != std::errc()) return "unknown";
  std::string s(buf, res.ptr);
  // "-0.0" after rounding reads as a sign error.
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}
// SVG coordinates: one decimal, "12" rather than "12.0".
std::string Coord(double v) {
  std::string s = HtmlFixed(v, 1);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}
std::string Int(std::int64_t v) { return std::to_string(v); }
std::string HtmlPct(double ratio) { return std::isfinite(ratio) ? HtmlFixed(ratio * 100.0, 1) + "%" : "unknown"; }
std::string Share(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? HtmlPct(static_cast<double>(part) / static_cast<double>(whole)) : "-";
}
// 10000 -> "10,000".
std::string Count(std::size_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}
std::string HtmlUtc(std::int64_t t, const char* format = "%Y-%m-%d %H:%M UTC") {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[48];
  // Only numeric fields: strftime's locale does not change them.
  std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}
// At most `max_chars` code points, "…" when cut (a label; the full text goes in a <title>).
std::string Clip(std::string_view s, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars++ == max_chars) return std::string(s.substr(0, i)) + "\xE2\x80\xA6";
  }
  return std::string(s);
}

// "text" -> "text." (the policy strings are clauses).
std::string Sentence(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out.back() != '.') out += '.';
  return out;
}

template <typename... T>
void Put(std::string& out, const T&... parts) {
  (out.append(std::string_view(parts)), ...);
}
std::string E(std::string_view s) { return HtmlEscape(s); }

// ---- colours ----------------------------------------------------------------------------------------------------

// Okabe-Ito hues (distinguishable with the common colour-vision deficiencies); grey for unknown.
constexpr std::array<GpuState, 7> kStates = {GpuState::kBusy,       GpuState::kComputeBound,    GpuState::kMemoryBound,
                                             GpuState::kMemoryHeld, GpuState::kOverProvisioned, GpuState::kIdle,
                                             GpuState::kUnknown};
const char* StateColor(GpuState s) {
  switch (s) {
    case GpuState::kBusy:
      return "#009E73";
    case GpuState::kComputeBound:
      return "#0072B2";
    case GpuState::kMemoryBound:
      return "#56B4E9";
    case GpuState::kMemoryHeld:
      return "#CC79A7";
    case GpuState::kOverProvisioned:
      return "#E69F00";
    case GpuState::kIdle:
      return "#D55E00";
    case GpuState::kUnknown:
      break;
  }
  return "#999999";
}
constexpr const char* kUsedColor = "#009E73";
constexpr const char* kIdleColor = "#E69F00";
constexpr const char* kUnallocatedColor = "#B0B0B0";
// Ten steps of a perceptually even scale (viridis), low usage dark.
constexpr std::array<const char*, 10> kHeat = {"#440154", "#482878", "#3E4A89", "#31688E", "#26828E",
                                               "#1F9E89", "#35B779", "#6DCD59", "#B4DE2C", "#FDE725"};

std::string StateName(GpuState s) { return std::string(analyze::GpuStateName(s)); }
std::string Chip(GpuState s) {
  return "<span class=\"chip\" style=\"background:" + std::string(StateColor(s)) + "\"></span>" + StateName(s);
}
std::string WorkloadKey(const WorkloadRow& w) { return w.namespace_name + "/" + w.kind + "/" + w.name; }
double P95(const WorkloadRow& w, model::UsageSignal s) { return w.diagnosis.signals[static_cast<std::size_t>(s)].p95; }

// ---- style ------------------------------------------------------------------------------------------------------

constexpr std::string_view kStyle = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d1d1f;
  max-width:1120px;margin:0 auto;padding:16px 24px;background:#fff}
h1{font-size:22px;margin:0 0 2px}
h2{font-size:17px;margin:30px 0 8px;padding-bottom:4px;border-bottom:1px solid #d9d9de}
h3{font-size:14px;margin:18px 0 4px}
.meta,.note,caption,.muted{color:#5f6368}
.note{font-size:13px}
nav{margin:10px 0 0;font-size:13px}
nav a{margin-right:12px;color:#0b57d0;text-decoration:none}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
caption{caption-side:bottom;text-align:left;padding:4px 0;font-size:12px}
th,td{border-bottom:1px solid #e6e6ea;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f6;font-weight:600}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.warn td{background:#fff6e5}
.chip{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.kpi{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}
.kpi div{border:1px solid #e6e6ea;border-radius:6px;padding:8px 12px;min-width:170px;font-size:12px;color:#5f6368}
.kpi b{display:block;font-size:19px;color:#1d1d1f}
details summary{cursor:pointer;color:#0b57d0}
details ul{margin:4px 0;padding-left:18px}
svg{max-width:100%;height:auto;display:block;margin:6px 0}
svg{font-size:11px}
svg text{fill:#1d1d1f}
svg .ax{stroke:#5f6368;stroke-width:1}
svg .grid{stroke:#e6e6ea;stroke-width:1}
svg .thr{stroke:#1d1d1f;stroke-width:1.2;stroke-dasharray:5 4}
svg .quad{fill:#6b7079;font-size:12px;font-weight:600;stroke:#fff;stroke-width:3px;paint-order:stroke}
svg.sc circle{fill-opacity:.72;stroke:#1d1d1f;stroke-width:.4}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
@media print{nav{display:none}body{max-width:none;padding:0}h2{break-after:avoid}svg,tr{break-inside:avoid}}
)css";

// ---- sections ---------------------------------------------------------------------------------------------------

void Header(std::string& o, const Report& r) {
  Put(o, "<header><h1>gpuwise report</h1><p class=\"meta\">");
  if (r.live) {
    Put(o, "live view at ", HtmlUtc(r.start_unix_s), " (costs per hour at the current state)");
  } else {
    Put(o, HtmlUtc(r.start_unix_s), " to ", HtmlUtc(r.end_unix_s), " (", HtmlFixed(r.fleet.window_hours, 1), " h)");
  }
  Put(o, "<br>telemetry: ", E(r.telemetry_source), " &middot; cluster: ", E(r.cluster_source), "</p>");
  Put(o,
      "<nav><a href=\"#fleet\">Fleet</a><a href=\"#scatter\">Compute vs framebuffer</a><a "
      "href=\"#workloads\">Workloads</a>"
      "<a href=\"#teams\">Teams</a><a href=\"#attribution\">Attribution</a><a href=\"#findings\">Findings</a>"
      "<a href=\"#heatmap\">Heatmap</a><a href=\"#signals\">Signal health</a>");
  if (!r.warnings.empty()) Put(o, "<a href=\"#warnings\">Warnings</a>");
  Put(o, "<a href=\"#method\">Method</a></nav></header>\n");
}

// The three buckets as one stacked bar, labelled below (a small segment has no room for its label inside).
void FleetBar(std::string& o, const analyze::Fleet& f, const std::string& per) {
  const std::int64_t total =
      std::max<std::int64_t>(0, f.used) + std::max<std::int64_t>(0, f.idle) + std::max<std::int64_t>(0, f.unallocated);
  constexpr double kW = 760;
  Put(o,
      "<svg class=\"fleet\" width=\"760\" height=\"72\" viewBox=\"0 0 760 72\" role=\"img\" "
      "aria-label=\"fleet spend by bucket\">");
  struct Part {
    const char* name;
    std::int64_t value;
    const char* color;
  };
  const std::array<Part, 3> parts = {Part{"used", f.used, kUsedColor}, Part{"allocated-idle", f.idle, kIdleColor},
                                     Part{"unallocated", f.unallocated, kUnallocatedColor}};
  if (total <= 0) {
    Put(o,
        "<rect x=\"0.5\" y=\"4.5\" width=\"759\" height=\"24\" fill=\"none\" stroke=\"#B0B0B0\"/>"
        "<text x=\"8\" y=\"21\">no priced GPU cost in the window</text>");
  } else {
    double x = 0;
    for (const Part& p : parts) {
      const double w = kW * static_cast<double>(std::max<std::int64_t>(0, p.value)) / static_cast<double>(total);
      if (w <= 0) continue;
      Put(o, "<rect x=\"", Coord(x), "\" y=\"4\" width=\"", Coord(w), "\" height=\"24\" fill=\"", p.color, "\"><title>",
          p.name, " ", Dollars(p.value), per, " (", Share(p.value, total), ")</title></rect>");
      x += w;
    }
  }
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string x = Int(static_cast<std::int64_t>(i) * 255), tx = Int(static_cast<std::int64_t>(i) * 255 + 16);
    Put(o, "<rect x=\"", x, "\" y=\"41\" width=\"11\" height=\"11\" fill=\"", parts[i].color, "\"/><text x=\"", tx,
        "\" y=\"51\">", parts[i].name, "</text><text x=\"", tx, "\" y=\"66\">", Dollars(parts[i].value), per, " (",
        Share(parts[i].value, total), ")</text>");
  }
  Put(o, "</svg>\n");
}

void Fleet(std::string& o, const Report& r, const model::Plan* plan) {
  const analyze::Fleet& f = r.fleet;
  const std::string per = r.live ? " per hour" : "";
  Put(o, "<section id=\"fleet\"><h2>Fleet</h2><p>", Int(f.nodes), " GPU nodes, ", Int(f.gpus), " GPUs (",
      Int(f.mig_instances), " MIG instances)");
  if (f.unknown_node_gpus > 0) Put(o, ", ", Int(f.unknown_node_gpus), " on unknown nodes (not priced)");
  if (f.unpriced_gpus > 0) Put(o, ", ", Int(f.unpriced_gpus), " unpriced");
  Put(o, "; ", HtmlFixed(f.gpu_hours, 1), " priced GPU-hours, ", HtmlFixed(f.used_gpu_hours, 1), " of them used.</p>");
  Put(o, "<div class=\"kpi\"><div>spend", per, "<b>", Dollars(f.cost), "</b>all priced GPUs</div>",
      "<div>utilization<b>", HtmlPct(f.utilization), "</b>used / spend</div>", "<div>unused waste<b>",
      Dollars(f.unused_annualized), " a year</b>allocated-idle + unallocated, annualised</div>");
  if (plan != nullptr) {
    Put(o, "<div>recoverable waste<b>", Dollars(plan->savings.annualized), " a year</b>",
        Int(plan->savings.gpus_freed), " GPUs, ", Int(plan->savings.nodes_released), " whole node(s) freed by the plan (",
        Int(static_cast<std::int64_t>(plan->actions.size())), " actions: <code>gpuwise recommend</code>)</div></div>");
  } else {
    Put(o, "<div>recoverable waste<b>not computed</b>the plan was not built</div></div>");
  }
  FleetBar(o, f, per);
  if (f.unmeasured > 0) {
    Put(o, "<p class=\"note\">Of allocated-idle, ", Dollars(f.unmeasured),
        " had no usage sample and is counted idle.</p>");
  }
  Put(o,
      "<p class=\"note\">Unused waste is what was paid and not used, scaled to a year. Recoverable waste is what the "
      "plan frees: GPUs and nodes that end with no pod once every action is applied, at their price, as a yearly "
      "rate.</p></section>\n");
}

void Scatter(std::string& o, const Report& r, const HtmlOptions& opt) {
  // Plot frame: x = p95 compute activity, y = p95 framebuffer share, both 0..1.
  constexpr double kX = 60, kY = 20, kW = 480, kH = 380;
  std::vector<const WorkloadRow*> known;
  std::vector<const WorkloadRow*> unknown;
  for (const WorkloadRow& w : r.workloads) {
    const double c = P95(w, model::UsageSignal::kCompute), fb = P95(w, model::UsageSignal::kFbShare);
    (std::isfinite(c) && std::isfinite(fb) ? known : unknown).push_back(&w);
  }
  // Largest first, so small circles are drawn on top and stay visible.
  std::stable_sort(known.begin(), known.end(), [](const WorkloadRow* a, const WorkloadRow* b) {
    return a->money.allocated() > b->money.allocated();
  });
  std::size_t left_out = 0;
  std::int64_t left_out_cost = 0;
  if (known.size() > opt.max_scatter_points) {
    for (std::size_t i = opt.max_scatter_points; i < known.size(); ++i) left_out_cost += known[i]->money.allocated();
    left_out = known.size() - opt.max_scatter_points;
    known.resize(opt.max_scatter_points);
  }
  std::int64_t max_cost = 0;
  for (const WorkloadRow* w : known) max_cost = std::max(max_cost, w->money.allocated());
  // The largest circle's radius: 18 px, less when the circles together would cover more than a quarter of the plot.
  double area_units = 0;  // sum of cost / max cost
  for (const WorkloadRow* w : known) {
    area_units += max_cost > 0 ? static_cast<double>(std::max<std::int64_t>(0, w->money.allocated())) /
                                     static_cast<double>(max_cost)
                               : 0;
  }
  const double r_max =
      area_units > 0 ? std::clamp(std::sqrt(0.25 * kW * kH / (3.14159265358979 * area_units)), 4.0, 18.0) : 3.0;
  std::array<std::size_t, kStates.size()> per_state{};
  for (const WorkloadRow* w : known) ++per_state[static_cast<std::size_t>(w->diagnosis.state)];

  Put(o,
      "<section id=\"scatter\"><h2>Compute vs framebuffer</h2><p class=\"note\">One circle per workload at its "
      "p95 compute activity and p95 framebuffer share (of what it holds); circle area is proportional to its cost, "
      "colour is its diagnosed state. Dashed lines are the diagnosis thresholds.</p>");
  Put(o,
      "<svg class=\"sc\" width=\"760\" height=\"440\" viewBox=\"0 0 760 440\" role=\"img\" "
      "aria-label=\"workloads by p95 compute activity and p95 framebuffer share\">");
  Put(o, "<rect class=\"plot\" x=\"", Coord(kX), "\" y=\"", Coord(kY), "\" width=\"", Coord(kW), "\" height=\"",
      Coord(kH), "\" fill=\"#fafafb\" stroke=\"#5f6368\"/>");
  for (int i = 0; i <= 4; ++i) {
    const double t = i / 4.0;
    const std::string gx = Coord(kX + t * kW), gy = Coord(kY + (1 - t) * kH), label = Int(i * 25) + "%";
    if (i > 0 && i < 4) {
      Put(o, "<line class=\"grid\" x1=\"", gx, "\" y1=\"", Coord(kY), "\" x2=\"", gx, "\" y2=\"", Coord(kY + kH),
          "\"/>");
      Put(o, "<line class=\"grid\" x1=\"", Coord(kX), "\" y1=\"", gy, "\" x2=\"", Coord(kX + kW), "\" y2=\"", gy,
          "\"/>");
    }
    Put(o, "<text x=\"", gx, "\" y=\"", Coord(kY + kH + 14), "\" text-anchor=\"middle\">", label, "</text>");
    Put(o, "<text x=\"", Coord(kX - 5), "\" y=\"", Coord(kY + (1 - t) * kH + 4), "\" text-anchor=\"end\">", label,
        "</text>");
  }
  Put(o, "<text x=\"", Coord(kX + kW / 2), "\" y=\"", Coord(kY + kH + 32),
      "\" text-anchor=\"middle\">p95 compute activity (SM active, of its unit)</text>");
  Put(o, "<text transform=\"translate(16 ", Coord(kY + kH / 2),
      ") rotate(-90)\" text-anchor=\"middle\">p95 framebuffer used / held</text>");
  const double tx = kX + std::clamp(r.thresholds.compute_high, 0.0, 1.0) * kW;
  const double ty = kY + (1 - std::clamp(r.thresholds.fb_high, 0.0, 1.0)) * kH;
  Put(o, "<line class=\"thr\" data-threshold=\"compute_high\" x1=\"", Coord(tx), "\" y1=\"", Coord(kY), "\" x2=\"",
      Coord(tx), "\" y2=\"", Coord(kY + kH), "\"><title>compute_high ", HtmlPct(r.thresholds.compute_high),
      "</title></line>");
  Put(o, "<line class=\"thr\" data-threshold=\"fb_high\" x1=\"", Coord(kX), "\" y1=\"", Coord(ty), "\" x2=\"",
      Coord(kX + kW), "\" y2=\"", Coord(ty), "\"><title>fb_high ", HtmlPct(r.thresholds.fb_high), "</title></line>");
  Put(o, "<text x=\"", Coord(tx + 4), "\" y=\"", Coord(kY - 6), "\">compute_high ", HtmlPct(r.thresholds.compute_high),
      "</text>");
  Put(o, "<text x=\"", Coord(kX + kW + 4), "\" y=\"", Coord(ty + 4), "\">fb_high</text>");
  // Points are clipped to the frame: a big circle at 100% stays inside the chart.
  Put(o, "<clipPath id=\"sc-clip\"><rect x=\"", Coord(kX), "\" y=\"", Coord(kY), "\" width=\"", Coord(kW),
      "\" height=\"", Coord(kH), "\"/></clipPath><g class=\"points\" clip-path=\"url(#sc-clip)\">");
  for (const WorkloadRow* w : known) {
    const double c = P95(*w, model::UsageSignal::kCompute), fb = P95(*w, model::UsageSignal::kFbShare);
    const double cost = static_cast<double>(w->money.allocated());
    const double rad =
        max_cost > 0 ? std::max(1.5, r_max * std::sqrt(std::max(0.0, cost) / static_cast<double>(max_cost))) : 3.0;
    Put(o, "<circle cx=\"", Coord(kX + std::clamp(c, 0.0, 1.0) * kW), "\" cy=\"",
        Coord(kY + (1 - std::clamp(fb, 0.0, 1.0)) * kH), "\" r=\"", Coord(rad), "\" fill=\"",
        StateColor(w->diagnosis.state), "\"><title>", E(WorkloadKey(*w)), ": ", StateName(w->diagnosis.state),
        "; cost ", Dollars(w->money.allocated()), ", idle ", Dollars(w->money.idle), "; p95 compute ", HtmlPct(c),
        ", p95 framebuffer ", HtmlPct(fb), "</title></circle>");
  }
  Put(o, "</g>");
  // Quadrant names at the plot's corners, over the points (with a halo): each corner lies in one quadrant whatever the
  // thresholds.
  Put(o, "<text class=\"quad\" x=\"", Coord(kX + kW - 6), "\" y=\"", Coord(kY + 16),
      "\" text-anchor=\"end\">busy</text>", "<text class=\"quad\" x=\"", Coord(kX + kW - 6), "\" y=\"",
      Coord(kY + kH - 8), "\" text-anchor=\"end\">compute-bound</text>", "<text class=\"quad\" x=\"", Coord(kX + 6),
      "\" y=\"", Coord(kY + 16), "\">memory-held</text>", "<text class=\"quad\" x=\"", Coord(kX + 6), "\" y=\"",
      Coord(kY + kH - 8), "\">over-provisioned, idle or memory-bound</text>");
  // Legend: state colours, with how many workloads of each are plotted.
  double ly = kY + 4;
  Put(o, "<text x=\"600\" y=\"", Coord(ly + 8), "\" font-weight=\"600\">state (plotted)</text>");
  for (GpuState s : kStates) {
    ly += 20;
    Put(o, "<g class=\"legend\" data-state=\"", StateName(s), "\"><rect x=\"600\" y=\"", Coord(ly),
        "\" width=\"12\" "
        "height=\"12\" fill=\"",
        StateColor(s), "\"/><text x=\"618\" y=\"", Coord(ly + 10), "\">", StateName(s), " (",
        Count(per_state[static_cast<std::size_t>(s)]), ")</text></g>");
  }
  Put(o, "<text x=\"600\" y=\"", Coord(kY + kH - 22), "\">circle area ~ cost</text><text x=\"600\" y=\"",
      Coord(kY + kH - 8), "\">largest: ", Dollars(max_cost), "</text></svg>\n");
  if (left_out > 0) {
    Put(o, "<p class=\"note\">Plotted: the ", Count(known.size()), " workloads with the highest cost; ",
        Count(left_out), " smaller ones (", Dollars(left_out_cost), " in total) are not drawn.</p>");
  }
  if (!unknown.empty()) {
    std::int64_t cost = 0;
    for (const WorkloadRow* w : unknown) cost += w->money.allocated();
    Put(o, "<p class=\"note\">Not plotted, no compute or framebuffer sample: ", Count(unknown.size()), " workload",
        unknown.size() == 1 ? "" : "s", " (", Dollars(cost), "): ");
    constexpr std::size_t kNames = 50;
    for (std::size_t i = 0; i < unknown.size() && i < kNames; ++i) {
      Put(o, i ? ", " : "", E(WorkloadKey(*unknown[i])), " (", StateName(unknown[i]->diagnosis.state), ", ",
          Dollars(unknown[i]->money.allocated()), ")");
    }
    if (unknown.size() > kNames) Put(o, " and ", Count(unknown.size() - kNames), " more");
    Put(o, ".</p>");
  }
  Put(o, "</section>\n");
}

void Workloads(std::string& o, const Report& r, const HtmlOptions& opt) {
  const std::string per = r.live ? "/h" : "";
  Put(o, "<section id=\"workloads\"><h2>Workloads by idle spend</h2>");
  if (r.workloads.empty()) {
    Put(o, "<p>No workload held a GPU in the window.</p></section>\n");
    return;
  }
  Put(o,
      "<table><thead><tr><th class=\"n\">#</th><th>workload</th><th>team</th><th class=\"n\">GPUs</th>"
      "<th class=\"n\">cost",
      per, "</th><th class=\"n\">used</th><th class=\"n\">idle", per,
      "</th><th class=\"n\">idle/year</th><th class=\"n\">p95 SM</th><th class=\"n\">p95 FB</th><th>state</th>"
      "<th>action</th><th>evidence</th></tr></thead><tbody>");
  const std::size_t shown = std::min(r.workloads.size(), opt.max_table_rows);
  for (std::size_t i = 0; i < shown; ++i) {
    const WorkloadRow& w = r.workloads[i];
    Put(o, "<tr><td class=\"n\">", Count(i + 1), "</td><td>", E(w.namespace_name), "/<b>", E(w.name),
        "</b><br><span class=\"muted\">", E(w.kind), " &middot; ", Int(w.pods), " pod", w.pods == 1 ? "" : "s");
    if (!w.engine.empty()) Put(o, " &middot; ", E(w.engine));
    if (!w.workload_class.empty()) {
      Put(o, " &middot; <span title=\"", E(w.class_reason), "\">class ", E(w.workload_class), "</span>");
    }
    Put(o, " &middot; attribution ", E(w.source));
    if (w.assumed_share > 0) Put(o, " &middot; ", HtmlPct(w.assumed_share), " held by assumption");
    Put(o, "</span></td><td>", E(w.team), "</td><td class=\"n\">", HtmlFixed(w.gpus, 2), "</td><td class=\"n\">",
        Dollars(w.money.allocated()), "</td><td class=\"n\">", HtmlPct(w.usage), "</td><td class=\"n\">",
        Dollars(w.money.idle), "</td><td class=\"n\">", Dollars(w.idle_annualized), "</td><td class=\"n\">",
        HtmlPct(P95(w, model::UsageSignal::kCompute)), "</td><td class=\"n\">", HtmlPct(P95(w, model::UsageSignal::kFbShare)),
        "</td><td>", Chip(w.diagnosis.state), "</td><td>",
        E(w.diagnosis.action.empty() ? analyze::GpuStateAction(w.diagnosis.state) : w.diagnosis.action), "</td><td>");
    if (!w.diagnosis.evidence.empty()) {
      Put(o, "<details><summary>", Int(static_cast<std::int64_t>(w.diagnosis.evidence.size())), " fact",
          w.diagnosis.evidence.size() == 1 ? "" : "s", "</summary><ul>");
      for (const std::string& e : w.diagnosis.evidence) Put(o, "<li>", E(e), "</li>");
      Put(o, "</ul></details>");
    }
    Put(o, "</td></tr>");
  }
  Put(o, "</tbody>");
  if (shown < r.workloads.size()) {
    std::int64_t idle = 0, cost = 0;
    for (std::size_t i = shown; i < r.workloads.size(); ++i) {
      idle += r.workloads[i].money.idle;
      cost += r.workloads[i].money.allocated();
    }
    Put(o, "<caption>The ", Count(shown), " workloads with the most idle spend of ", Count(r.workloads.size()), "; ",
        Count(r.workloads.size() - shown), " not shown (", Dollars(cost), " cost, ", Dollars(idle),
        " idle). The JSON and CSV outputs list every workload.</caption>");
  }
  Put(o, "</table></section>\n");
}

// Stacked used/idle per team, the rest of the teams as one bar, and the unallocated spend as its own bar.
void TeamChart(std::string& o, const Report& r, const HtmlOptions& opt) {
  struct Bar {
    std::string label, title;
    std::int64_t used = 0, idle = 0, unallocated = 0;
  };
  std::vector<Bar> bars;
  const std::size_t shown = std::min(r.teams.size(), opt.max_chart_teams);
  for (std::size_t i = 0; i < shown; ++i)
    bars.push_back({r.teams[i].key, r.teams[i].key, r.teams[i].used, r.teams[i].idle, 0});
  if (shown < r.teams.size()) {
    Bar other{"other teams (" + Count(r.teams.size() - shown) + ")", "", 0, 0, 0};
    for (std::size_t i = shown; i < r.teams.size(); ++i) {
      other.used += r.teams[i].used;
      other.idle += r.teams[i].idle;
    }
    other.title = other.label;
    bars.push_back(std::move(other));
  }
  bars.push_back({"(unallocated)", "unallocated: GPU spend no pod held", 0, 0, r.fleet.unallocated});
  std::int64_t max_total = 0;
  for (const Bar& b : bars) max_total = std::max(max_total, b.used + b.idle + b.unallocated);
  constexpr double kLabelW = 180, kBarW = 420, kRowH = 22, kTop = 26;
  const double height = kTop + kRowH * static_cast<double>(bars.size()) + 6;
  Put(o, "<svg class=\"teams\" width=\"760\" height=\"", Coord(height), "\" viewBox=\"0 0 760 ", Coord(height),
      "\" role=\"img\" aria-label=\"cost by team\">");
  const std::array<std::pair<const char*, const char*>, 3> legend = {std::pair{"used", kUsedColor},
                                                                     std::pair{"allocated-idle", kIdleColor},
                                                                     std::pair{"unallocated", kUnallocatedColor}};
  for (std::size_t i = 0; i < legend.size(); ++i) {
    const double x = kLabelW + static_cast<double>(i) * 130;
    Put(o, "<rect x=\"", Coord(x), "\" y=\"4\" width=\"11\" height=\"11\" fill=\"", legend[i].second, "\"/><text x=\"",
        Coord(x + 16), "\" y=\"14\">", legend[i].first, "</text>");
  }
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = kTop + kRowH * static_cast<double>(i);
    const std::int64_t total = b.used + b.idle + b.unallocated;
    auto width = [&](std::int64_t v) {
      return max_total > 0 ? kBarW * static_cast<double>(std::max<std::int64_t>(0, v)) / static_cast<double>(max_total)
                           : 0.0;
    };
    Put(o, "<g><title>", E(b.title), ": ", Dollars(total));
    if (b.unallocated == 0) Put(o, " (used ", Dollars(b.used), ", idle ", Dollars(b.idle), ")");
    Put(o, "</title><text x=\"", Coord(kLabelW - 8), "\" y=\"", Coord(y + 14), "\" text-anchor=\"end\">",
        E(Clip(b.label, 26)), "</text>");
    double x = kLabelW;
    const std::array<std::pair<std::int64_t, const char*>, 3> parts = {
        std::pair{b.used, kUsedColor}, std::pair{b.idle, kIdleColor}, std::pair{b.unallocated, kUnallocatedColor}};
    for (const auto& part : parts) {
      const double w = width(part.first);
      if (w <= 0) continue;
      Put(o, "<rect x=\"", Coord(x), "\" y=\"", Coord(y + 3), "\" width=\"", Coord(w), "\" height=\"", Coord(kRowH - 6),
          "\" fill=\"", part.second, "\"/>");
      x += w;
    }
    Put(o, "<text x=\"", Coord(x + 6), "\" y=\"", Coord(y + 14), "\">", Dollars(total));
    if (b.unallocated == 0 && total > 0) Put(o, " (", Share(b.idle, total), " idle)");
    Put(o, "</text></g>");
  }
  Put(o, "</svg>\n");
}

void ShowbackTable(std::string& o, const std::vector<analyze::ShowbackRow>& rows, const char* key, std::size_t cap,
                   const analyze::Fleet* unallocated) {
  Put(o, "<table><thead><tr><th>", key,
      "</th><th class=\"n\">cost</th><th class=\"n\">used</th><th class=\"n\">idle</th>"
      "<th class=\"n\">idle share</th><th class=\"n\">GPU-hours</th><th "
      "class=\"n\">workloads</th></tr></thead><tbody>");
  const std::size_t shown = std::min(rows.size(), cap);
  for (std::size_t i = 0; i < shown; ++i) {
    const analyze::ShowbackRow& s = rows[i];
    Put(o, "<tr><td>", E(s.key), "</td><td class=\"n\">", Dollars(s.cost), "</td><td class=\"n\">", Dollars(s.used),
        "</td><td class=\"n\">", Dollars(s.idle), "</td><td class=\"n\">", Share(s.idle, s.cost),
        "</td><td class=\"n\">", HtmlFixed(s.gpu_hours, 1), "</td><td class=\"n\">",
        Count(static_cast<std::size_t>(std::max(0, s.workloads))), "</td></tr>");
  }
  if (shown < rows.size()) {
    analyze::ShowbackRow rest;
    for (std::size_t i = shown; i < rows.size(); ++i) {
      rest.cost += rows[i].cost;
      rest.used += rows[i].used;
      rest.idle += rows[i].idle;
      rest.gpu_hours += rows[i].gpu_hours;
      rest.workloads += rows[i].workloads;
    }
    Put(o, "<tr><td><i>", Count(rows.size() - shown), " more</i></td><td class=\"n\">", Dollars(rest.cost),
        "</td><td class=\"n\">", Dollars(rest.used), "</td><td class=\"n\">", Dollars(rest.idle),
        "</td><td class=\"n\">", Share(rest.idle, rest.cost), "</td><td class=\"n\">", HtmlFixed(rest.gpu_hours, 1),
        "</td><td class=\"n\">", Count(static_cast<std::size_t>(std::max(0, rest.workloads))), "</td></tr>");
  }
  if (unallocated != nullptr) {
    Put(o, "<tr><td><i>(unallocated)</i></td><td class=\"n\">", Dollars(unallocated->unallocated),
        "</td><td class=\"n\">-</td><td class=\"n\">-</td><td class=\"n\">-</td><td class=\"n\">-</td>"
        "<td class=\"n\">-</td></tr>");
  }
  Put(o, "</tbody></table>");
}

void Teams(std::string& o, const Report& r, const HtmlOptions& opt) {
  Put(o, "<section id=\"teams\"><h2>Showback by team</h2>");
  TeamChart(o, r, opt);
  ShowbackTable(o, r.teams, "team", opt.max_table_rows, &r.fleet);
  if (!r.namespaces.empty()) {
    Put(o, "<details><summary>by namespace (", Count(r.namespaces.size()), ")</summary>");
    ShowbackTable(o, r.namespaces, "namespace", opt.max_table_rows, nullptr);
    Put(o, "</details>");
  }
  Put(o, "</section>\n");
}

std::string_view SourceMeaning(std::string_view source) {
  if (source == "api") return "the pod is in the Kubernetes API";
  if (source == "kube-state-metrics") return "the pod is gone; kube-state-metrics named its owner and labels";
  if (source == "inferred") return "the pod is gone; its owner is inferred from the pod name";
  if (source == "pod-gone") return "the pod is gone and nothing names its owner (unattributed)";
  return "";
}

void Attribution(std::string& o, const Report& r) {
  Put(o,
      "<section id=\"attribution\"><h2>Attribution</h2><table><thead><tr><th>source</th><th>meaning</th>"
      "<th class=\"n\">cost</th><th class=\"n\">share of allocated</th><th "
      "class=\"n\">workloads</th></tr></thead><tbody>");
  for (const analyze::ClassRow& c : r.classes) {
    Put(o, "<tr><td>", E(c.source), "</td><td>", E(SourceMeaning(c.source)), "</td><td class=\"n\">", Dollars(c.cost),
        "</td><td class=\"n\">", HtmlPct(c.share), "</td><td class=\"n\">",
        Count(static_cast<std::size_t>(std::max(0, c.workloads))), "</td></tr>");
  }
  Put(o,
      "</tbody></table><p class=\"note\">Shares are of allocated cost (used + allocated-idle). How shared GPUs "
      "and usage are counted: <a href=\"#method\">Method</a>.</p></section>\n");
}

std::string_view FindingMeaning(std::string_view kind) {
  if (kind == "idle-workload") return "workloads whose GPUs did no work for most of the window";
  if (kind == "forgotten-endpoint") return "serving endpoints whose GPUs did no work for most of the window";
  if (kind == "unallocated-gpu") return "whole GPUs no pod held for a large part of the window";
  if (kind == "cpu-only-node") return "GPU nodes kept up by CPU-only pods";
  if (kind == "pending-gpu") return "pods waiting for GPUs";
  if (kind == "signal-gap") return "nodes whose usage signal is missing or weaker than SM activity";
  if (kind == "unknown-node") return "GPUs that report telemetry but belong to no known node";
  return "";
}

void Findings(std::string& o, const Report& r, const HtmlOptions& opt) {
  Put(o, "<section id=\"findings\"><h2>Findings</h2>");
  if (r.findings.empty()) Put(o, "<p>None.</p>");
  // Grouped by kind, in the order kinds first appear (the report's order: costliest kinds first).
  std::vector<std::string> kinds;
  std::map<std::string, std::vector<const analyze::Finding*>> by_kind;
  for (const analyze::Finding& f : r.findings) {
    auto& list = by_kind[f.kind];
    if (list.empty()) kinds.push_back(f.kind);
    list.push_back(&f);
  }
  for (const std::string& kind : kinds) {
    const auto& list = by_kind[kind];
    std::int64_t total = 0;
    for (const analyze::Finding* f : list) total += f->cost;
    Put(o, "<h3>", E(kind), " (", Count(list.size()), total > 0 ? ", " + Dollars(total) : std::string(), ")</h3>");
    if (std::string_view m = FindingMeaning(kind); !m.empty()) Put(o, "<p class=\"note\">", m, "</p>");
    Put(o,
        "<table><thead><tr><th>subject</th><th>finding</th><th>action</th><th "
        "class=\"n\">cost</th></tr></thead><tbody>");
    const std::size_t shown = std::min(list.size(), opt.max_findings_per_kind);
    for (std::size_t i = 0; i < shown; ++i) {
      const analyze::Finding& f = *list[i];
      Put(o, "<tr><td>", E(f.subject), "</td><td>", E(f.text), "</td><td>", E(f.action), "</td><td class=\"n\">",
          f.cost != 0 ? Dollars(f.cost) : "-", "</td></tr>");
    }
    Put(o, "</tbody>");
    if (shown < list.size()) {
      std::int64_t rest = 0;
      for (std::size_t i = shown; i < list.size(); ++i) rest += list[i]->cost;
      Put(o, "<caption>", Count(list.size() - shown), " more ", E(kind), " findings not shown",
          rest > 0 ? " (" + Dollars(rest) + ")" : std::string(), ".</caption>");
    }
    Put(o, "</table>");
  }
  Put(o, "</section>\n");
}

// ---- heatmap ----------------------------------------------------------------------------------------------------

// Appends horizontal runs to one path per colour: "M x y h w" starts a row, "m dx 0 h w" continues it. The path is
// stroked with the row height, so a run costs a few bytes rather than a <rect>.
class RunPath {
 public:
  void Add(int row, double y, int x, int w) {
    if (row != row_) {
      Put(d_, "M", Int(x), " ", Coord(y), "h", Int(w));
    } else {
      Put(d_, "m", Int(x - x_), " 0h", Int(w));
    }
    row_ = row;
    x_ = x + w;
  }
  bool empty() const { return d_.empty(); }
  const std::string& d() const { return d_; }

 private:
  std::string d_;
  int row_ = -1;
  int x_ = 0;
};

void Heatmap(std::string& o, const Report& r, const HtmlOptions& opt) {
  const analyze::Heatmap& h = r.heatmap;
  Put(o, "<section id=\"heatmap\"><h2>GPU usage by node</h2>");
  const std::size_t src_rows = h.rows.size(), src_cols = h.column_starts.size();
  if (src_rows == 0 || src_cols == 0) {
    Put(o, "<p>No node or interval to show.</p></section>\n");
    return;
  }
  if (h.usage.size() != src_rows * src_cols || h.held.size() != src_rows * src_cols) {
    Put(o, "<p>Heatmap not drawn: its data has ", Count(h.usage.size()), " usage and ", Count(h.held.size()),
        " held cells for ", Count(src_rows), " nodes x ", Count(src_cols), " intervals.</p></section>\n");
    return;
  }
  // Rows: every node, or the costliest when there are too many (kept in the report's order).
  std::unordered_map<std::string, std::int64_t> cost_by_name;
  for (const analyze::NodeRow& n : r.nodes) cost_by_name[n.name] += n.cost;
  auto node_cost = [&](std::size_t i) {
    auto it = cost_by_name.find(h.rows[i]);
    return it == cost_by_name.end() ? std::int64_t{0} : it->second;
  };
  std::vector<std::size_t> rows(src_rows);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  const std::size_t row_cap = std::max<std::size_t>(1, opt.max_heatmap_rows);
  if (src_rows > row_cap) {
    std::stable_sort(rows.begin(), rows.end(),
                     [&](std::size_t a, std::size_t b) { return node_cost(a) > node_cost(b); });
    rows.resize(row_cap);
    std::sort(rows.begin(), rows.end());
  }
  // Columns: adjacent intervals merged by their mean when there are too many (NaN: no sample in any of them).
  const std::size_t col_cap = std::max<std::size_t>(1, opt.max_heatmap_columns);
  const std::size_t group = (src_cols + col_cap - 1) / col_cap;
  const std::size_t cols = (src_cols + group - 1) / group;
  std::vector<double> usage(rows.size() * cols), held(rows.size() * cols);
  std::vector<std::int64_t> starts(cols);
  for (std::size_t c = 0; c < cols; ++c) starts[c] = h.column_starts[c * group];
  for (std::size_t ri = 0; ri < rows.size(); ++ri) {
    for (std::size_t c = 0; c < cols; ++c) {
      double u = 0, hd = 0;
      std::size_t nu = 0, n = 0;
      for (std::size_t k = c * group; k < std::min(src_cols, (c + 1) * group); ++k) {
        const double cu = h.usage[rows[ri] * src_cols + k], ch = h.held[rows[ri] * src_cols + k];
        if (std::isfinite(cu)) {
          u += cu;
          ++nu;
        }
        hd += std::isfinite(ch) ? ch : 0.0;
        ++n;
      }
      usage[ri * cols + c] = nu > 0 ? u / static_cast<double>(nu) : NAN;
      held[ri * cols + c] = n > 0 ? hd / static_cast<double>(n) : 0.0;
    }
  }

  // Geometry in whole pixels, so every run is an integer x and width.
  const int cell_w = std::max(2, static_cast<int>(720 / cols));
  const int cell_h = rows.size() <= 40 ? 14 : rows.size() <= 100 ? 10 : 6;
  const int x0 = 180, y0 = 20;
  const int grid_w = cell_w * static_cast<int>(cols), grid_h = cell_h * static_cast<int>(rows.size());
  const int held_x = x0 + grid_w + 14, held_w = 60;
  const int axis_y = y0 + grid_h;
  const int legend_y = axis_y + 44;
  const int width = std::max(held_x + held_w + 10, 760), height = legend_y + 70;

  std::string note;
  if (rows.size() < src_rows) {
    note += "Showing the " + Count(rows.size()) + " nodes with the highest GPU cost of " + Count(src_rows) + ". ";
  }
  if (group > 1) {
    note +=
        "Each column is the mean of " + Count(group) + " adjacent intervals (" + Count(src_cols) + " in the window). ";
  }
  Put(o,
      "<p class=\"note\">Rows are nodes, columns are intervals of the window; a cell is the node's mean GPU usage "
      "(compute or framebuffer, whichever is higher, weighted by GPU share). Hover a row for its means. ",
      E(note), "</p>");

  Put(o, "<svg class=\"heat\" width=\"", Int(width), "\" height=\"", Int(height), "\" viewBox=\"0 0 ", Int(width), " ",
      Int(height), "\" role=\"img\" aria-label=\"GPU usage per node and interval\" data-rows=\"", Count(rows.size()),
      "\" data-cols=\"", Int(static_cast<std::int64_t>(cols)), "\" data-x0=\"", Int(x0), "\" data-y0=\"", Int(y0),
      "\" data-cell-w=\"", Int(cell_w), "\" data-cell-h=\"", Int(cell_h), "\">");
  Put(o,
      "<defs><pattern id=\"hm-nan\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
      "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#E4E4E7\"/><line x1=\"0\" y1=\"0\" "
      "x2=\"0\" y2=\"6\" stroke=\"#8A8F98\" stroke-width=\"2\"/></pattern><pattern id=\"hm-unheld\" width=\"4\" "
      "height=\"4\" patternUnits=\"userSpaceOnUse\"><circle cx=\"2\" cy=\"2\" r=\"0.9\" fill=\"#FFFFFF\"/></pattern>"
      "</defs>");

  std::array<RunPath, kHeat.size()> paths;
  RunPath nan_path, unheld_path;
  for (std::size_t ri = 0; ri < rows.size(); ++ri) {
    const int row = static_cast<int>(ri);
    const double y = y0 + row * cell_h + cell_h / 2.0;
    auto code = [&](std::size_t c) {
      const double u = usage[ri * cols + c];
      if (!std::isfinite(u)) return -1;
      return std::min(static_cast<int>(kHeat.size()) - 1, static_cast<int>(std::clamp(u, 0.0, 1.0) * 10.0));
    };
    for (std::size_t c = 0; c < cols;) {
      const int k = code(c);
      std::size_t end = c + 1;
      while (end < cols && code(end) == k) ++end;
      const int x = x0 + static_cast<int>(c) * cell_w, w = static_cast<int>(end - c) * cell_w;
      (k < 0 ? nan_path : paths[static_cast<std::size_t>(k)]).Add(row, y, x, w);
      c = end;
    }
    // Dots over the cells where no pod held any GPU of the node (usage known): that spend is unallocated.
    auto unheld = [&](std::size_t c) { return std::isfinite(usage[ri * cols + c]) && held[ri * cols + c] <= 1e-9; };
    for (std::size_t c = 0; c < cols;) {
      if (!unheld(c)) {
        ++c;
        continue;
      }
      std::size_t end = c + 1;
      while (end < cols && unheld(end)) ++end;
      unheld_path.Add(row, y, x0 + static_cast<int>(c) * cell_w, static_cast<int>(end - c) * cell_w);
      c = end;
    }
  }
  Put(o, "<g fill=\"none\" stroke-width=\"", Int(cell_h), "\">");
  for (std::size_t k = 0; k < paths.size(); ++k) {
    if (!paths[k].empty()) Put(o, "<path class=\"hm-cells\" stroke=\"", kHeat[k], "\" d=\"", paths[k].d(), "\"/>");
  }
  if (!nan_path.empty()) Put(o, "<path class=\"hm-nan\" stroke=\"url(#hm-nan)\" d=\"", nan_path.d(), "\"/>");
  if (!unheld_path.empty())
    Put(o, "<path class=\"hm-unheld\" stroke=\"url(#hm-unheld)\" d=\"", unheld_path.d(), "\"/>");
  Put(o, "</g>");

  // Row labels, the mean held share as a bar, and a transparent band per row carrying its tooltip.
  const int font = std::max(5, std::min(11, cell_h - 2));
  Put(o, "<text x=\"", Int(x0 - 6), "\" y=\"", Int(y0 - 6), "\" text-anchor=\"end\" font-weight=\"600\">node</text>",
      "<text x=\"", Int(held_x), "\" y=\"", Int(y0 - 6), "\" font-weight=\"600\">GPUs held</text>");
  Put(o, "<g font-size=\"", Int(font), "\">");
  std::string held_d;
  for (std::size_t ri = 0; ri < rows.size(); ++ri) {
    const int y = y0 + static_cast<int>(ri) * cell_h;
    double u = 0, hd = 0;
    std::size_t nu = 0;
    for (std::size_t c = 0; c < cols; ++c) {
      if (std::isfinite(usage[ri * cols + c])) {
        u += usage[ri * cols + c];
        ++nu;
      }
      hd += held[ri * cols + c];
    }
    const double mean_u = nu > 0 ? u / static_cast<double>(nu) : NAN;
    const double mean_h = hd / static_cast<double>(cols);
    const std::string& name = h.rows[rows[ri]];
    Put(o, "<text x=\"", Int(x0 - 6), "\" y=\"", Coord(y + cell_h / 2.0 + font * 0.35), "\" text-anchor=\"end\">",
        E(Clip(name, 28)), "</text>");
    const double bw = std::clamp(mean_h, 0.0, 1.0) * held_w;
    if (bw > 0) Put(held_d, "M", Int(held_x), " ", Coord(y + cell_h / 2.0), "h", Coord(bw));
    Put(o, "<rect x=\"0\" y=\"", Int(y), "\" width=\"", Int(held_x + held_w), "\" height=\"", Int(cell_h),
        "\" fill=\"#000\" fill-opacity=\"0\"><title>", E(name), ": mean usage ", HtmlPct(mean_u), " over ", Count(nu),
        " of ", Count(cols), " columns with samples; GPUs held ", HtmlPct(mean_h), " of the time; cost ",
        Dollars(node_cost(rows[ri])), "</title></rect>");
  }
  Put(o, "</g>");
  Put(o, "<rect x=\"", Int(held_x), "\" y=\"", Int(y0), "\" width=\"", Int(held_w), "\" height=\"", Int(grid_h),
      "\" fill=\"#F4F4F6\"/>");
  if (!held_d.empty()) {
    Put(o, "<path stroke=\"#5f6368\" stroke-width=\"", Int(std::max(2, cell_h - 2)), "\" d=\"", held_d, "\"/>");
  }
  Put(o, "<line class=\"ax\" x1=\"", Int(x0), "\" y1=\"", Int(axis_y), "\" x2=\"", Int(x0 + grid_w), "\" y2=\"",
      Int(axis_y), "\"/>");

  // Time ticks in UTC: the finest step of hours or days that leaves at least 70 px between labels.
  const std::int64_t first = starts.front();
  std::int64_t last = r.end_unix_s;
  if (last <= starts.back())
    last = starts.back() + (cols > 1 ? starts[1] - starts[0] : 3600 * static_cast<std::int64_t>(group));
  auto x_of = [&](std::int64_t t) {
    const auto after = static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), t) - starts.begin());
    const std::size_t k = after > 0 ? after - 1 : 0;
    const std::int64_t next = k + 1 < cols ? starts[k + 1] : last;
    const double frac =
        next > starts[k] ? static_cast<double>(t - starts[k]) / static_cast<double>(next - starts[k]) : 0.0;
    return x0 + (static_cast<double>(k) + std::clamp(frac, 0.0, 1.0)) * cell_w;
  };
  const std::int64_t span = last - first;
  constexpr std::int64_t kCentury = 100LL * 366 * 86400;  // longer: no ticks (a corrupt window, not a fleet)
  if (span > 0 && span < kCentury) {
    const double px_per_s = static_cast<double>(grid_w) / static_cast<double>(span);
    constexpr std::array<std::int64_t, 9> kSteps = {3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 1209600};
    std::int64_t step = kSteps.back();
    for (std::int64_t s : kSteps) {
      if (static_cast<double>(s) * px_per_s >= 70) {
        step = s;
        break;
      }
    }
    while (static_cast<double>(step) * px_per_s < 70) step *= 2;  // very long windows
    for (std::int64_t t = (first + step - 1) / step * step; t < last; t += step) {
      const std::string x = Coord(x_of(t));
      const char* format = step < 86400 && t % 86400 != 0 ? "%H:%M" : "%m-%d";
      Put(o, "<line class=\"ax\" x1=\"", x, "\" y1=\"", Int(axis_y), "\" x2=\"", x, "\" y2=\"", Int(axis_y + 4),
          "\"/><text x=\"", x, "\" y=\"", Int(axis_y + 16), "\" text-anchor=\"middle\">", HtmlUtc(t, format), "</text>");
    }
  }
  Put(o, "<text x=\"", Int(x0), "\" y=\"", Int(axis_y + 32), "\">time (UTC): ", HtmlUtc(first, "%Y-%m-%d %H:%M"), " to ",
      HtmlUtc(last, "%Y-%m-%d %H:%M"), "</text>");

  // Legend: the ten steps, then no sample and nothing held.
  for (std::size_t k = 0; k < kHeat.size(); ++k) {
    const int x = x0 + static_cast<int>(k) * 34;
    Put(o, "<rect class=\"hm-key\" x=\"", Int(x), "\" y=\"", Int(legend_y), "\" width=\"34\" height=\"12\" fill=\"",
        kHeat[k], "\"/>");
    Put(o, "<text x=\"", Int(x), "\" y=\"", Int(legend_y + 24), "\" text-anchor=\"middle\">",
        Int(static_cast<int>(k) * 10), "%</text>");
  }
  Put(o, "<text x=\"", Int(x0 + 340), "\" y=\"", Int(legend_y + 24), "\" text-anchor=\"middle\">100%</text>");
  Put(o, "<text x=\"", Int(x0 - 6), "\" y=\"", Int(legend_y + 10), "\" text-anchor=\"end\">usage</text>");
  const int lx = x0, ly = legend_y + 34;
  Put(o, "<rect x=\"", Int(lx), "\" y=\"", Int(ly), "\" width=\"24\" height=\"12\" fill=\"url(#hm-nan)\"/>",
      "<text x=\"", Int(lx + 30), "\" y=\"", Int(ly + 10), "\">hatched: no usage sample (usage unknown)</text>");
  Put(o, "<rect x=\"", Int(lx + 300), "\" y=\"", Int(ly), "\" width=\"24\" height=\"12\" fill=\"", kHeat[0],
      "\"/><rect x=\"", Int(lx + 300), "\" y=\"", Int(ly), "\" width=\"24\" height=\"12\" fill=\"url(#hm-unheld)\"/>",
      "<text x=\"", Int(lx + 330), "\" y=\"", Int(ly + 10), "\">dots: no pod held a GPU of the node</text>");
  Put(o, "</svg></section>\n");
}

// ---- signal health, warnings, method ----------------------------------------------------------------------------

bool SignalProblem(const analyze::NodeRow& n) {
  return n.compute_source != "sm_active" || n.devices_without_samples > 0 || n.unseen_gpus > 0 ||
         !n.unpriced_reason.empty();
}

void Signals(std::string& o, const Report& r, const HtmlOptions& opt) {
  Put(o, "<section id=\"signals\"><h2>Signal health</h2>");
  if (r.nodes.empty()) {
    Put(o, "<p>No nodes.</p></section>\n");
    return;
  }
  // Nodes with a problem first, then by cost, when not all fit; shown in the report's order.
  std::vector<std::size_t> idx(r.nodes.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  if (idx.size() > opt.max_table_rows) {
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      const bool pa = SignalProblem(r.nodes[a]), pb = SignalProblem(r.nodes[b]);
      if (pa != pb) return pa;
      return r.nodes[a].cost > r.nodes[b].cost;
    });
    idx.resize(opt.max_table_rows);
    std::sort(idx.begin(), idx.end());
  }
  Put(o,
      "<table><thead><tr><th>node</th><th>instance</th><th>GPU</th><th>capacity</th><th class=\"n\">GPUs</th>"
      "<th class=\"n\">MIG</th><th class=\"n\">$/GPU-h</th><th class=\"n\">cost</th><th class=\"n\">unallocated</th>"
      "<th>compute signal</th><th class=\"n\">devices without samples</th><th>price rule</th></tr></thead><tbody>");
  for (std::size_t i : idx) {
    const analyze::NodeRow& n = r.nodes[i];
    Put(o, SignalProblem(n) ? "<tr class=\"warn\">" : "<tr>", "<td>", E(n.name), "</td><td>",
        n.instance_type.empty() ? "-" : E(n.instance_type), "</td><td>", n.gpu_model.empty() ? "-" : E(n.gpu_model),
        "</td><td>", E(n.capacity_type), "</td><td class=\"n\">", Int(n.gpus));
    if (n.unseen_gpus > 0) Put(o, " (", Int(n.unseen_gpus), " unseen)");
    Put(o, "</td><td class=\"n\">", Int(n.mig_instances), "</td><td class=\"n\">",
        n.unpriced_reason.empty() ? Dollars(n.price_micro_per_gpu_hour) : "unpriced", "</td><td class=\"n\">",
        Dollars(n.cost), "</td><td class=\"n\">", Dollars(n.unallocated), "</td><td>", E(n.compute_source),
        "</td><td class=\"n\">", Int(n.devices_without_samples), "</td><td>",
        E(n.unpriced_reason.empty() ? n.price_rule : n.unpriced_reason), "</td></tr>");
  }
  Put(o, "</tbody>");
  if (idx.size() < r.nodes.size()) {
    Put(o, "<caption>", Count(idx.size()), " of ", Count(r.nodes.size()),
        " nodes shown: those with a signal or price problem first, then the costliest.</caption>");
  }
  Put(o,
      "</table><p class=\"note\">Highlighted: compute from a weaker signal than SM activity, devices without any "
      "exporter sample, GPUs no exporter reports, or no price.</p></section>\n");
}

void Warnings(std::string& o, const Report& r, const HtmlOptions& opt) {
  if (r.warnings.empty()) return;
  Put(o, "<section id=\"warnings\"><h2>Warnings</h2><ul>");
  const std::size_t shown = std::min(r.warnings.size(), opt.max_table_rows);
  for (std::size_t i = 0; i < shown; ++i) Put(o, "<li>", E(r.warnings[i]), "</li>");
  if (shown < r.warnings.size()) Put(o, "<li><i>", Count(r.warnings.size() - shown), " more not shown</i></li>");
  Put(o, "</ul></section>\n");
}

void Method(std::string& o, const Report& r) {
  const analyze::DiagnosisOptions& t = r.thresholds;
  Put(o, "<section id=\"method\"><h2>Method and thresholds</h2><p><b>Shared GPUs.</b> ", E(Sentence(r.policy)),
      "</p><p><b>Usage.</b> ", E(Sentence(r.usage_definition)), "</p>");
  Put(o, "<table><thead><tr><th>threshold</th><th class=\"n\">value</th><th>meaning</th></tr></thead><tbody>",
      "<tr><td>compute_high</td><td class=\"n\">", HtmlPct(t.compute_high),
      "</td><td>p95 compute activity at or above: compute high</td></tr>", "<tr><td>fb_high</td><td class=\"n\">",
      HtmlPct(t.fb_high), "</td><td>p95 framebuffer used / held at or above: framebuffer high</td></tr>",
      "<tr><td>dram_high</td><td class=\"n\">", HtmlPct(t.dram_high),
      "</td><td>p95 DRAM activity at or above, with low compute: memory-bound</td></tr>",
      "<tr><td>idle_compute</td><td class=\"n\">", HtmlPct(t.idle_compute),
      "</td><td>a sample below this compute activity is idle</td></tr>", "<tr><td>idle_share</td><td class=\"n\">",
      HtmlPct(t.idle_share), "</td><td>a workload idle in at least this share of its samples is idle</td></tr>",
      "<tr><td>min_samples</td><td class=\"n\">", std::to_string(t.min_samples),
      "</td><td>fewer compute samples than this: unknown</td></tr></tbody></table>");
  Put(o,
      "<p class=\"note\">States, first match wins: unknown (too few samples); idle; busy (compute and framebuffer "
      "high); compute-bound (compute high); memory-bound (DRAM high); memory-held (framebuffer high); "
      "over-provisioned (otherwise). An unknown framebuffer share counts as low.</p></section>\n");
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7F) {
          out += "\xEF\xBF\xBD";
        } else {
          out += ch;
        }
    }
  }
  return out;
}

std::string ReportHtml(const Report& r, const HtmlOptions& opt) {
  std::string o;
  o.reserve(64 * 1024);
  Put(o,
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>gpuwise report ");
  if (r.live)
    Put(o, "(live, ", HtmlUtc(r.start_unix_s), ")");
  else
    Put(o, HtmlUtc(r.start_unix_s, "%Y-%m-%d"), " to ", HtmlUtc(r.end_unix_s, "%Y-%m-%d"));
  Put(o, "</title><style>", kStyle, "</style></head><body>\n");
  Header(o, r);
  Fleet(o, r, opt.plan);
  Scatter(o, r, opt);
  Workloads(o, r, opt);
  Teams(o, r, opt);
  Attribution(o, r);
  Findings(o, r, opt);
  Heatmap(o, r, opt);
  Signals(o, r, opt);
  Warnings(o, r, opt);
  Method(o, r);
  Put(o,
      "<footer class=\"note\">Generated by gpuwise. Money is rounded to cents here; the JSON output keeps exact "
      "micro-dollars.</footer>\n</body></html>\n");
  return o;
}

}  // namespace gpuwise::cli
