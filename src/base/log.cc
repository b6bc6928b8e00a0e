#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace gpuwise::base {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kWarning};
std::mutex g_mu;
}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }

bool ParseLogLevel(std::string_view text, LogLevel* out) {
  if (text == "debug") *out = LogLevel::kDebug;
  else if (text == "info") *out = LogLevel::kInfo;
  else if (text == "warning" || text == "warn") *out = LogLevel::kWarning;
  else if (text == "error") *out = LogLevel::kError;
  else if (text == "off") *out = LogLevel::kOff;
  else return false;
  return true;
}

void LogLine(LogLevel level, std::string_view message) {
  static const char* kNames[] = {"debug", "info", "warning", "error", "off"};
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(stderr, "gpuwise %s: %.*s\n", kNames[static_cast<int>(level)], static_cast<int>(message.size()),
               message.data());
}

std::string RedactSecret(std::string_view secret) {
  if (secret.empty()) return "";
  return std::string(secret.substr(0, secret.size() > 8 ? 2 : 0)) + "***";
}

}  // namespace gpuwise::base
