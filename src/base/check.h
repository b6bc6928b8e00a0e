// CHECK: aborts on a bug in gpuwise itself. Never used for outside data (that is a Status).
#pragma once

#include <sstream>

namespace gpuwise::base {

// Collects the streamed message and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  template <typename T>
  CheckFailure& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Lets `CHECK(x) << "msg"` compile as a statement whose stream part is skipped when x holds.
struct CheckVoidify {
  void operator&(CheckFailure&) {}
};

}  // namespace gpuwise::base

#define CHECK(condition)                    \
  (condition) ? (void)0                     \
              : ::gpuwise::base::CheckVoidify() & \
                    ::gpuwise::base::CheckFailure(__FILE__, __LINE__, #condition)
