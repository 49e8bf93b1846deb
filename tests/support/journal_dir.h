// tests/support/journal_dir.h — a temporary journal directory for tests of
// `disk` domains, and the broker options that use it.
//
// The directory is made under /tmp (ext4 on the CI hosts: the journal needs
// O_DIRECT, which tmpfs refuses) and removed with everything in it.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/broker_process.h"

namespace sluice::testing {

class journal_dir {
 public:
  journal_dir() {
    char tmpl[] = "/tmp/sluice-journal-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    _path = d ? d : "";
  }
  // SLUICE_KEEP_JOURNAL=1 keeps the directory (printed) for a post-mortem.
  ~journal_dir() {
    if (std::getenv("SLUICE_KEEP_JOURNAL") != nullptr) {
      std::fprintf(stderr, "journal kept in %s\n", _path.c_str());
      return;
    }
    std::error_code ec;
    if (!_path.empty()) std::filesystem::remove_all(_path, ec);
  }
  journal_dir(const journal_dir&) = delete;
  journal_dir& operator=(const journal_dir&) = delete;

  const std::string& path() const noexcept { return _path; }
  std::string shard(std::uint32_t i) const { return _path + "/shard-" + std::to_string(i); }
  // Segment files of one shard that hold data, in order.
  std::vector<std::string> segments(std::uint32_t i) const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(shard(i))) {
      if (e.path().extension() == ".sjl") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string _path;
};

// Domains of the disk tests: a priority and a fanout disk domain, and a
// memory domain beside them.
inline constexpr const char* k_disk_domains = R"([[domain]]
name = "dq"
storage = "disk"

[[domain]]
name = "df"
mode = "fanout"
storage = "disk"
app_ids = ["audit", "billing"]

[[domain]]
name = "mem"
)";

// Broker options for a disk domain journaling in `dir`; `more` adds [storage] keys.
inline broker_options disk_broker(const std::string& dir, const std::string& more = {}, std::uint32_t shards = 2) {
  broker_options o;
  o.shards = shards;
  o.extra = "[session]\nidle_timeout_ms = 1000\nkeepalive_ms = 200\n\n[storage]\ndir = \"" + dir +
            "\"\nsegment_mb = 8\n" + more + "\n";
  o.domains = k_disk_domains;
  return o;
}

}  // namespace sluice::testing
