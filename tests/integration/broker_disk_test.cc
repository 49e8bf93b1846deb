// Disk domains through the real broker: ACKed messages survive SIGTERM and
// SIGKILL, confirmed ones are not redelivered, fan-out app state and
// delivery counts survive a restart, a torn final record is truncated and
// logged, a corrupt middle record stops the broker (unless salvaging), disk
// use stays bounded by the live data under a steady load (retention and
// compaction), a journal that runs out of space NACKs and refuses disk PUTs,
// and a journal directory that cannot be created is a clear config error.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/journal_dir.h"

namespace sluice::testing {
namespace {

struct received {
  std::string payload;
  wire::guid guid;
  std::uint16_t delivery_cnt;
};

// Posts `n` messages "PREFIXi" (i = first..first+n-1); returns the payloads
// ACKed ok. With `one_by_one` each waits for its ACK (one commit each).
std::set<std::string> produce(client::client& p, client::queue_handle w, const std::string& prefix, int first, int n,
                              bool one_by_one) {
  std::set<std::string> acked;
  int answered = 0;
  for (int i = first; i < first + n; ++i) {
    const std::string body = prefix + std::to_string(i);
    for (;;) {
      const auto r = p.post(w, wire::as_bytes(body), {}, [&acked, &answered, body](const client::ack& a) {
        ++answered;
        if (a.status == wire::status::ok) acked.insert(body);
      });
      if (r.ok()) break;
      EXPECT_EQ(r.error().code, client::errc::would_block) << client::describe(r.error());
      if (r.error().code != client::errc::would_block) return acked;
      p.poll(1 * k_ns_per_ms);
    }
    if (one_by_one) {
      EXPECT_TRUE(poll_until({&p}, [&] { return answered == i - first + 1; }));
    }
  }
  EXPECT_TRUE(poll_until({&p}, [&] { return answered == n; }));
  return acked;
}

// Reads from `uri` until nothing new arrives for `quiet_s`; confirms all.
std::vector<received> consume_all(const std::string& addr, const std::string& uri, const std::string& app = {},
                                  double quiet_s = 0.7) {
  auto c = connect_client(addr);
  std::vector<received> got;
  if (!c) return got;
  // The handler first: PUSHes may arrive while open_queue() polls.
  c->on_message([&](const client::message& m) {
    got.push_back({text(m.payload), m.guid, m.delivery_cnt});
    EXPECT_TRUE(c->confirm(m.queue, m.guid).ok());
  });
  auto r = c->open_queue(uri, reader(4096, app));
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return got;
  std::size_t seen = SIZE_MAX;
  while (seen != got.size()) {
    seen = got.size();
    poll_for({c.get()}, quiet_s);
  }
  return got;
}

std::set<std::string> payloads(const std::vector<received>& v) {
  std::set<std::string> s;
  for (const auto& r : v) s.insert(r.payload);
  return s;
}

class broker_disk_restart : public ::testing::TestWithParam<int> {};

TEST_P(broker_disk_restart, acked_messages_survive_and_confirmed_ones_stay_confirmed) {
  const int sig = GetParam();
  journal_dir dir;
  broker_process broker(disk_broker(dir.path()));
  ASSERT_TRUE(broker.start()) << broker.error();
  std::set<std::string> acked;
  std::set<std::string> confirmed;
  {
    auto p = connect_client(broker.address());
    ASSERT_TRUE(p);
    auto w = *p->open_queue("dq/orders", writer());
    acked = produce(*p, w, "order-", 0, 3000, false);
    EXPECT_EQ(acked.size(), 3000u) << "a healthy journal ACKs every PUT";
    // Confirm the first 1000, then give the confirms time to be durable.
    auto c = connect_client(broker.address());
    c->on_message([&](const client::message& m) {
      if (confirmed.size() == 1000) return;  // held unconfirmed: redelivered after the restart
      confirmed.insert(text(m.payload));
      EXPECT_TRUE(c->confirm(m.queue, m.guid).ok());
    });
    auto r = *c->open_queue("dq/orders", reader(1000));
    ASSERT_TRUE(poll_until({c.get()}, [&] { return confirmed.size() == 1000; }));
    ASSERT_TRUE(c->configure_queue(r, 0, 0, 1 << 20).ok());  // pause: nothing more in flight
    poll_for({c.get()}, 0.5);
  }
  if (sig == SIGKILL) {
    broker.kill9();
  } else {
    EXPECT_EQ(broker.stop(), 0);
  }
  ASSERT_TRUE(broker.start()) << broker.error();
  EXPECT_NE(broker.output().find("shard"), std::string::npos);
  EXPECT_NE(broker.output().find("live message(s)"), std::string::npos) << broker.output();
  const auto got = consume_all(broker.address(), "dq/orders");
  const auto after = payloads(got);
  EXPECT_EQ(after.size(), acked.size() - confirmed.size()) << broker.output();
  for (const auto& a : acked) {
    if (confirmed.count(a) == 0) {
      EXPECT_EQ(after.count(a), 1u) << "ACKed message lost: " << a;
    }
  }
  for (const auto& g : after) {
    EXPECT_EQ(acked.count(g), 1u) << "message invented by recovery: " << g;
    EXPECT_EQ(confirmed.count(g), 0u) << "durably confirmed message redelivered: " << g;
  }
  EXPECT_EQ(got.size(), after.size()) << "each recovered message is delivered once";
  for (const auto& r : got) EXPECT_GE(r.delivery_cnt, 2u) << "a recovered message may have been seen before";
  // Order per producer survives the restart.
  for (std::size_t i = 1; i < got.size(); ++i) {
    EXPECT_LT(std::stoi(got[i - 1].payload.substr(6)), std::stoi(got[i].payload.substr(6)));
  }
  // New messages after recovery get fresh GUIDs and are ACKed again.
  auto p = connect_client(broker.address());
  auto w = *p->open_queue("dq/orders", writer());
  EXPECT_EQ(produce(*p, w, "late-", 0, 10, false).size(), 10u);
  const auto late = consume_all(broker.address(), "dq/orders");
  EXPECT_EQ(late.size(), 10u);
  for (const auto& l : late) {
    for (const auto& g : got) EXPECT_FALSE(l.guid == g.guid) << "GUID reused after recovery";
  }
  EXPECT_EQ(broker.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(signals, broker_disk_restart, ::testing::Values(SIGTERM, SIGKILL),
                         [](const ::testing::TestParamInfo<int>& p) { return p.param == SIGKILL ? "sigkill" : "sigterm"; });

TEST(broker_disk, fanout_disk_domain_keeps_per_app_state_across_restart) {
  journal_dir dir;
  broker_process broker(disk_broker(dir.path()));
  ASSERT_TRUE(broker.start()) << broker.error();
  {
    auto p = connect_client(broker.address());
    auto w = *p->open_queue("df/events", writer());
    ASSERT_EQ(produce(*p, w, "ev-", 0, 100, false).size(), 100u);
    // audit confirms everything, billing the first 30.
    EXPECT_EQ(consume_all(broker.address(), "df/events", "audit", 0.3).size(), 100u);
    auto c = connect_client(broker.address());
    std::size_t n = 0;
    c->on_message([&](const client::message& m) {
      if (n == 30) return;  // held unconfirmed
      ++n;
      EXPECT_TRUE(c->confirm(m.queue, m.guid).ok());
    });
    auto r = *c->open_queue("df/events", reader(30, "billing"));
    ASSERT_TRUE(poll_until({c.get()}, [&] { return n == 30; }));
    ASSERT_TRUE(c->configure_queue(r, 0, 0, 1 << 20).ok());
    poll_for({c.get()}, 0.5);
    EXPECT_EQ(n, 30u);
  }
  broker.kill9();
  ASSERT_TRUE(broker.start()) << broker.error();
  EXPECT_EQ(consume_all(broker.address(), "df/events", "audit", 0.5).size(), 0u) << "audit confirmed everything";
  const auto billing = consume_all(broker.address(), "df/events", "billing");
  ASSERT_EQ(billing.size(), 70u);
  for (std::size_t i = 0; i < billing.size(); ++i) EXPECT_EQ(billing[i].payload, "ev-" + std::to_string(30 + i));
  EXPECT_EQ(broker.stop(), 0);
}

// Redeliveries are journaled, so a message's delivery count keeps rising
// across a crash instead of starting over at "maybe seen" (2).
TEST(broker_disk, delivery_count_survives_a_crash) {
  journal_dir dir;
  broker_process broker(disk_broker(dir.path()));
  ASSERT_TRUE(broker.start()) << broker.error();
  const auto take_without_confirming = [&] {
    auto c = connect_client(broker.address());
    std::uint16_t cnt = 0;
    if (!c) return cnt;
    c->on_message([&](const client::message& m) { cnt = m.delivery_cnt; });
    EXPECT_TRUE(c->open_queue("dq/poison", reader(1)).ok());
    EXPECT_TRUE(poll_until({c.get()}, [&] { return cnt != 0; }));
    return cnt;  // the client goes away: the message goes back, unconfirmed
  };
  {
    auto p = connect_client(broker.address());
    auto w = *p->open_queue("dq/poison", writer());
    ASSERT_EQ(produce(*p, w, "poison-", 0, 1, false).size(), 1u);
  }
  EXPECT_EQ(take_without_confirming(), 1u);
  EXPECT_EQ(take_without_confirming(), 2u);
  EXPECT_EQ(take_without_confirming(), 3u);
  {  // give the delivered records a commit, then crash
    auto idle = connect_client(broker.address());
    poll_for({idle.get()}, 0.3);
  }
  broker.kill9();
  ASSERT_TRUE(broker.start()) << broker.error();
  const auto got = consume_all(broker.address(), "dq/poison", {}, 0.3);
  ASSERT_EQ(got.size(), 1u) << broker.output();
  EXPECT_EQ(got[0].payload, "poison-0");
  EXPECT_EQ(got[0].delivery_cnt, 4u) << "three journaled pushes, and the count goes on";
  EXPECT_EQ(broker.stop(), 0);
}

TEST(broker_disk, memory_domain_beside_disk_domains_is_not_journaled) {
  journal_dir dir;
  broker_process broker(disk_broker(dir.path()));
  ASSERT_TRUE(broker.start()) << broker.error();
  {
    auto p = connect_client(broker.address());
    auto w = *p->open_queue("mem/q", writer());
    ASSERT_EQ(produce(*p, w, "m-", 0, 50, false).size(), 50u);
  }
  broker.kill9();
  ASSERT_TRUE(broker.start()) << broker.error();
  EXPECT_EQ(consume_all(broker.address(), "mem/q", {}, 0.3).size(), 0u) << "memory domains keep nothing";
  EXPECT_NE(broker.output().find("recovered 0 records"), std::string::npos) << broker.output();
  EXPECT_EQ(broker.stop(), 0);
}

// Retention through the broker: a steady produce/confirm flow writes ten
// times the segment size while ten never-consumed messages pin the first
// segment. Confirmed segments are deleted, the pinned one is compacted away
// (its messages copied forward), and the segment files stay few throughout.
TEST(broker_disk, disk_use_stays_bounded_under_steady_produce_confirm_load) {
  journal_dir dir;
  broker_options o = disk_broker(dir.path(), "compact_after_segments = 3\ncompact_live_pct = 50\n", 1);
  o.extra.replace(o.extra.find("segment_mb = 8"), 14, "segment_mb = 4");
  o.stats_interval_s = 1;
  broker_process broker(o);
  ASSERT_TRUE(broker.start()) << broker.error();
  constexpr int k_total = 80'000;  // x ~1.1 KiB of records: about 22 segments of 4 MiB
  std::size_t max_segments = 0;
  int acked = 0;
  int failed = 0;       // any other status: must stay 0
  int retry = 0;        // queue_full (journal backpressure on a slow disk): posted again
  std::map<wire::status, int> refusals;
  std::size_t confirmed = 0;
  {
    auto p = connect_client(broker.address());
    ASSERT_TRUE(p);
    auto pin = *p->open_queue("dq/pinned", writer());
    ASSERT_EQ(produce(*p, pin, "pin-", 0, 10, false).size(), 10u);
    auto c = connect_client(broker.address());
    ASSERT_TRUE(c);
    c->on_message([&](const client::message& m) {
      ++confirmed;
      EXPECT_TRUE(c->confirm(m.queue, m.guid).ok());
    });
    ASSERT_TRUE(c->open_queue("dq/flow", reader(1024)).ok());
    auto w = *p->open_queue("dq/flow", writer());
    const std::string body(1000, 'x');
    int sent = 0;
    time_ns next_look = 0;
    int last_progress = 0;
    time_ns last_progress_ns = monotonic_now_ns();
    const time_ns deadline = monotonic_now_ns() + 90 * k_ns_per_s;
    while ((acked + failed < k_total || confirmed < static_cast<std::size_t>(acked)) && monotonic_now_ns() < deadline) {
      // The producer stays at most 2,048 messages (2 MiB, half a segment)
      // ahead of the consumer: live data stays small, so what the segment
      // count shows is history kept or not, not a consumer falling behind.
      // Refused PUTs waiting to be posted again are not ahead.
      while ((sent < k_total || retry > 0) && static_cast<std::size_t>(sent - retry) < confirmed + 2048) {
        const auto r = p->post(w, wire::as_bytes(body), {}, [&](const client::ack& a) {
          if (a.status == wire::status::ok) {
            ++acked;
          } else {
            ++refusals[a.status];
            ++(a.status == wire::status::queue_full ? retry : failed);
          }
        });
        if (!r.ok()) break;  // window full: poll first
        if (sent < k_total) ++sent;
        else --retry;
      }
      p->poll(0);
      c->poll(0);
      if (const time_ns now = monotonic_now_ns(); now >= next_look) {
        next_look = now + 20 * k_ns_per_ms;
        max_segments = std::max(max_segments, dir.segments(0).size());
        if (acked + failed + static_cast<int>(confirmed) != last_progress) {
          last_progress = acked + failed + static_cast<int>(confirmed);
          last_progress_ns = now;
        } else if (now - last_progress_ns > 5 * k_ns_per_s) {
          ADD_FAILURE() << "no progress for 5 s: sent " << sent << " acked " << acked << " failed " << failed
                        << " confirmed " << confirmed << "; producer connected " << p->connected()
                        << ", consumer connected " << c->connected();
          break;
        }
      }
    }
    max_segments = std::max(max_segments, dir.segments(0).size());
  }
  std::string why;
  for (const auto& [st, n] : refusals) why += std::string(wire::status_name(st)) + " " + std::to_string(n) + " ";
  EXPECT_EQ(acked, k_total) << "refused: " << why << "confirmed " << confirmed << "\n" << broker.output();
  EXPECT_EQ(failed, 0) << why;
  EXPECT_EQ(confirmed, static_cast<std::size_t>(acked)) << broker.output();
  // About twenty segments' worth went through; on disk at any time were at
  // most the soft limit (3), the segment being written, the next one
  // (created ahead), and one or two being compacted or deleted.
  std::fprintf(stderr, "segment files at most %zu\n", max_segments);
  EXPECT_LE(max_segments, 8u) << "disk use follows history, not live data";
  const auto left = dir.segments(0);
  ASSERT_FALSE(left.empty());
  EXPECT_NE(std::filesystem::path(left.front()).filename(), "0000000000000001.sjl")
      << "the pinned first segment was compacted away";
  EXPECT_EQ(broker.stop(), 0);
  ASSERT_TRUE(broker.start()) << broker.error();
  const auto pinned = consume_all(broker.address(), "dq/pinned");
  ASSERT_EQ(pinned.size(), 10u) << "compaction kept the live messages\n" << broker.output();
  for (std::size_t i = 0; i < pinned.size(); ++i) EXPECT_EQ(pinned[i].payload, "pin-" + std::to_string(i));
  EXPECT_EQ(consume_all(broker.address(), "dq/flow", {}, 0.3).size(), 0u)
      << "every flow message was confirmed (queue_full retried " << refusals[wire::status::queue_full] << ")\n"
      << broker.output();
  EXPECT_EQ(broker.stop(), 0);
}

// ---- damaged journals ------------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One queue on shard 0 (one shard), 100 messages each in its own commit.
void write_journal(const journal_dir& dir) {
  broker_process broker(disk_broker(dir.path(), {}, 1));
  ASSERT_TRUE(broker.start()) << broker.error();
  auto p = connect_client(broker.address());
  auto w = *p->open_queue("dq/damaged", writer());
  ASSERT_EQ(produce(*p, w, "rec-", 100, 100, true).size(), 100u);
  p.reset();
  ASSERT_EQ(broker.stop(), 0);
}

TEST(broker_disk, torn_final_record_is_truncated_and_logged) {
  journal_dir dir;
  write_journal(dir);
  // The broker stopped; cut the last segment in the middle of its last record.
  const auto segs = dir.segments(0);
  ASSERT_FALSE(segs.empty());
  std::string seg;
  std::size_t at = std::string::npos;
  for (const auto& s : segs) {
    const auto bytes = read_file(s);
    if (const auto pos = bytes.find("rec-199"); pos != std::string::npos) {
      seg = s;
      at = pos;
    }
  }
  ASSERT_NE(at, std::string::npos) << "the last record is on disk";
  ASSERT_EQ(::truncate(seg.c_str(), static_cast<off_t>(at + 3)), 0);

  broker_process broker(disk_broker(dir.path(), {}, 1));
  ASSERT_TRUE(broker.start()) << broker.error();
  const std::string out = broker.output();
  const std::string file = seg.substr(seg.rfind('/') + 1);
  EXPECT_NE(out.find("torn tail in " + file + " at offset"), std::string::npos) << out;
  EXPECT_NE(out.find("torn tail truncated"), std::string::npos) << out;
  const auto got = consume_all(broker.address(), "dq/damaged");
  ASSERT_EQ(got.size(), 99u) << "every record before the torn one survives";
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].payload, "rec-" + std::to_string(100 + i));
  // The journal goes on after the cut.
  auto p = connect_client(broker.address());
  auto w = *p->open_queue("dq/damaged", writer());
  EXPECT_EQ(produce(*p, w, "after-", 0, 5, false).size(), 5u);
  p.reset();
  EXPECT_EQ(broker.stop(), 0);
  ASSERT_TRUE(broker.start()) << broker.error();
  // The 99 were confirmed; the 5 written after the cut survive a restart.
  EXPECT_EQ(payloads(consume_all(broker.address(), "dq/damaged")),
            (std::set<std::string>{"after-0", "after-1", "after-2", "after-3", "after-4"}));
  EXPECT_EQ(broker.stop(), 0);
}

TEST(broker_disk, corrupt_middle_record_refuses_to_start_unless_salvaging) {
  journal_dir dir;
  write_journal(dir);
  std::string seg;
  for (const auto& s : dir.segments(0)) {
    std::string bytes = read_file(s);
    const auto pos = bytes.find("rec-150");
    if (pos == std::string::npos) continue;
    seg = s;
    std::fstream f(s, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(pos + 4));
    f.write("XYZ", 3);  // rot in a record that was durable long ago
  }
  ASSERT_FALSE(seg.empty());
  const std::string file = seg.substr(seg.rfind('/') + 1);

  broker_process refused(disk_broker(dir.path(), {}, 1));
  EXPECT_FALSE(refused.start());
  EXPECT_EQ(refused.start_exit_code(), 3) << refused.error();
  const std::string out = refused.output();
  EXPECT_NE(out.find("corrupt record in the middle of " + file), std::string::npos) << out;
  EXPECT_NE(out.find("salvage = true"), std::string::npos) << out;
  EXPECT_NE(out.find("refusing to start"), std::string::npos) << out;

  broker_process salvaging(disk_broker(dir.path(), "salvage = true\n", 1));
  ASSERT_TRUE(salvaging.start()) << salvaging.error();
  EXPECT_NE(salvaging.output().find("SALVAGED"), std::string::npos) << salvaging.output();
  const auto got = payloads(consume_all(salvaging.address(), "dq/damaged"));
  EXPECT_EQ(got.size(), 99u) << "only the corrupt commit is lost";
  EXPECT_EQ(got.count("rec-150"), 0u);
  EXPECT_EQ(got.count("rec-149"), 1u);
  EXPECT_EQ(got.count("rec-151"), 1u);
  EXPECT_EQ(salvaging.stop(), 0);
}

// A small ext4 file system on a loop device: the journal runs out of space.
class small_fs {
 public:
  explicit small_fs(int mb) {
    char tmpl[] = "/tmp/sluice-smallfs-XXXXXX";
    const char* d = ::mkdtemp(tmpl);
    if (d == nullptr) return;
    _mnt = d;
    _img = _mnt + ".img";
    const std::string cmd = "truncate -s " + std::to_string(mb) + "M " + _img + " && mkfs.ext4 -q -F " + _img +
                            " >/dev/null 2>&1 && mount -o loop " + _img + " " + _mnt + " 2>/dev/null";
    _mounted = std::system(cmd.c_str()) == 0;
  }
  ~small_fs() {
    if (_mounted) (void)std::system(("umount " + _mnt).c_str());
    if (!_img.empty()) std::remove(_img.c_str());
    if (!_mnt.empty()) ::rmdir(_mnt.c_str());
  }
  bool mounted() const noexcept { return _mounted; }
  const std::string& path() const noexcept { return _mnt; }

