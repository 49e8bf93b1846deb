// tests/support/thread_stall.h — stop one thread of a running process, and
// let it go again.
//
// A fault tests use to stand for a shard that the scheduler, a debugger or a
// page-fault storm holds off its core: the thread named `name` (a shard
// names itself "sluice-shard-N") is seized with ptrace and interrupted;
// every other thread of the process runs on. resume() (or the destructor)
// detaches it and it carries on where it stopped. ptrace ties the stall to
// the thread that made it: construct, resume and destroy on one thread. If
// the test process dies, the kernel detaches the thread by itself.
#pragma once

#include <dirent.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

namespace sluice::testing {

class thread_stall {
 public:
  thread_stall(pid_t pid, const std::string& name) {
    _tid = find_thread(pid, name);
    if (_tid < 0) {
      _why = "no thread named " + name + " in process " + std::to_string(pid);
      return;
    }
    if (::ptrace(PTRACE_SEIZE, _tid, nullptr, nullptr) != 0) {
      _why = std::string("ptrace(PTRACE_SEIZE): ") + std::strerror(errno);
      _tid = -1;
      return;
    }
    int st = 0;
    if (::ptrace(PTRACE_INTERRUPT, _tid, nullptr, nullptr) != 0 || ::waitpid(_tid, &st, __WALL) != _tid ||
        !WIFSTOPPED(st)) {
      _why = std::string("ptrace(PTRACE_INTERRUPT): ") + std::strerror(errno);
      ::ptrace(PTRACE_DETACH, _tid, nullptr, nullptr);
      _tid = -1;
    }
  }
  ~thread_stall() { resume(); }
  thread_stall(const thread_stall&) = delete;
  thread_stall& operator=(const thread_stall&) = delete;

  bool stalled() const noexcept { return _tid >= 0; }
  const std::string& why() const noexcept { return _why; }

  void resume() {
    if (_tid < 0) return;
    ::ptrace(PTRACE_DETACH, _tid, nullptr, nullptr);
    _tid = -1;
  }

  // The id of `pid`'s thread called `name`, or -1.
  static pid_t find_thread(pid_t pid, const std::string& name) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return -1;
    pid_t found = -1;
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(dir + "/" + e->d_name + "/comm");
      std::string comm;
      if (std::getline(in, comm) && comm == name) {
        found = static_cast<pid_t>(std::stol(e->d_name));
        break;
      }
    }
    ::closedir(d);
    return found;
  }

 private:
  pid_t _tid = -1;
  std::string _why;
};

}  // namespace sluice::testing
