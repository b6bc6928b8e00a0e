#include "prometheus_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

extern char** environ;

namespace gpuwise::testing {

std::string Which(const std::string& tool) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"}) {
    std::string p = std::string(dir) + tool;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

int RunCommand(const std::vector<std::string>& args, const std::filesystem::path& log) {
  std::string cmd;
  for (const auto& a : args) cmd += "'" + a + "' ";
  cmd += "> '" + log.string() + "' 2>&1";
  return std::system(cmd.c_str());
}

std::string PrometheusProcess::Start(const std::filesystem::path& dir, const std::string& config_yaml) {
  const std::string prometheus = Which("prometheus");
  if (prometheus.empty()) return "prometheus is not installed (scripts/install-deps test installs it)";
  dir_ = dir;
  std::filesystem::create_directories(dir_ / "tsdb");
  {
    std::ofstream cfg(dir_ / "prometheus.yml");
    cfg << config_yaml;
  }
  port_ = FreePort();
  std::vector<std::string> args = {prometheus, "--config.file=" + (dir_ / "prometheus.yml").string(),
                                   "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                                   "--storage.tsdb.retention.time=100y",
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const std::string log = (dir_ / "prometheus.log").string();
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  const int rc = posix_spawn(&pid_, prometheus.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return "cannot start prometheus";
  httplib::Client client("127.0.0.1", port_);
  for (int i = 0; i < 600; ++i) {
    auto res = client.Get("/-/ready");
    if (res && res->status == 200) return "";
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      break;  // exited: show its log
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return "prometheus did not become ready; log:\n" + text.substr(0, 4000);
}

void PrometheusProcess::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int st;
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }
}

nlohmann::json PrometheusProcess::Query(const std::string& promql, const std::string& time) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(60, 0);
  httplib::Params params = {{"query", promql}};
  if (!time.empty()) params.emplace("time", time);
  auto res = client.Post("/api/v1/query", params);
  if (!res) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(res->body, nullptr, false);
}

}  // namespace gpuwise::testing