 private:
  std::string _mnt;
  std::string _img;
  bool _mounted = false;
};

TEST(broker_disk, failed_journal_nacks_its_puts_and_refuses_disk_puts_memory_domains_go_on) {
  small_fs fs(24);
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a loop-device ext4 here (needs root and loop devices)";
  // 4 MiB segments on ~20 MiB: the journal fails creating a later segment.
  broker_options o = disk_broker(fs.path(), {}, 1);
  o.extra.replace(o.extra.find("segment_mb = 8"), 14, "segment_mb = 4");
  broker_process small(o);
  ASSERT_TRUE(small.start()) << small.error();
  auto p = connect_client(small.address());
  auto w = *p->open_queue("dq/full", writer());
  const std::string body(1000, 'f');
  std::map<wire::status, int> statuses;
  bool ok_after_failure = false;
  int answered = 0;
  int posted = 0;
  for (; posted < 60000 && statuses[wire::status::internal] == 0; ++posted) {
    for (;;) {
      const auto r = p->post(w, wire::as_bytes(body), {}, [&](const client::ack& a) {
        ++answered;
        if (a.status == wire::status::ok && statuses[wire::status::internal] > 0) ok_after_failure = true;
        ++statuses[a.status];
      });
      if (r.ok()) break;
      p->poll(1 * k_ns_per_ms);
    }
    if (posted % 64 == 63) poll_until({p.get()}, [&] { return answered > posted - 64; });
  }
  ASSERT_TRUE(poll_until({p.get()}, [&] { return answered == posted; }));
  EXPECT_GT(statuses[wire::status::ok], 1000) << "the journal took data before the disk filled";
  EXPECT_GT(statuses[wire::status::internal], 0) << "PUTs whose records could not be written are NACKed";
  EXPECT_FALSE(ok_after_failure) << "nothing is ACKed once the journal failed";
  // Later disk PUTs are refused at once; a memory domain is unaffected.
  int late = -1;
  ASSERT_TRUE(p->post(w, wire::as_bytes("late"), {}, [&](const client::ack& a) { late = static_cast<int>(a.status); }).ok());
  ASSERT_TRUE(poll_until({p.get()}, [&] { return late >= 0; }));
  EXPECT_EQ(late, static_cast<int>(wire::status::internal));
  auto m = *p->open_queue("mem/ok", writer());
  int mem = -1;
  ASSERT_TRUE(p->post(m, wire::as_bytes("m"), {}, [&](const client::ack& a) { mem = static_cast<int>(a.status); }).ok());
  ASSERT_TRUE(poll_until({p.get()}, [&] { return mem >= 0; }));
  EXPECT_EQ(mem, static_cast<int>(wire::status::ok));
  const std::string out = small.output();
  EXPECT_NE(out.find("refused until the broker restarts"), std::string::npos) << out;
  p.reset();
  small.kill9();
}

// Writes by one process to one block device, limited to `iops` per second
// (cgroup v1 blkio throttle): a slow disk for the broker alone.
class throttled_writes {
 public:
  throttled_writes(pid_t pid, const std::string& on_path, int iops) {
    struct stat st{};
    if (::stat(on_path.c_str(), &st) != 0) {
      why = on_path + ": " + std::strerror(errno);
      return;
    }
    if (::access((k_base + "/blkio.throttle.write_iops_device").c_str(), W_OK) != 0) {
      why = "no writable cgroup v1 blkio throttle under " + k_base;
      return;
    }
    _dir = k_base + "/sluice-test-" + std::to_string(::getpid());
    if (::mkdir(_dir.c_str(), 0755) != 0) {
      why = _dir + ": " + std::strerror(errno);
      _dir.clear();
      return;
    }
    _dev = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    if (!put(_dir + "/blkio.throttle.write_iops_device", _dev + " " + std::to_string(iops)) ||
        !put(_dir + "/cgroup.procs", std::to_string(pid))) {
      why = "cannot set the throttle for device " + _dev + " in " + _dir;
      return;
    }
    ok = true;
  }
  ~throttled_writes() {
    if (_dir.empty()) return;
    std::ifstream in(_dir + "/cgroup.procs");
    for (std::string pid; std::getline(in, pid);) put(k_base + "/cgroup.procs", pid);
    ::rmdir(_dir.c_str());
  }
  throttled_writes(const throttled_writes&) = delete;
  throttled_writes& operator=(const throttled_writes&) = delete;
  void lift() { put(_dir + "/blkio.throttle.write_iops_device", _dev + " 0"); }

