// The HTML form of `gpuwise report` (--output html): one self-contained document, readable offline and printable,
// with its charts drawn here as inline SVG: the fleet's three cost buckets, a scatter of workloads by p95 compute
// activity and p95 framebuffer share coloured by diagnosed state, cost by team, and a node x interval usage heatmap.
// No scripts, no external references (no URLs, fonts or style sheets fetched): inline <style> only. Every string from
// the cluster is escaped. Numbers are formatted without the C locale's help (std::to_chars), so the same report gives
// the same bytes. Pure; thread-compatible.
#pragma once

#include <cstddef>
#include <string>

#include "analyze/report.h"
#include "model/plan.h"

namespace gpuwise::cli {

// Caps that keep the document small (about 1.5 MB at most with the defaults, whatever the fleet size); whatever a cap
// leaves out is counted, with its cost, where it would have been.
struct HtmlOptions {
  std::size_t max_table_rows = 500;       // workload, team, namespace and node tables (workloads: top by idle $)
  std::size_t max_scatter_points = 2000;  // the largest workloads by cost; the rest are counted under the chart
  std::size_t max_chart_teams = 20;       // bars in the cost-by-team chart; the rest are one "other teams" bar
  std::size_t max_findings_per_kind = 100;
  std::size_t max_heatmap_columns = 200;  // above this, adjacent intervals are merged by their mean
  std::size_t max_heatmap_rows = 300;     // above this, the nodes with the highest cost are shown
  // The plan computed with the report (app::ReportRun::plan): its savings are the recoverable waste. Null: not shown.
  const model::Plan* plan = nullptr;
};

std::string ReportHtml(const analyze::Report& report, const HtmlOptions& options = {});

// Text for HTML element content and quoted attribute values: & < > " ' escaped, C0 controls other than tab and
// newline replaced by U+FFFD (they are not allowed in XML, and inline SVG should stay well-formed).
std::string HtmlEscape(std::string_view text);

}  // namespace gpuwise::cli
