// tools/sluicectl_journal.cc — `sluicectl journal verify|dump PATH [--json]`:
// offline inspection of a stopped broker's journal directory (or a copy).
// Exit status: 0 clean, 1 faults found, 2 unreadable.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "storage/journal_tool.h"
#include "storage/segment.h"
#include "tools/sluicectl.h"

namespace {

using namespace sluice::storage;
using json = nlohmann::ordered_json;

std::string hex(const message_id& id) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto b : id.bytes) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

std::string file_of(segment_id s) {
  char name[24];
  segment_file_name(s, name);
  return name;
}

json fault_json(const recovery_fault& f) {
  return {{"file", file_of(f.segment)}, {"offset", f.offset}, {"error", to_string(f.code)}};
}

json to_json(const journal_summary& s) {
  json j;
  j["ok"] = s.ok;
  if (!s.error.empty()) j["error"] = s.error;
  j["segments"] = s.segment_cnt;
  j["records"] = s.record_cnt;
  json kinds = json::object();
  for (std::size_t k = 1; k < k_record_kind_cnt; ++k)
    kinds[to_string(static_cast<record_kind>(k))] = s.records_by_kind[k];
  j["records_by_kind"] = kinds;
  j["stale_records"] = s.stale_cnt;
  j["last_seq"] = s.last_seq.value();
  j["epoch"] = s.epoch.value();
  j["first_bad"] = s.first_bad ? fault_json(*s.first_bad) : json(nullptr);
  j["torn_tail"] = s.torn_tail;
  j["corrupt"] = json::array();
  for (const auto& f : s.corrupt) j["corrupt"].push_back(fault_json(f));
  j["queues"] = json::array();
  for (const auto& q : s.queues)
    j["queues"].push_back({{"id", q.queue.value()}, {"name", q.name}, {"apps", q.app_cnt},
                           {"live_messages", q.live_cnt}, {"live_bytes", q.live_bytes}});
  if (!s.segments.empty()) {
    j["segment_detail"] = json::array();
    for (const auto& g : s.segments)
      j["segment_detail"].push_back({{"file", file_of(g.segment)}, {"live", g.live_cnt}, {"live_bytes", g.live_bytes}});
    j["live"] = json::array();
    for (const auto& m : s.live)
      j["live"].push_back({{"queue", m.queue.value()}, {"id", hex(m.id)}, {"origin_seq", m.origin_seq.value()},
                           {"confirmed_mask", m.confirmed_mask}, {"delivery_cnt", m.delivery_cnt},
                           {"file", file_of(m.segment)}, {"offset", m.offset},
                           {"bytes", m.length}});
  }
  return j;
}

void print_text(const journal_summary& s) {
  if (!s.error.empty()) std::printf("error: %s\n", s.error.c_str());
  std::printf("%s: %u segments, %llu records, last seq %llu, epoch %llu\n", s.ok ? "ok" : "FAULTS", s.segment_cnt,
              static_cast<unsigned long long>(s.record_cnt), static_cast<unsigned long long>(s.last_seq.value()),
              static_cast<unsigned long long>(s.epoch.value()));
  for (std::size_t k = 1; k < k_record_kind_cnt; ++k)
    std::printf("  %-14s %llu\n", to_string(static_cast<record_kind>(k)),
                static_cast<unsigned long long>(s.records_by_kind[k]));
  if (s.first_bad)
    std::printf("first bad record: %s offset %llu (%s)\n", file_of(s.first_bad->segment).c_str(),
                static_cast<unsigned long long>(s.first_bad->offset), to_string(s.first_bad->code));
  std::fputs(s.log.c_str(), stdout);
  for (const auto& q : s.queues)
    std::printf("queue %u %s: %llu live messages, %llu bytes\n", q.queue.value(), q.name.c_str(),
                static_cast<unsigned long long>(q.live_cnt), static_cast<unsigned long long>(q.live_bytes));
  for (const auto& g : s.segments)
    std::printf("segment %s: %llu live, %llu bytes\n", file_of(g.segment).c_str(),
                static_cast<unsigned long long>(g.live_cnt), static_cast<unsigned long long>(g.live_bytes));
  for (const auto& m : s.live)
    std::printf("live queue %u id %s origin_seq %llu mask %llx deliveries %u at %s+%llu\n", m.queue.value(),
                hex(m.id).c_str(), static_cast<unsigned long long>(m.origin_seq.value()),
                static_cast<unsigned long long>(m.confirmed_mask), static_cast<unsigned>(m.delivery_cnt),
                file_of(m.segment).c_str(),
                static_cast<unsigned long long>(m.offset));
}

}  // namespace

namespace sluicectl {
int run_journal_command(const std::string& path, bool details, bool as_json) {
  const journal_summary s = details ? dump(path) : verify(path);
  if (as_json) {
    std::cout << to_json(s).dump(2) << "\n";
  } else {
    print_text(s);
  }
  return !s.error.empty() ? 2 : s.ok ? 0 : 1;
}

}  // namespace sluicectl
