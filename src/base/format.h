// printf-style formatting into a std::string, for messages and reasons ("memory need %.1f GiB"), and the string
// comparisons names from users need. Thread-safety: pure.
#pragma once

#include <string>
#include <string_view>

namespace gpuwise::base {

// The formatted text, cut at 4 KiB.
std::string StrPrintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Whether two ASCII names are equal ignoring case ("bestfit" and "BestFit").
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace gpuwise::base
