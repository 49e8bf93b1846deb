#include "storage/journal_tool.h"

#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>

#include "storage/uring_persistence.h"

namespace sluice::storage {

journal_summary inspect(persistence& p, bool details) {
  journal_summary s;
  journal_state st(1u << 22);
  recovery_report rep;
  const auto rc = recover(p, recovery_options{.salvage = true, .read_only = true}, st, rep);
  s.segment_cnt = rep.segment_cnt;
  s.record_cnt = rep.record_cnt;
  s.records_by_kind = rep.records_by_kind;
  s.torn_tail = rep.torn_tail;
  s.corrupt = rep.corrupt;
  s.log = rep.log;
  s.stale_cnt = st.stale_cnt();
  s.last_seq = st.last_seq();
  s.epoch = st.epoch();
  for (const recovery_fault& f : rep.corrupt)
    if (!s.first_bad || std::pair(f.segment, f.offset) < std::pair(s.first_bad->segment, s.first_bad->offset))
      s.first_bad = f;
  if (rep.torn_tail && !s.first_bad) s.first_bad = rep.tail;
  if (!rc) s.error = std::string("recovery failed: ") + to_string(rc.error());
  s.ok = rc.ok() && !rep.torn_tail && rep.corrupt.empty();
  for (const auto& [id, q] : st.queues()) s.queues.push_back({q.id, q.name, q.app_cnt, q.live_cnt, q.live_bytes});
  if (details) {
    for (const segment_live& sl : st.segments()) s.segments.push_back({sl.segment, sl.live_cnt, sl.live_bytes});
    st.messages().for_each([&](const live_message& m) { s.live.push_back(m); });
    std::sort(s.live.begin(), s.live.end(),
              [](const live_message& a, const live_message& b) { return a.origin_seq < b.origin_seq; });
  }
  return s;
}

namespace {
journal_summary run(const std::string& dir, bool details) {
  struct stat sb{};
  if (::stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    journal_summary s;
    s.error = "not a directory: " + dir;
    return s;
  }
  try {
    uring_persistence p(uring_settings{dir, 8});
    return inspect(p, details);
  } catch (const std::runtime_error& e) {
    journal_summary s;
    s.error = e.what();
    return s;
  }
}
}  // namespace

journal_summary verify(const std::string& dir) { return run(dir, false); }
journal_summary dump(const std::string& dir) { return run(dir, true); }

}  // namespace sluice::storage
