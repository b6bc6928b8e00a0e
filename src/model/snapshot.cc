#include "model/snapshot.h"

#include <algorithm>

namespace gpuwise::model {

std::string_view NodeJoinName(NodeJoin j) {
  switch (j) {
    case NodeJoin::kHostname: return "hostname-label";
    case NodeJoin::kExporterPod: return "exporter-pod";
    case NodeJoin::kApiOnly: return "api-only";
    case NodeJoin::kUnknown: break;
  }
  return "unknown-node";
}

std::string_view HoldHowName(HoldHow h) {
  switch (h) {
    case HoldHow::kLabel: return "label";
    case HoldHow::kLabelShared: return "label-shared";
    case HoldHow::kAssumed: break;
  }
  return "assumed";
}

std::string_view UsageSignalName(UsageSignal s) {
  switch (s) {
    case UsageSignal::kCompute: return "compute";
    case UsageSignal::kFbShare: return "fb_share";
    case UsageSignal::kDram: return "dram";
    case UsageSignal::kTensor: return "tensor";
    case UsageSignal::kPower: return "power";
    case UsageSignal::kPcieTx: return "pcie_tx";
    case UsageSignal::kPcieRx: return "pcie_rx";
    case UsageSignal::kCount: break;
  }
  return "?";
}

std::int64_t SnapshotNode::PriceAt(std::int64_t t) const {
  std::int64_t price = price_micro_per_gpu_hour;
  for (const PriceFrom& p : price_from) {
    if (p.from_unix_s <= t) price = p.micro_per_gpu_hour;
  }
  return price;
}

std::int64_t Snapshot::IntervalSeconds(int i) const {
  const std::int64_t a = std::max(IntervalStart(i), start_unix_s);
  const std::int64_t b = std::min(IntervalStart(i) + interval_s, end_unix_s);
  return b > a ? b - a : 0;
}

}  // namespace gpuwise::model
