// Logging to stderr with levels. Data goes to stdout; diagnostics come here.
// Never log a token or password: callers pass redacted values (see RedactSecret).
// Thread-safety: each call writes one whole line under a mutex.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace gpuwise::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug|info|warning|error|off"; false when unknown.
bool ParseLogLevel(std::string_view text, LogLevel* out);
void LogLine(LogLevel level, std::string_view message);
// "abcdef...": "ab***" (length kept private too).
std::string RedactSecret(std::string_view secret);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  template <typename T>
  LogMessage& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace gpuwise::base

#define GPUWISE_LOG(level)                                                                        \
  if (::gpuwise::base::LogLevel::level < ::gpuwise::base::GetLogLevel()) {                        \
  } else                                                                                          \
    ::gpuwise::base::LogMessage(::gpuwise::base::LogLevel::level)
#define LOG_DEBUG GPUWISE_LOG(kDebug)
#define LOG_INFO GPUWISE_LOG(kInfo)
#define LOG_WARNING GPUWISE_LOG(kWarning)
#define LOG_ERROR GPUWISE_LOG(kError)
