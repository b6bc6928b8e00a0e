// printf-style formatting into a std::string, for messages and reasons ("memory need %.1f GiB").
// Thread-safety: pure.
#pragma once

#include <string>

namespace gpuwise::base {

// The formatted text, cut at 4 KiB.
std::string StrPrintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace gpuwise::base
