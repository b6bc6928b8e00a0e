// gpuwise: the command-line entry point. Parses global flags, then runs one command from the table.
#include <CLI/CLI.hpp>

#include <iostream>

#include "base/log.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  using gpuwise::cli::GlobalFlags;
  CLI::App app{
      "gpuwise finds and removes paid-but-idle GPU capacity in Kubernetes.\n"
      "It reads dcgm-exporter telemetry (directly or through Prometheus) and reports per-GPU and per-MIG-instance\n"
      "use. Data goes to stdout, diagnostics to stderr. Docs: docs/cli.md.",
      "gpuwise"};
  app.set_version_flag("--version", "gpuwise 0.1.0");
  GlobalFlags flags;
  app.add_option("-o,--output", flags.output, "Output format: table, json, yaml or csv (csv where the data is a table)")
      ->capture_default_str();
  app.add_flag("--no-color", flags.no_color, "Never colour the output (colour is also off when NO_COLOR is set or stdout is not a tty)");
  app.add_option("--log-level", flags.log_level, "Diagnostics on stderr: debug, info, warning, error or off")
      ->capture_default_str();
  app.require_subcommand(1, 1);
  // Global flags may also follow the command ("gpuwise demo -o json"): subcommands inherit this.
  app.fallthrough();
  app.footer("Exit codes: 0 ok, 1 failure, 2 usage error, 3 partial (some sources failed).\n"
             "Run 'gpuwise COMMAND --help' for a command's flags and an example.");
  std::vector<std::pair<CLI::App*, const gpuwise::cli::Command*>> subs;
  for (const auto& command : gpuwise::cli::Commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.summary);
    sub->footer(command.help);
    command.add_flags(sub);
    subs.emplace_back(sub, &command);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : gpuwise::cli::kExitUsage;
  }
  auto format = gpuwise::cli::ParseOutputFormat(flags.output);
  if (!format.ok()) return gpuwise::cli::Fail(format.status(), gpuwise::cli::kExitUsage);
  flags.format = *format;
  flags.color = gpuwise::cli::UseColor(flags.no_color);
  gpuwise::base::LogLevel level;
  if (!gpuwise::base::ParseLogLevel(flags.log_level, &level)) {
    return gpuwise::cli::Fail(gpuwise::base::InvalidArgument("unknown --log-level '" + flags.log_level +
                                                             "' (debug, info, warning, error, off)"),
                              gpuwise::cli::kExitUsage);
  }
  gpuwise::base::SetLogLevel(level);
  for (const auto& [sub, command] : subs) {
    if (sub->parsed()) return command->run(flags);
  }
  return gpuwise::cli::kExitUsage;
}
