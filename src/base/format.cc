#include "base/format.h"

#include <cstdarg>
#include <cstdio>

namespace gpuwise::base {

std::string StrPrintf(const char* format, ...) {
  char buf[4096];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  return buf;
}

}  // namespace gpuwise::base
