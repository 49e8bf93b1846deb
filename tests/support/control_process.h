// tests/support/control_process.h — start and stop a real sluice-control,
// and talk to its operator socket.
//
// A control process is started on a broker_process's config file (the same
// file the broker reads, as on a real node), so it finds the broker's
// channel and serves the operator socket in the test's directory. Stopped
// by PID; the destructor kills what is left.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::testing {

class control_process {
 public:
  explicit control_process(std::string config_path);
  ~control_process();
  control_process(const control_process&) = delete;
  control_process& operator=(const control_process&) = delete;

  // Starts sluice-control; false (with the reason in error()) if it did not
  // print "ready" within 10 s.
  bool start();
  // SIGTERM and wait; returns the exit status (-1 if it had to be killed).
  int stop();
  void kill9();
  pid_t pid() const noexcept { return _pid; }
  const std::string& error() const noexcept { return _error; }
  std::string output() const;

 private:
  std::string _config;
  std::string _log;
  pid_t _pid = -1;
  std::size_t _starts = 0;  // "ready" lines seen in the (appended) log
  std::string _error;
};

// One request line to an operator socket; the reply line, or "" when the
// socket could not be reached or did not answer within the timeout (the
// reason in `err`).
std::string operator_call_raw(const std::string& socket, const std::string& line, std::string& err,
                              int timeout_ms = 5000);
// The same for a JSON request; a reply of {"ok": false, "error": ...} when
// the call itself failed.
nlohmann::json operator_call(const std::string& socket, const nlohmann::json& req, int timeout_ms = 5000);

// Runs `bin args...` and returns its exit status with stdout+stderr in `out`.
int run_command(const std::string& bin, const std::vector<std::string>& args, std::string& out);

}  // namespace sluice::testing