  bool ok = false;
  std::string why;

 private:
  static bool put(const std::string& file, const std::string& v) {
    std::ofstream out(file);
    out << v << '\n';
    out.flush();
    return static_cast<bool>(out);
  }
  inline static const std::string k_base = "/sys/fs/cgroup/blkio";
  std::string _dir;
  std::string _dev;
};

// With the journal's buffers all busy behind a slow disk, PUTs are answered
// queue_full (retried here) and CONFIRMs wait in the journal instead of
// being dropped: after a clean stop and restart nothing confirmed returns.
TEST(broker_disk, confirms_are_kept_while_a_slow_disk_holds_the_journal_back) {
  small_fs fs(64);
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a loop-device ext4 here (needs root and loop devices)";
  // Four 256 KiB commits of buffer: backpressure comes quickly.
  broker_options o = disk_broker(fs.path(), "buffer_mb = 4\ngroup_commit_kb = 256\n", 1);
  o.extra.replace(o.extra.find("segment_mb = 8"), 14, "segment_mb = 4");
  o.stats_interval_s = 1;
  broker_process broker(o);
  ASSERT_TRUE(broker.start()) << broker.error();
  {
    throttled_writes slow(broker.pid(), fs.path(), 10);
    if (!slow.ok) GTEST_SKIP() << "cannot throttle the broker's writes: " << slow.why;
    constexpr int k_each = 1500;
    auto c = connect_client(broker.address());
    ASSERT_TRUE(c);
    std::size_t confirmed = 0;
    c->on_message([&](const client::message& m) {
      ++confirmed;
      EXPECT_TRUE(c->confirm(m.queue, m.guid).ok());
    });
    ASSERT_TRUE(c->open_queue("dq/slow", reader(4096)).ok());
    struct producer {
      std::unique_ptr<client::client> cl;
      client::queue_handle q;
      int sent = 0;
      int retry = 0;
    };
    std::vector<producer> ps;
    for (int i = 0; i < 2; ++i) {
      auto cl = connect_client(broker.address());
      ASSERT_TRUE(cl);
      auto q = *cl->open_queue("dq/slow", writer());
      ps.push_back(producer{std::move(cl), q});
    }
    int acked = 0;
    int failed = 0;
    int queue_full = 0;
    const std::string body(1000, 's');
    const time_ns deadline = monotonic_now_ns() + 90 * k_ns_per_s;
    while ((acked + failed < 2 * k_each || confirmed < static_cast<std::size_t>(acked)) &&
           monotonic_now_ns() < deadline) {
      for (auto& pr : ps) {
        while (pr.sent < k_each || pr.retry > 0) {
          const auto r = pr.cl->post(pr.q, wire::as_bytes(body), {}, [&acked, &failed, &queue_full, &pr](const client::ack& a) {
            if (a.status == wire::status::ok) {
              ++acked;
            } else if (a.status == wire::status::queue_full) {
              ++queue_full;
              ++pr.retry;
            } else {
              ++failed;
            }
          });
          if (!r.ok()) break;
          if (pr.sent < k_each) ++pr.sent;
          else --pr.retry;
        }
        pr.cl->poll(0);
      }
      c->poll(1 * k_ns_per_ms);
    }
    EXPECT_EQ(acked, 2 * k_each) << "failed " << failed << "\n" << broker.output();
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(confirmed, static_cast<std::size_t>(acked));
    std::fprintf(stderr, "PUTs answered queue_full and posted again: %d\n", queue_full);
    slow.lift();
    // Let the waiting records reach the disk and a stats line report them.
    poll_until({c.get(), ps[0].cl.get(), ps[1].cl.get()}, [] { return false; }, 1.5);
  }
  const std::string out = broker.output();
  const auto at = out.rfind(" deferred ");
  ASSERT_NE(at, std::string::npos) << out;
  const unsigned long long deferred = std::strtoull(out.c_str() + at + 10, nullptr, 10);
  const auto dat = out.rfind(" dropped ");
  ASSERT_NE(dat, std::string::npos) << out;
  const unsigned long long dropped = std::strtoull(out.c_str() + dat + 9, nullptr, 10);
  std::fprintf(stderr, "journal records deferred %llu, dropped %llu\n", deferred, dropped);
  EXPECT_GT(deferred, 0u) << "the slow disk never held the journal back: the test did not test\n" << out;
  EXPECT_EQ(dropped, 0u);
  EXPECT_EQ(broker.stop(), 0);
  ASSERT_TRUE(broker.start()) << broker.error();
  EXPECT_EQ(consume_all(broker.address(), "dq/slow", {}, 0.3).size(), 0u)
      << "confirmed messages came back: their confirms were never journaled\n" << broker.output();
  EXPECT_EQ(broker.stop(), 0);
}

TEST(broker_disk, journal_dir_that_cannot_be_created_is_a_config_error) {
  char tmpl[] = "/tmp/sluice-notadir-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  broker_process broker(disk_broker(std::string(tmpl) + "/journal"));
  EXPECT_FALSE(broker.start());
  EXPECT_EQ(broker.start_exit_code(), 2);
  const std::string out = broker.output();
  EXPECT_NE(out.find("bad config"), std::string::npos) << out;
  EXPECT_NE(out.find("storage.dir: " + std::string(tmpl)), std::string::npos) << out;
  EXPECT_NE(out.find("is not a directory"), std::string::npos) << out;
  ::unlink(tmpl);
}

}  // namespace
}  // namespace sluice::testing
