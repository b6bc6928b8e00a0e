// The command table: every gpuwise command with its summary, example, flags and run function.
// main.cc walks this table; nothing else registers commands.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/output.h"

namespace CLI {  // NOLINT(readability-identifier-naming): CLI11's namespace
class App;
}

namespace gpuwise::cli {

// Exit codes (docs/cli.md): 0 success; 1 failure (a source unreachable, bad data, nothing to show);
// 2 usage error (bad flag or argument); 3 partial success (some endpoints failed, the rest is shown).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPartial = 3;

struct GlobalFlags {
  std::string output = "table";
  bool no_color = false;
  std::string log_level = "warning";
  // Resolved from the flags above before a command runs.
  OutputFormat format = OutputFormat::kTable;
  bool color = false;
};

struct Command {
  std::string name;
  std::string summary;  // one line, for `gpuwise --help`
  std::string help;     // paragraphs plus an example, for `gpuwise NAME --help`
  std::function<void(CLI::App*)> add_flags;
  std::function<int(const GlobalFlags&)> run;
};

const std::vector<Command>& Commands();

// Shared by commands: print a Status to stderr as "gpuwise: error: ..." and return the exit code.
int Fail(const base::Status& status, int code = kExitFailure);

}  // namespace gpuwise::cli
