#include "cli/report_html.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace gpuwise::cli {
namespace {

using analyze::GpuState;
using analyze::Report;
using analyze::WorkloadRow;

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kStart = 1714521600;  // 2024-05-01 00:00 UTC

WorkloadRow Workload(std::string ns, std::string name, GpuState state, std::int64_t used, std::int64_t idle,
                     double compute_p95, double fb_p95) {
  WorkloadRow w;
  w.namespace_name = std::move(ns);
  w.kind = "Deployment";
  w.name = std::move(name);
  w.team = "team-a";
  w.source = "api";
  w.workload_class = "interactive";
  w.class_reason = "serves HTTP \"/v1\" <engine>";
  w.pods = 1;
  w.gpus = 1;
  w.gpu_hours = 24;
  w.money.used = used;
  w.money.idle = idle;
  w.usage = static_cast<double>(used) / static_cast<double>(used + idle);
  w.diagnosis.state = state;
  w.diagnosis.action = std::string(analyze::GpuStateAction(state));
  w.diagnosis.evidence = {"p95 compute " + std::to_string(compute_p95)};
  w.diagnosis.signals[static_cast<std::size_t>(model::UsageSignal::kCompute)].p95 = compute_p95;
  w.diagnosis.signals[static_cast<std::size_t>(model::UsageSignal::kFbShare)].p95 = fb_p95;
  return w;
}

// A small, complete report: two workloads, one team, two nodes, a 3-interval heatmap.
Report SmallReport() {
  Report r;
  r.start_unix_s = kStart;
  r.end_unix_s = kStart + kDay;
  r.telemetry_source = "prometheus http://prometheus.monitoring:9090";
  r.cluster_source = "kubernetes https://10.0.0.1:6443";
  r.policy = analyze::kSharedGpuPolicy;
  r.usage_definition = analyze::kUsageDefinition;
  r.fleet.nodes = 2;
  r.fleet.gpus = 16;
  r.fleet.window_hours = 24;
  r.fleet.used = 25'000'000;
  r.fleet.idle = 50'000'000;
  r.fleet.unallocated = 25'000'000;
  r.fleet.cost = 100'000'000;
  r.fleet.utilization = 0.25;
  r.fleet.unused_annualized = 27'375'000'000;
  r.workloads.push_back(Workload("ml", "idle-notebook", GpuState::kIdle, 1'000'000, 40'000'000, 0.01, 0.2));
  r.workloads.push_back(Workload("ml", "busy-server", GpuState::kBusy, 24'000'000, 10'000'000, 0.8, 0.9));
  r.teams.push_back({"team-a", 75'000'000, 25'000'000, 50'000'000, 48, 2});
  r.namespaces.push_back({"ml", 75'000'000, 25'000'000, 50'000'000, 48, 2});
  r.classes.push_back({"api", 75'000'000, 1.0, 2});
  analyze::NodeRow n1;
  n1.node = 0;
  n1.name = "gpu-node-1";
  n1.compute_source = "sm_active";
  n1.cost = 60'000'000;
  analyze::NodeRow n2 = n1;
  n2.node = 1;
  n2.name = "gpu-node-2";
  n2.compute_source = "gpu_util";
  n2.cost = 40'000'000;
  r.nodes = {n1, n2};
  r.findings.push_back({"idle-workload", "ml/Deployment/idle-notebook", "held 1 GPU, idle", "reclaim", 40'000'000});
  r.heatmap.rows = {"gpu-node-1", "gpu-node-2"};
  r.heatmap.column_starts = {kStart, kStart + 8 * 3600, kStart + 16 * 3600};
  r.heatmap.usage = {0.15, NAN, 0.95, 0.5, 0.5, 0.02};
  r.heatmap.held = {1.0, 1.0, 1.0, 0.5, 0.5, 0.0};
  r.warnings.push_back("a warning");
  return r;
}

// ---- small parsers for the checks -------------------------------------------------------------------------------

std::size_t Occurrences(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

// The value of attribute `name` in an opening tag's text, or "" when absent.
std::string Attr(const std::string& tag, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const std::size_t p = tag.find(key);
  if (p == std::string::npos) return "";
  const std::size_t from = p + key.size();
  return tag.substr(from, tag.find('"', from) - from);
}
double NumAttr(const std::string& tag, const std::string& name) {
  const std::string v = Attr(tag, name);
  EXPECT_FALSE(v.empty()) << name << " missing in " << tag;
  return v.empty() ? NAN : std::stod(v);
}

// Every opening tag `<name ...>` (text up to its '>') in document order.
std::vector<std::string> Tags(const std::string& doc, const std::string& name) {
  std::vector<std::string> out;
  const std::string open = "<" + name + " ";
  for (std::size_t p = doc.find(open); p != std::string::npos; p = doc.find(open, p + 1)) {
    out.push_back(doc.substr(p, doc.find('>', p) - p + 1));
  }
  return out;
}

// The opening tag of the first `<name` element whose following <title> starts with `title_prefix`.
std::string TagWithTitle(const std::string& doc, const std::string& name, const std::string& title_prefix) {
  const std::size_t t = doc.find("<title>" + title_prefix);
  if (t == std::string::npos) return "";
  const std::size_t p = doc.rfind("<" + name + " ", t);
  return p == std::string::npos ? "" : doc.substr(p, doc.find('>', p) - p + 1);
}

// The text of the first <svg> of class `cls`.
std::string Svg(const std::string& doc, const std::string& cls) {
  const std::size_t p = doc.find("<svg class=\"" + cls + "\"");
  return p == std::string::npos ? "" : doc.substr(p, doc.find("</svg>", p) - p);
}
// The scatter's points.
std::string Points(const std::string& doc) {
  const std::string svg = Svg(doc, "sc");
  const std::size_t p = svg.find("<g class=\"points\"");
  return p == std::string::npos ? "" : svg.substr(p, svg.find("</g>", p) - p);
}

// A minimal XML well-formedness check of the whole document (HTML void elements allowed): tags balance and nest,
// attributes are quoted, text holds no raw '<' and every '&' starts an entity. Returns "" or the first problem.
std::string WellFormed(const std::string& doc) {
  static const std::set<std::string> kVoid = {"meta", "br", "!DOCTYPE"};
  std::vector<std::string> stack;
  std::size_t i = 0;
  bool in_style = false;
  while (i < doc.size()) {
    const char c = doc[i];
    if (in_style) {  // CSS is raw text up to </style>
      const std::size_t end = doc.find("</style>", i);
      if (end == std::string::npos) return "unterminated <style>";
      i = end;
      in_style = false;
      continue;
    }
    if (c == '&') {
      std::size_t j = i + 1;
      if (j < doc.size() && doc[j] == '#') ++j;
      const std::size_t start = j;
      while (j < doc.size() && std::isalnum(static_cast<unsigned char>(doc[j]))) ++j;
      if (j == start || j >= doc.size() || doc[j] != ';') return "bare & at " + std::to_string(i);
      i = j + 1;
      continue;
    }
    if (c == '>') return "raw > in text at " + std::to_string(i);
    if (c != '<') {
      ++i;
      continue;
    }
    const bool closing = i + 1 < doc.size() && doc[i + 1] == '/';
    std::size_t j = i + (closing ? 2 : 1);
    const std::size_t name_start = j;
    while (j < doc.size() && (std::isalnum(static_cast<unsigned char>(doc[j])) || doc[j] == '!' || doc[j] == '-')) ++j;
    const std::string name = doc.substr(name_start, j - name_start);
    if (name.empty()) return "raw < in text at " + std::to_string(i);
    // Attributes: name="value" pairs, values free of '<' and '"'.
    bool self_closing = false;
    while (j < doc.size() && doc[j] != '>') {
      if (doc[j] == ' ') {
        ++j;
        continue;
      }
      if (doc[j] == '/' && j + 1 < doc.size() && doc[j + 1] == '>') {
        self_closing = true;
        ++j;
        continue;
      }
      const std::size_t a = j;
      while (j < doc.size() && doc[j] != '=' && doc[j] != ' ' && doc[j] != '>') ++j;
      if (name == "!DOCTYPE") continue;
      if (j >= doc.size() || doc[j] != '=' || j + 1 >= doc.size() || doc[j + 1] != '"') {
        return "unquoted attribute " + doc.substr(a, j - a) + " in <" + name + ">";
      }
      const std::size_t end = doc.find('"', j + 2);
      if (end == std::string::npos) return "unterminated attribute in <" + name + ">";
      if (doc.substr(j + 2, end - j - 2).find('<') != std::string::npos) return "< in attribute of <" + name + ">";
      j = end + 1;
    }
    if (j >= doc.size()) return "unterminated tag <" + name;
    i = j + 1;
    if (closing) {
      if (stack.empty() || stack.back() != name) {
        return "</" + name + "> closes <" + (stack.empty() ? std::string("nothing") : stack.back()) + ">";
      }
      stack.pop_back();
    } else if (!self_closing && !kVoid.count(name)) {
      stack.push_back(name);
      if (name == "style") in_style = true;
    }
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

struct Run {
  int x, w;
  double y;
};
// The runs of a heatmap path: "M x y h w" starts a row, "m dx 0 h w" continues it.
std::vector<Run> Runs(const std::string& d) {
  std::vector<Run> out;
  double x = 0, y = 0;
  std::size_t i = 0;
  auto number = [&]() {
    std::size_t used = 0;
    const double v = std::stod(d.substr(i), &used);
    i += used;
    while (i < d.size() && d[i] == ' ') ++i;
    return v;
  };
  while (i < d.size()) {
    const char cmd = d[i++];
    if (cmd == 'M') {
      x = number();
      y = number();
    } else if (cmd == 'm') {
      x += number();
      y += number();
    } else if (cmd == 'h') {
      const double w = number();
      out.push_back({static_cast<int>(x), static_cast<int>(w), y});
      x += w;
    } else {
      ADD_FAILURE() << "unexpected path command " << cmd << " in " << d;
      break;
    }
  }
  return out;
}

// Heatmap geometry and the columns of `row` each path covers, keyed by the path's stroke.
struct HeatCells {
  int x0 = 0, y0 = 0, cw = 0, chh = 0, cols = 0, rows = 0;
  std::map<std::string, std::set<int>> by_stroke;  // stroke -> column indexes in the row asked for
};
HeatCells Cells(const std::string& doc, int row) {
  HeatCells h;
  const std::vector<std::string> svg = Tags(doc, "svg");
  std::string heat;
  for (const std::string& t : svg) {
    if (Attr(t, "class") == "heat") heat = t;
  }
  EXPECT_FALSE(heat.empty());
  if (heat.empty()) return h;
  h.x0 = static_cast<int>(NumAttr(heat, "data-x0"));
  h.y0 = static_cast<int>(NumAttr(heat, "data-y0"));
  h.cw = static_cast<int>(NumAttr(heat, "data-cell-w"));
  h.chh = static_cast<int>(NumAttr(heat, "data-cell-h"));
  h.cols = static_cast<int>(NumAttr(heat, "data-cols"));
  h.rows = static_cast<int>(NumAttr(heat, "data-rows"));
  const double row_y = h.y0 + row * h.chh + h.chh / 2.0;
  for (const std::string& p : Tags(doc, "path")) {
    const std::string cls = Attr(p, "class");
    if (cls != "hm-cells" && cls != "hm-nan" && cls != "hm-unheld") continue;
    for (const Run& run : Runs(Attr(p, "d"))) {
      if (std::abs(run.y - row_y) > 1e-9) continue;
      EXPECT_EQ((run.x - h.x0) % h.cw, 0);
      EXPECT_EQ(run.w % h.cw, 0);
      for (int c = (run.x - h.x0) / h.cw; c < (run.x - h.x0 + run.w) / h.cw; ++c)
        h.by_stroke[Attr(p, "stroke")].insert(c);
    }
  }
  return h;
}

// The fill of the legend swatch for a state.
std::string LegendFill(const std::string& doc, const std::string& state) {
  const std::size_t p = doc.find("data-state=\"" + state + "\"");
  if (p == std::string::npos) return "";
  const std::size_t rect = doc.find("<rect ", p);
  return Attr(doc.substr(rect, doc.find('>', rect) - rect + 1), "fill");
}

// ---- tests ------------------------------------------------------------------------------------------------------

TEST(ReportHtmlTest, SelfContainedWithNoExternalReference) {
  const std::string html = ReportHtml(SmallReport());
  ASSERT_TRUE(html.starts_with("<!DOCTYPE html>"));
  for (const char* bad : {"src=", "href=http", "href=\"http", "href='http", "url(http", "url(\"http", "url('http",
                          "@import", "@font-face", "<script", "<link", "<iframe", "<img", "<object", "<embed"}) {
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  }
  // The only links are to the document's own sections, and every one of them exists.
  for (const std::string& a : Tags(html, "a")) {
    const std::string href = Attr(a, "href");
    ASSERT_TRUE(href.starts_with("#")) << a;
    EXPECT_NE(html.find("id=\"" + href.substr(1) + "\""), std::string::npos) << href;
  }
  // A URL from the input survives as text only.
  EXPECT_NE(html.find("prometheus http://prometheus.monitoring:9090"), std::string::npos);
}

TEST(ReportHtmlTest, DocumentAndSvgAreWellFormed) {
  const std::string html = ReportHtml(SmallReport());
  EXPECT_EQ(WellFormed(html), "");
  EXPECT_EQ(Occurrences(html, "<svg "), 4u);  // fleet bar, scatter, teams, heatmap
  EXPECT_EQ(Occurrences(html, "<svg "), Occurrences(html, "</svg>"));
  EXPECT_EQ(WellFormed(ReportHtml(Report{})), "");
  // The checker itself rejects what it must.
  EXPECT_NE(WellFormed("<svg><g></svg>"), "");
  EXPECT_NE(WellFormed("<p>a < b</p>"), "");
  EXPECT_NE(WellFormed("<p>R&D</p>"), "");
  EXPECT_NE(WellFormed("<rect x=1/>"), "");
}

TEST(ReportHtmlTest, EveryNameFromTheClusterIsEscaped) {
  Report r = SmallReport();
  r.workloads[0].name = "<script>alert(\"x\")</script>";
  r.workloads[0].namespace_name = "a&b";
  r.workloads[1].team = "o'brien <team>";
  r.teams[0].key = "o'brien <team>";
  r.nodes[0].name = "<img onerror=1>";
  r.heatmap.rows[0] = "<img onerror=1>";
  r.findings[0].subject = "a&b/Deployment/<script>";
  r.warnings[0] = "bad value \"<b>\"";
  r.telemetry_source = "<iframe>";
  const std::string html = ReportHtml(r);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<iframe"), std::string::npos);
  EXPECT_EQ(html.find("<team>"), std::string::npos);
  EXPECT_EQ(html.find("<b>\""), std::string::npos);
  const std::string name = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;";
  EXPECT_GE(Occurrences(html, "a&amp;b/<b>" + name + "</b>"), 1u);                          // workloads table
  EXPECT_NE(html.find("<title>a&amp;b/Deployment/" + name + ": idle"), std::string::npos);  // scatter tooltip
  EXPECT_NE(html.find("o&#39;brien &lt;team&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;img onerror=1&gt;"), std::string::npos);
  EXPECT_NE(html.find("<span title=\"serves HTTP &quot;/v1&quot; &lt;engine&gt;\">class interactive</span>"),
            std::string::npos);
  EXPECT_EQ(WellFormed(html), "");
  EXPECT_EQ(HtmlEscape(std::string("a\x01"
                                   "b\x1b[0m\tc\n")),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD[0m\tc\n");
}

TEST(ReportHtmlTest, PointsAreColouredByStateAsTheLegendSays) {
  const std::string html = ReportHtml(SmallReport());
  const std::string busy_fill = LegendFill(html, "busy"), idle_fill = LegendFill(html, "idle");
  ASSERT_FALSE(busy_fill.empty());
  ASSERT_FALSE(idle_fill.empty());
  EXPECT_NE(busy_fill, idle_fill);
  EXPECT_EQ(Attr(TagWithTitle(html, "circle", "ml/Deployment/busy-server: busy"), "fill"), busy_fill);
  EXPECT_EQ(Attr(TagWithTitle(html, "circle", "ml/Deployment/idle-notebook: idle"), "fill"), idle_fill);
  // Every state has its own colour.
  std::set<std::string> fills;
  for (GpuState s : {GpuState::kUnknown, GpuState::kIdle, GpuState::kBusy, GpuState::kComputeBound,
                     GpuState::kMemoryBound, GpuState::kMemoryHeld, GpuState::kOverProvisioned}) {
    fills.insert(LegendFill(html, std::string(analyze::GpuStateName(s))));
  }
  EXPECT_EQ(fills.size(), 7u);
  // The chip in the workloads table uses the same colour.
  EXPECT_NE(html.find("background:" + idle_fill + "\"></span>idle"), std::string::npos);
}

TEST(ReportHtmlTest, ThresholdLinesAndPointsSitWhereTheValuesSay) {
  for (const auto& [compute_high, fb_high] : {std::pair{0.40, 0.50}, std::pair{0.25, 0.80}}) {
    Report r = SmallReport();
    r.thresholds.compute_high = compute_high;
    r.thresholds.fb_high = fb_high;
    const std::string html = ReportHtml(r);
    std::string plot;
    for (const std::string& t : Tags(html, "rect")) {
      if (Attr(t, "class") == "plot") plot = t;
    }
    ASSERT_FALSE(plot.empty());
    const double x = NumAttr(plot, "x"), y = NumAttr(plot, "y"), w = NumAttr(plot, "width"),
                 h = NumAttr(plot, "height");
    std::map<std::string, std::string> lines;
    for (const std::string& t : Tags(html, "line")) {
      if (Attr(t, "class") == "thr") lines[Attr(t, "data-threshold")] = t;
    }
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NEAR(NumAttr(lines["compute_high"], "x1"), x + compute_high * w, 0.051);
    EXPECT_NEAR(NumAttr(lines["compute_high"], "x2"), x + compute_high * w, 0.051);
    EXPECT_NEAR(NumAttr(lines["fb_high"], "y1"), y + (1 - fb_high) * h, 0.051);
    EXPECT_NEAR(NumAttr(lines["fb_high"], "y2"), y + (1 - fb_high) * h, 0.051);
    // busy-server: p95 compute 0.8, p95 framebuffer 0.9; the biggest cost gets the biggest circle.
    const std::string busy = TagWithTitle(html, "circle", "ml/Deployment/busy-server");
    const std::string idle = TagWithTitle(html, "circle", "ml/Deployment/idle-notebook");
    EXPECT_NEAR(NumAttr(busy, "cx"), x + 0.8 * w, 0.051);
    EXPECT_NEAR(NumAttr(busy, "cy"), y + 0.1 * h, 0.051);
    EXPECT_NEAR(NumAttr(idle, "cx"), x + 0.01 * w, 0.051);
    EXPECT_GT(NumAttr(idle, "r"), NumAttr(busy, "r"));  // $41 vs $34
  }
}

TEST(ReportHtmlTest, WorkloadsWithUnknownValuesAreListedNotPlotted) {
  Report r = SmallReport();
  r.workloads.push_back(Workload("ml", "no-exporter", GpuState::kUnknown, 0, 5'000'000, NAN, NAN));
  r.workloads.push_back(Workload("ml", "no-fb", GpuState::kOverProvisioned, 0, 3'000'000, 0.2, NAN));
  const std::string html = ReportHtml(r);
  EXPECT_EQ(Occurrences(Points(html), "<circle "), 2u);
  EXPECT_EQ(TagWithTitle(html, "circle", "ml/Deployment/no-exporter"), "");
  const std::size_t note = html.find("Not plotted, no compute or framebuffer sample: 2 workloads ($8.00)");
  ASSERT_NE(note, std::string::npos);
  EXPECT_LT(note, html.find("ml/Deployment/no-exporter (unknown, $5.00)"));
  EXPECT_NE(html.find("ml/Deployment/no-fb (over-provisioned, $3.00)"), std::string::npos);
}

TEST(ReportHtmlTest, HeatmapHatchesCellsWithoutSamplesAndDotsUnheldOnes) {
  const std::string html = ReportHtml(SmallReport());
  const HeatCells row0 = Cells(html, 0);
  EXPECT_EQ(row0.cols, 3);
  EXPECT_EQ(row0.rows, 2);
  // Row 0: usage 0.15, NaN, 0.95.
  EXPECT_EQ(row0.by_stroke.at("url(#hm-nan)"), std::set<int>{1});
  EXPECT_EQ(row0.by_stroke.at("#482878"), std::set<int>{0});  // 10-20%
  EXPECT_EQ(row0.by_stroke.at("#FDE725"), std::set<int>{2});  // 90-100%
  EXPECT_EQ(row0.by_stroke.count("url(#hm-unheld)"), 0u);
  // Row 1: usage 0.5, 0.5 merged into one run, 0.02 with nothing held.
  const HeatCells row1 = Cells(html, 1);
  EXPECT_EQ(row1.by_stroke.at("#1F9E89"), (std::set<int>{0, 1}));
  EXPECT_EQ(row1.by_stroke.at("#440154"), std::set<int>{2});
  EXPECT_EQ(row1.by_stroke.at("url(#hm-unheld)"), std::set<int>{2});
  // The legend explains the hatch with the same pattern.
  const std::size_t key = html.find("fill=\"url(#hm-nan)\"/>");
  ASSERT_NE(key, std::string::npos);
  EXPECT_NE(html.find("no usage sample (usage unknown)", key), std::string::npos);
  EXPECT_NE(html.find("<pattern id=\"hm-nan\""), std::string::npos);
  // Row tooltip: node name with its means.
  EXPECT_NE(html.find("<title>gpu-node-2: mean usage 34.0% over 3 of 3 columns with samples; GPUs held 33.3% of the "
                      "time; cost $40.00</title>"),
            std::string::npos);
}

TEST(ReportHtmlTest, HeatmapMergesColumnsByTheirMeanAboveTheCap) {
  Report r = SmallReport();
  r.heatmap.rows = {"n1"};
  r.heatmap.column_starts.clear();
  r.heatmap.usage.clear();
  for (int i = 0; i < 450; ++i) {
    r.heatmap.column_starts.push_back(kStart + i * 3600);
    r.heatmap.usage.push_back(0.05);
  }
  r.end_unix_s = kStart + 450 * 3600;
  r.heatmap.held.assign(450, 1.0);
  // Groups of three: {0.1, 0.35, 0.6} -> 0.35; {NaN x3} -> no sample; {NaN, 0.95, 0.95} -> 0.95.
  const std::vector<double> head = {0.1, 0.35, 0.6, NAN, NAN, NAN, NAN, 0.95, 0.95};
  for (std::size_t i = 0; i < head.size(); ++i) r.heatmap.usage[i] = head[i];
  const std::string html = ReportHtml(r);
  const HeatCells c = Cells(html, 0);
  EXPECT_EQ(c.cols, 150);
  EXPECT_EQ(c.by_stroke.at("#31688E"), std::set<int>{0});  // 30-40%
  EXPECT_EQ(c.by_stroke.at("url(#hm-nan)"), std::set<int>{1});
  EXPECT_EQ(c.by_stroke.at("#FDE725"), std::set<int>{2});
  EXPECT_EQ(c.by_stroke.at("#440154").size(), 147u);
  EXPECT_NE(html.find("Each column is the mean of 3 adjacent intervals (450 in the window)."), std::string::npos);
  // Day ticks in UTC: 2024-05-02 00:00 is 24 of 450 hours in, inside merged column 8.
  const std::string tick = "text-anchor=\"middle\">05-02</text>";
  ASSERT_NE(html.find(tick), std::string::npos);
  const std::size_t t = html.rfind("<text ", html.find(tick));
  EXPECT_NEAR(NumAttr(html.substr(t, html.find('>', t) - t), "x"), c.x0 + 8 * c.cw, 0.051);

  // At the cap exactly, nothing is merged.
  r.heatmap.rows = {"n1"};
  r.heatmap.column_starts.resize(200);
  r.heatmap.usage.resize(200);
  r.heatmap.held.resize(200);
  const HeatCells same = Cells(ReportHtml(r), 0);
  EXPECT_EQ(same.cols, 200);
  EXPECT_EQ(same.by_stroke.at("url(#hm-nan)"), (std::set<int>{3, 4, 5, 6}));
}

TEST(ReportHtmlTest, HeatmapKeepsTheCostliestNodesAboveTheRowCap) {
  Report r = SmallReport();
  r.nodes.clear();
  r.heatmap = {};
  r.heatmap.column_starts = {kStart};
  for (int i = 0; i < 400; ++i) {
    analyze::NodeRow n;
    n.node = i;
    n.name = "node-" + std::to_string(i);
    n.compute_source = "sm_active";
    n.cost = (i % 2 == 0 ? 1'000'000 : 1'000) + i;  // even nodes cost more
    r.nodes.push_back(n);
    r.heatmap.rows.push_back(n.name);
    r.heatmap.usage.push_back(0.5);
    r.heatmap.held.push_back(1.0);
  }
  const std::string html = ReportHtml(r);
  EXPECT_EQ(Cells(html, 0).rows, 300);
  EXPECT_NE(html.find("Showing the 300 nodes with the highest GPU cost of 400."), std::string::npos);
  EXPECT_NE(html.find("<title>node-398: mean usage"), std::string::npos);  // every even node, the odd costliest
  EXPECT_NE(html.find("<title>node-399: mean usage"), std::string::npos);
  EXPECT_EQ(html.find("<title>node-1: mean usage"), std::string::npos);
  EXPECT_EQ(html.find("<title>node-197: mean usage"), std::string::npos);
  // Shown in the report's order.
  EXPECT_LT(html.find("<title>node-2: mean usage"), html.find("<title>node-398: mean usage"));
}

TEST(ReportHtmlTest, InconsistentHeatmapIsExplainedNotDrawn) {
  Report r = SmallReport();
  r.heatmap.usage.pop_back();
  const std::string html = ReportHtml(r);
  EXPECT_NE(html.find("Heatmap not drawn: its data has 5 usage and 6 held cells for 2 nodes x 3 intervals."),
            std::string::npos);
  EXPECT_EQ(WellFormed(html), "");
}

TEST(ReportHtmlTest, FleetBarSplitsSpendIntoTheThreeBuckets) {
  const std::string html = ReportHtml(SmallReport());
  const std::size_t svg = html.find("<svg class=\"fleet\"");
  ASSERT_NE(svg, std::string::npos);
  const std::string fleet = html.substr(svg, html.find("</svg>", svg) - svg);
  std::vector<double> widths;
  for (const std::string& t : Tags(fleet, "rect")) {
    if (Attr(t, "y") == "4") widths.push_back(NumAttr(t, "width"));
  }
  EXPECT_EQ(widths, (std::vector<double>{190, 380, 190}));  // $25 / $50 / $25 of 760 px
  EXPECT_NE(fleet.find(">$50.00 (50.0%)</text>"), std::string::npos);
  EXPECT_NE(html.find("$27,375.00 a year"), std::string::npos);
  EXPECT_NE(html.find("recoverable waste<b>not computed</b>"), std::string::npos);
  // With a plan: its savings, annualised, with what it frees.
  model::Plan plan;
  plan.savings.annualized = 17'520'000'000;
  plan.savings.gpus_freed = 3;
  plan.savings.nodes_released = 1;
  HtmlOptions with_plan;
  with_plan.plan = &plan;
  const std::string planned = ReportHtml(SmallReport(), with_plan);
  EXPECT_NE(planned.find("recoverable waste<b>$17,520.00 a year</b>3 GPUs, 1 whole node(s) freed by the plan"),
            std::string::npos);
  EXPECT_EQ(WellFormed(planned), "");
}

TEST(ReportHtmlTest, TeamChartFoldsTheTailAndShowsUnallocated) {
  Report r = SmallReport();
  r.teams.clear();
  for (int i = 0; i < 25; ++i) {
    r.teams.push_back({"team-" + std::to_string(i), (30 - i) * 1'000'000, 1'000'000, (29 - i) * 1'000'000, 1, 1});
  }
  const std::string html = ReportHtml(r);
  const std::size_t svg = html.find("<svg class=\"teams\"");
  ASSERT_NE(svg, std::string::npos);
  const std::string chart = html.substr(svg, html.find("</svg>", svg) - svg);
  EXPECT_NE(chart.find(">team-19</text>"), std::string::npos);
  EXPECT_EQ(chart.find(">team-20</text>"), std::string::npos);
  // Teams 20..24 cost 10+9+8+7+6 = $40.
  EXPECT_NE(chart.find("<title>other teams (5): $40.00 (used $5.00, idle $35.00)</title>"), std::string::npos);
  EXPECT_NE(chart.find("<title>unallocated: GPU spend no pod held: $25.00</title>"), std::string::npos);
}

TEST(ReportHtmlTest, SameReportSameBytes) {
  const Report r = SmallReport();
  const Report copy = r;
  const std::string a = ReportHtml(r);
  EXPECT_EQ(a, ReportHtml(r));
  EXPECT_EQ(a, ReportHtml(copy));
  // Nothing from the time of rendering leaks in; the window is what the header says.
  EXPECT_NE(a.find("2024-05-01 00:00 UTC to 2024-05-02 00:00 UTC (24.0 h)"), std::string::npos);
}

TEST(ReportHtmlTest, LiveViewSaysCostsArePerHour) {
  Report r = SmallReport();
  r.live = true;
  r.end_unix_s = r.start_unix_s;
  r.heatmap.column_starts = {kStart};
  r.heatmap.usage = {0.3, NAN};
  r.heatmap.held = {1.0, 0.0};
  const std::string html = ReportHtml(r);
  EXPECT_NE(html.find("live view at 2024-05-01 00:00 UTC (costs per hour at the current state)"), std::string::npos);
  EXPECT_NE(html.find("<div>spend per hour<b>$100.00</b>"), std::string::npos);
  EXPECT_NE(html.find(">$25.00 per hour (25.0%)</text>"), std::string::npos);
  EXPECT_NE(html.find("<th class=\"n\">cost/h</th>"), std::string::npos);
  EXPECT_EQ(Cells(html, 0).cols, 1);
  EXPECT_EQ(WellFormed(html), "");
}

TEST(ReportHtmlTest, TenThousandWorkloadsStayUnderTwoMegabytes) {
  Report r = SmallReport();
  r.workloads.clear();
  r.findings.clear();
  std::uint64_t seed = 42;
  auto next = [&seed]() {  // splitmix64: deterministic inputs
    seed += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  auto unit = [&]() { return static_cast<double>(next() >> 11) / 9007199254740992.0; };
  const GpuState states[] = {
      GpuState::kIdle,   GpuState::kBusy, GpuState::kComputeBound, GpuState::kMemoryHeld, GpuState::kOverProvisioned,
      GpuState::kUnknown};
  for (int i = 0; i < 10000; ++i) {
    const GpuState s = states[i % 6];
    WorkloadRow w = Workload("namespace-" + std::to_string(i % 300), "inference-server-" + std::to_string(i), s,
                             static_cast<std::int64_t>(unit() * 5e7), static_cast<std::int64_t>((10000 - i) * 1000),
                             s == GpuState::kUnknown ? NAN : unit(), unit());
    w.team = "team-" + std::to_string(i % 80);
    w.diagnosis.evidence = {"p95 SM activity 12.3% is below compute_high 40.0%",
                            "p95 framebuffer share 45.6% is below fb_high 50.0%",
                            "compute below 2% in 12% of 8,640 samples"};
    r.workloads.push_back(std::move(w));
    if (s == GpuState::kIdle) {
      r.findings.push_back({"idle-workload", "namespace/Deployment/inference-server-" + std::to_string(i),
                            "held 1.00 GPU-equivalents, compute below 2% in 95% of samples; $12.34 idle in the window",
                            "reclaim: scale to zero or delete", 1000});
    }
  }
  for (int t = 0; t < 80; ++t) r.teams.push_back({"team-" + std::to_string(t), 1'000'000, 500'000, 500'000, 10, 125});
  for (int n = 0; n < 300; ++n) r.namespaces.push_back({"namespace-" + std::to_string(n), 1'000, 500, 500, 1, 33});
  r.nodes.clear();
  r.heatmap = {};
  constexpr int kNodes = 1250, kIntervals = 720;  // 8 GPUs each, 30 days hourly
  for (int n = 0; n < kNodes; ++n) {
    analyze::NodeRow row;
    row.node = n;
    row.name = "ip-10-0-" + std::to_string(n / 250) + "-" + std::to_string(n % 250) + ".ec2.internal";
    row.instance_type = "p4d.24xlarge";
    row.gpus = 8;
    row.compute_source = n % 7 == 0 ? "gpu_util" : "sm_active";
    row.cost = static_cast<std::int64_t>(unit() * 1e9);
    r.nodes.push_back(row);
    r.heatmap.rows.push_back(row.name);
  }
  for (int i = 0; i < kIntervals; ++i) r.heatmap.column_starts.push_back(kStart + i * 3600);
  for (int k = 0; k < kNodes * kIntervals; ++k) {
    r.heatmap.usage.push_back(k % 97 == 0 ? NAN : unit());  // noise: the worst case for merging runs
    r.heatmap.held.push_back(unit() < 0.1 ? 0.0 : unit());
  }
  for (int i = 0; i < 2000; ++i) r.warnings.push_back("pod x/y-" + std::to_string(i) + ": invalid gpuwise.io/class");

  const std::string html = ReportHtml(r);
  EXPECT_LT(html.size(), 2'000'000u);
  EXPECT_GT(html.size(), 500'000u);  // the caps, not an empty page, keep it small
  EXPECT_EQ(Occurrences(Points(html), "<circle "), 2000u);
  EXPECT_NE(html.find("The 500 workloads with the most idle spend of 10,000; 9,500 not shown"), std::string::npos);
  EXPECT_NE(html.find("smaller ones"), std::string::npos);
  EXPECT_NE(html.find("Not plotted, no compute or framebuffer sample: 1,666 workloads"), std::string::npos);
  EXPECT_NE(html.find("1,567 more idle-workload findings not shown"), std::string::npos);
  EXPECT_NE(html.find("500 of 1,250 nodes shown"), std::string::npos);
  const HeatCells c = Cells(html, 0);
  EXPECT_EQ(c.rows, 300);
  EXPECT_EQ(c.cols, 180);
  EXPECT_EQ(WellFormed(html), "");
}

}  // namespace
}  // namespace gpuwise::cli
