// The XDP program run in the kernel on crafted frames (BPF_PROG_TEST_RUN):
// each frame gets the expected verdict and raises exactly the expected
// per-CPU counter. Failure cases first.
//
// Needs CAP_BPF + CAP_NET_ADMIN (root in CI); without them every test skips
// with the errno of the refused load. No network namespace is needed: test
// runs never touch an interface.
//
// What the kernel does here (6.18): an empty XSKMAP slot makes
// bpf_redirect_map(..., XDP_PASS) return XDP_PASS, so without a socket a
// valid broker datagram comes back as XDP_PASS and counts passed_no_socket.
// With an AF_XDP socket in the slot the run returns XDP_REDIRECT; the socket
// need not be bound, because a test run reports the verdict without
// performing the redirect.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bpf/sluice_xdp.h"
#include "bpf/xdp_test_frames.h"
#include "common/rng.h"
#include "datapath/wire/constants.h"
#include "datapath/wire/layouts.h"
#include "sluice_xdp.skel.h"

// The program's view of the wire must be the codec's.
static_assert(SLUICE_XDP_WIRE_MAGIC == sluice::wire::k_magic);
static_assert(SLUICE_XDP_WIRE_VERSION == sluice::wire::k_version);
static_assert(SLUICE_XDP_WIRE_HEADER_SZ == sluice::wire::k_packet_header_sz);
static_assert(offsetof(sluice_xdp_wire_header, magic) ==
              offsetof(sluice::wire::packet_header, magic));
static_assert(offsetof(sluice_xdp_wire_header, version) ==
              offsetof(sluice::wire::packet_header, version));
static_assert(offsetof(sluice_xdp_wire_header, payload_sz) ==
              offsetof(sluice::wire::packet_header, payload_sz));

namespace sluice::bpf {
namespace {

using testing::build_arp;
using testing::build_frame;
using testing::cut;
using testing::frame;
using testing::frame_spec;

constexpr std::uint16_t k_port_lo = 7000;
constexpr std::uint16_t k_port_hi = 7003;
constexpr std::size_t k_counter_cnt = SLUICE_XDP_COUNTER_CNT;
using counters = std::array<std::uint64_t, k_counter_cnt>;

const char* action_name(std::uint32_t a) {
  switch (a) {
    case XDP_ABORTED: return "XDP_ABORTED";
    case XDP_DROP: return "XDP_DROP";
    case XDP_PASS: return "XDP_PASS";
    case XDP_TX: return "XDP_TX";
    case XDP_REDIRECT: return "XDP_REDIRECT";
    default: return "XDP_?";
  }
}

struct skel_deleter {
  void operator()(sluice_xdp* s) const { sluice_xdp__destroy(s); }
};

struct xdp_prog : ::testing::Test {
  std::unique_ptr<sluice_xdp, skel_deleter> skel;
  int ncpus = 0;

  // Opens the skeleton, lets `configure` edit the read-only config, loads.
  template <class F>
  void load(F configure) {
    skel.reset(sluice_xdp__open());
    ASSERT_NE(skel, nullptr) << "sluice_xdp__open: " << std::strerror(errno);
    configure(skel->rodata->sluice_cfg);
    const int err = sluice_xdp__load(skel.get());
    if (err == -EPERM) {
      GTEST_SKIP() << "loading the XDP program was refused (errno " << -err << ", "
                   << std::strerror(-err) << "): these tests need CAP_BPF and CAP_NET_ADMIN; "
                   << "run them as root";
    }
    ASSERT_EQ(err, 0) << "sluice_xdp__load: " << std::strerror(-err)
                      << " (the verifier log, if any, is above)";
    ncpus = libbpf_num_possible_cpus();
    ASSERT_GT(ncpus, 0);
  }
  void SetUp() override {
    load([](sluice_xdp_config& c) {
      c.port_lo = k_port_lo;
      c.port_hi = k_port_hi;
      c.magic = wire::k_magic;
      c.version = wire::k_version;
    });
  }

  counters read_counters() const {
    counters sum{};
    std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(ncpus));
    for (std::uint32_t i = 0; i < k_counter_cnt; ++i) {
      const int err = bpf_map__lookup_elem(skel->maps.sluice_xdp_ctr, &i, sizeof i, per_cpu.data(),
                                           per_cpu.size() * sizeof(std::uint64_t), 0);
      EXPECT_EQ(err, 0) << "lookup of counter " << i << ": " << std::strerror(-err);
      for (std::uint64_t v : per_cpu) sum[i] += v;
    }
    return sum;
  }

  // Runs the program once on `f`; returns the kernel's error (0 or -errno).
  int run(const frame& f, std::uint32_t& verdict) const {
    bpf_test_run_opts opts{};
    opts.sz = sizeof opts;
    opts.data_in = f.data();
    opts.data_size_in = static_cast<std::uint32_t>(f.size());
    opts.repeat = 1;
    const int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_steer), &opts);
    verdict = opts.retval;
    return err;
  }

  // `f` gets `verdict` and raises counter `idx` by one and no other counter.
  ::testing::AssertionResult outcome(const frame& f, std::uint32_t verdict, unsigned idx) const {
    const counters before = read_counters();
    std::uint32_t got = 0;
    const int err = run(f, got);
    if (err != 0) {
      return ::testing::AssertionFailure()
             << "bpf_prog_test_run_opts on a " << f.size()
             << "-byte frame: " << std::strerror(-err);
    }
    const counters after = read_counters();
    bool counters_ok = true;
    std::string rose;
    for (unsigned i = 0; i < k_counter_cnt; ++i) {
      const std::uint64_t d = after[i] - before[i];
      if (d != (i == idx ? 1u : 0u)) counters_ok = false;
      if (d != 0) rose += std::string(" ") + sluice_xdp_counter_name(i) + "+" + std::to_string(d);
    }
    auto result = got == verdict && counters_ok ? ::testing::AssertionSuccess()
                                                : ::testing::AssertionFailure();
    result << "verdict " << action_name(got) << ", counters" << (rose.empty() ? " unchanged" : rose)
           << " (expected " << action_name(verdict) << ", " << sluice_xdp_counter_name(idx)
           << "+1)";
    return result;
  }
};

frame_spec broker(int ip_version = 4) {
  frame_spec s;
  s.ip_version = ip_version;
  s.dst_port = k_port_lo;
  return s;
}

// ---- broker datagrams that fail a check: dropped, by reason ----------------------------

TEST_F(xdp_prog, drops_bad_magic) {
  for (int v : {4, 6}) {
    frame_spec s = broker(v);
    s.magic = 0x45434C54;
    EXPECT_TRUE(outcome(build_frame(s), XDP_DROP, SLUICE_XDP_DROPPED_BAD_MAGIC)) << "IPv" << v;
  }
  frame_spec bswapped = broker();
  bswapped.magic = __builtin_bswap32(wire::k_magic);  // a big-endian sender
  EXPECT_TRUE(outcome(build_frame(bswapped), XDP_DROP, SLUICE_XDP_DROPPED_BAD_MAGIC));
}

TEST_F(xdp_prog, drops_bad_version) {
  for (int version : {0, 2, 255}) {
    frame_spec s = broker();
    s.version = static_cast<std::uint8_t>(version);
    EXPECT_TRUE(outcome(build_frame(s), XDP_DROP, SLUICE_XDP_DROPPED_BAD_VERSION)) << version;
  }
}

TEST_F(xdp_prog, drops_payload_sz_disagreeing_with_udp_length) {
  for (int delta : {-1, 1, 1000}) {
    for (int v : {4, 6}) {
      frame_spec s = broker(v);
      s.payload_sz_delta = delta;
      EXPECT_TRUE(outcome(build_frame(s), XDP_DROP, SLUICE_XDP_DROPPED_BAD_LENGTH))
          << "IPv" << v << " payload_sz off by " << delta;
    }
  }
}

TEST_F(xdp_prog, drops_udp_length_disagreeing_with_ip_length) {
  for (int delta : {-4, 4}) {
    for (int v : {4, 6}) {
      frame_spec s = broker(v);
      s.udp_len_delta = delta;
      EXPECT_TRUE(outcome(build_frame(s), XDP_DROP, SLUICE_XDP_DROPPED_BAD_LENGTH))
          << "IPv" << v << " UDP length off by " << delta;
    }
  }
  frame_spec tiny = broker();
  tiny.udp_len_delta = -static_cast<int>(testing::k_udp_sz + wire::k_packet_header_sz + 40 - 4);
  tiny.ip_len_delta = tiny.udp_len_delta;  // consistent with IP, but below the UDP header
  EXPECT_TRUE(outcome(build_frame(tiny), XDP_DROP, SLUICE_XDP_DROPPED_BAD_LENGTH));
  frame_spec short_ip = broker();
  short_ip.ip_len_delta = -static_cast<int>(testing::k_udp_sz + wire::k_packet_header_sz + 40 + 4);
  EXPECT_TRUE(outcome(build_frame(short_ip), XDP_DROP, SLUICE_XDP_DROPPED_BAD_LENGTH))
      << "IPv4 total length shorter than its own header";
}

TEST_F(xdp_prog, drops_frame_shorter_than_its_lengths) {
  for (int v : {4, 6}) {
    const frame f = build_frame(broker(v));
    EXPECT_TRUE(outcome(cut(f, f.size() - 1), XDP_DROP, SLUICE_XDP_DROPPED_TRUNCATED))
        << "IPv" << v;
    // Cut inside the packet header: the UDP header is whole, the port is ours.
    const std::size_t l3_sz = v == 4 ? testing::k_ipv4_sz : testing::k_ipv6_sz;
    const std::size_t in_header = testing::k_eth_sz + l3_sz + testing::k_udp_sz + 10;
    EXPECT_TRUE(outcome(cut(f, in_header), XDP_DROP, SLUICE_XDP_DROPPED_TRUNCATED)) << "IPv" << v;
  }
}

TEST_F(xdp_prog, drops_udp_payload_shorter_than_packet_header) {
  for (std::size_t n : {std::size_t{0}, std::size_t{4}, wire::k_packet_header_sz - 1}) {
    frame_spec s = broker();
    s.udp_payload_sz = n;
    EXPECT_TRUE(outcome(build_frame(s), XDP_DROP, SLUICE_XDP_DROPPED_TRUNCATED)) << n << " bytes";
  }
}

// ---- frames cut before the UDP port is known: not provably ours, passed -----------------

TEST_F(xdp_prog, passes_frames_cut_inside_headers) {
  const frame v4 = build_frame(broker(4));
  const frame v6 = build_frame(broker(6));
  frame_spec tagged = broker();
  tagged.vlan_tpid = testing::k_tpid_8021q;
  const frame vlan = build_frame(tagged);
  const std::size_t eth = testing::k_eth_sz;
  struct {
    const frame& f;
    std::size_t n;
    const char* what;
  } const cases[] = {
      {v4, eth, "Ethernet only, type IPv4"},
      {v4, eth + 10, "inside the IPv4 header"},
      {v4, eth + testing::k_ipv4_sz, "IPv4 header, no UDP"},
      {v4, eth + testing::k_ipv4_sz + 4, "inside the UDP header (IPv4)"},
      {v6, eth + 30, "inside the IPv6 header"},
      {v6, eth + testing::k_ipv6_sz + 7, "inside the UDP header (IPv6)"},
      {vlan, eth, "VLAN type, no tag"},
      {vlan, eth + 2, "inside the VLAN tag"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(outcome(cut(c.f, c.n), XDP_PASS, SLUICE_XDP_PASSED_MALFORMED)) << c.what;
  }
}

TEST_F(xdp_prog, kernel_refuses_test_frames_shorter_than_ethernet) {
  // BPF_PROG_TEST_RUN rejects XDP input below ETH_HLEN before the program
  // runs; a NIC never delivers such a frame either.
  const frame f = cut(build_frame(broker()), testing::k_eth_sz - 1);
  std::uint32_t verdict = 0;
  EXPECT_EQ(run(f, verdict), -EINVAL);
}

TEST_F(xdp_prog, passes_invalid_ip_headers) {
  frame_spec short_ihl = broker();
  short_ihl.ipv4_ihl = 4;
  EXPECT_TRUE(outcome(build_frame(short_ihl), XDP_PASS, SLUICE_XDP_PASSED_MALFORMED));
  frame_spec v6_in_v4 = broker(4);
  v6_in_v4.ip_version_field = 6;
  EXPECT_TRUE(outcome(build_frame(v6_in_v4), XDP_PASS, SLUICE_XDP_PASSED_MALFORMED));
  frame_spec v4_in_v6 = broker(6);
  v4_in_v6.ip_version_field = 4;
  EXPECT_TRUE(outcome(build_frame(v4_in_v6), XDP_PASS, SLUICE_XDP_PASSED_MALFORMED));
}

// ---- not broker traffic: passed, by reason ----------------------------------------------

TEST_F(xdp_prog, passes_arp) {
  EXPECT_TRUE(outcome(build_arp(), XDP_PASS, SLUICE_XDP_PASSED_NOT_IP));
}

TEST_F(xdp_prog, passes_second_vlan_tag) {
  frame_spec s = broker();
  s.vlan_tpid = testing::k_tpid_8021ad;
  s.second_vlan_tag = true;
  EXPECT_TRUE(outcome(build_frame(s), XDP_PASS, SLUICE_XDP_PASSED_NOT_IP));
}

TEST_F(xdp_prog, passes_tcp_to_a_broker_port) {
  for (int v : {4, 6}) {
    frame_spec s = broker(v);
    s.l4_proto = testing::k_proto_tcp;
    EXPECT_TRUE(outcome(build_frame(s), XDP_PASS, SLUICE_XDP_PASSED_NOT_UDP)) << "IPv" << v;
  }
}

TEST_F(xdp_prog, passes_ipv6_extension_headers) {
  frame_spec s = broker(6);
  s.ipv6_hop_by_hop = true;
  EXPECT_TRUE(outcome(build_frame(s), XDP_PASS, SLUICE_XDP_PASSED_NOT_UDP));
}

TEST_F(xdp_prog, passes_ipv4_fragments) {
  for (std::uint16_t frag : {std::uint16_t{0x2000}, std::uint16_t{0x0001}, std::uint16_t{0x20B9}}) {
    frame_spec s = broker();
    s.ipv4_frag = frag;  // MF; offset 8; MF with an offset
    EXPECT_TRUE(outcome(build_frame(s), XDP_PASS, SLUICE_XDP_PASSED_FRAGMENT)) << std::hex << frag;
  }
  frame_spec df = broker();
  df.ipv4_frag = 0x4000;  // DF alone is not a fragment
  EXPECT_TRUE(outcome(build_frame(df), XDP_PASS, SLUICE_XDP_PASSED_NO_SOCKET));
}

TEST_F(xdp_prog, passes_other_udp_ports) {
  for (std::uint16_t port : {std::uint16_t{53}, std::uint16_t{k_port_lo - 1},
                             std::uint16_t{k_port_hi + 1}, std::uint16_t{65535}}) {
    for (int v : {4, 6}) {
      frame_spec s = broker(v);
      s.dst_port = port;
      EXPECT_TRUE(outcome(build_frame(s), XDP_PASS, SLUICE_XDP_PASSED_OTHER_PORT))
          << "IPv" << v << " port " << port;
    }
  }
  frame_spec garbage = broker();  // other ports are not ours to judge
  garbage.dst_port = 9999;
  garbage.magic = 0;
  garbage.udp_len_delta = 3;
  EXPECT_TRUE(outcome(build_frame(garbage), XDP_PASS, SLUICE_XDP_PASSED_OTHER_PORT));
}

// ---- valid broker datagrams --------------------------------------------------------------

TEST_F(xdp_prog, valid_datagram_without_socket_passes_to_kernel) {
  frame_spec tagged_q = broker(4);
  tagged_q.vlan_tpid = testing::k_tpid_8021q;
  frame_spec tagged_ad6 = broker(6);
  tagged_ad6.vlan_tpid = testing::k_tpid_8021ad;
  frame_spec options = broker(4);
  options.ipv4_ihl = 15;  // 40 bytes of options
  frame_spec padded = broker(4);
  padded.trailer_sz = 6;  // bytes past the IP packet are allowed
  frame_spec empty = broker(6);
  empty.body_sz = 0;
  frame_spec top = broker(4);
  top.dst_port = k_port_hi;
  frame_spec big = broker(6);
  big.body_sz = 1452 - wire::k_packet_header_sz;  // UDP payload 1452
  struct {
    frame_spec s;
    const char* what;
  } const cases[] = {
      {broker(4), "IPv4"}, {broker(6), "IPv6"},
      {tagged_q, "802.1Q + IPv4"}, {tagged_ad6, "802.1ad + IPv6"},
      {options, "IPv4 options"}, {padded, "Ethernet trailer"},
      {empty, "empty body"}, {top, "last port of the range"},
      {big, "1500-byte IPv6 packet"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(outcome(build_frame(c.s), XDP_PASS, SLUICE_XDP_PASSED_NO_SOCKET)) << c.what;
  }
}

struct xsk_fd {
  int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  xsk_fd() = default;
  xsk_fd(const xsk_fd&) = delete;
  xsk_fd& operator=(const xsk_fd&) = delete;
  ~xsk_fd() {
    if (fd >= 0) close(fd);
  }
};

TEST_F(xdp_prog, valid_datagram_goes_to_the_socket_of_its_queue) {
  xsk_fd xsk;
  ASSERT_GE(xsk.fd, 0) << "socket(AF_XDP): " << std::strerror(errno);
  // Test runs arrive on queue 0. A socket in another queue's slot changes nothing.
  const std::uint32_t other_queue = 1;
  int err = bpf_map__update_elem(skel->maps.xsks_map, &other_queue, sizeof other_queue, &xsk.fd,
                                 sizeof xsk.fd, BPF_ANY);
  ASSERT_EQ(err, 0) << "XSKMAP update: " << std::strerror(-err);
  EXPECT_TRUE(outcome(build_frame(broker(4)), XDP_PASS, SLUICE_XDP_PASSED_NO_SOCKET));

  const std::uint32_t queue = 0;
  err = bpf_map__update_elem(skel->maps.xsks_map, &queue, sizeof queue, &xsk.fd, sizeof xsk.fd,
                             BPF_ANY);
  ASSERT_EQ(err, 0) << "XSKMAP update: " << std::strerror(-err);
  frame_spec tagged = broker(6);
  tagged.vlan_tpid = testing::k_tpid_8021q;
  for (const frame_spec& s : {broker(4), broker(6), tagged}) {
    EXPECT_TRUE(outcome(build_frame(s), XDP_REDIRECT, SLUICE_XDP_REDIRECTED));
  }
  // Bad broker datagrams are still dropped, other traffic still passes.
  frame_spec bad = broker();
  bad.magic = 1;
  EXPECT_TRUE(outcome(build_frame(bad), XDP_DROP, SLUICE_XDP_DROPPED_BAD_MAGIC));
  EXPECT_TRUE(outcome(build_arp(), XDP_PASS, SLUICE_XDP_PASSED_NOT_IP));

  err = bpf_map__delete_elem(skel->maps.xsks_map, &queue, sizeof queue, 0);
  ASSERT_EQ(err, 0) << "XSKMAP delete: " << std::strerror(-err);
  EXPECT_TRUE(outcome(build_frame(broker(4)), XDP_PASS, SLUICE_XDP_PASSED_NO_SOCKET));
}

// ---- properties -----------------------------------------------------------------------------

TEST_F(xdp_prog, counts_every_run) {
  const frame f = build_frame(broker());
  const counters before = read_counters();
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = f.data();
  opts.data_size_in = static_cast<std::uint32_t>(f.size());
  opts.repeat = 1000;
  ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_steer), &opts), 0);
  EXPECT_EQ(opts.retval, XDP_PASS);
  const counters after = read_counters();
  EXPECT_EQ(after[SLUICE_XDP_PASSED_NO_SOCKET] - before[SLUICE_XDP_PASSED_NO_SOCKET], 1000u);
}

TEST_F(xdp_prog, random_corruption_gets_one_counter_and_a_matching_verdict) {
  // SLUICE_SEED=S replays another seed (as in the transport's randomised tests).
  const char* env = std::getenv("SLUICE_SEED");
  const std::uint64_t seed = env ? std::strtoull(env, nullptr, 0) : 0x5EED'0000'0004ULL;
  std::printf("xdp random corruption test: SLUICE_SEED=%" PRIu64 "\n", seed);
  splitmix64 rng(seed);
  frame_spec tagged = broker(6);
  tagged.vlan_tpid = testing::k_tpid_8021q;
  const frame bases[] = {build_frame(broker(4)), build_frame(broker(6)), build_frame(tagged)};
  for (int iter = 0; iter < 2000; ++iter) {
    frame f = bases[rng.below(std::size(bases))];
    const std::uint64_t flips = rng.below(4);
    for (std::uint64_t k = 0; k < flips; ++k) {
      // Mostly the first 100 bytes, where the headers are.
      const std::size_t at = static_cast<std::size_t>(rng.below(rng.chance(0.8) ? 100 : f.size()));
      f[at] = static_cast<std::uint8_t>(rng.next());
    }
    if (rng.chance(0.2)) {
      const std::uint64_t keep = rng.below(f.size() - testing::k_eth_sz);
      f.resize(testing::k_eth_sz + static_cast<std::size_t>(keep));
    }
    const counters before = read_counters();
    std::uint32_t verdict = 0;
    ASSERT_EQ(run(f, verdict), 0) << "iteration " << iter << ", SLUICE_SEED=" << seed;
    const counters after = read_counters();
    std::uint64_t total = 0;
    unsigned which = 0;
    for (unsigned i = 0; i < k_counter_cnt; ++i) {
      total += after[i] - before[i];
      if (after[i] != before[i]) which = i;
    }
    ASSERT_EQ(total, 1u) << "iteration " << iter << ", SLUICE_SEED=" << seed;
    const bool dropped = which >= SLUICE_XDP_DROPPED_TRUNCATED;
    ASSERT_EQ(verdict, dropped ? XDP_DROP : XDP_PASS)
        << "counter " << sluice_xdp_counter_name(which) << ", iteration " << iter
        << ", SLUICE_SEED=" << seed;
  }
}

// ---- configuration comes from user space -------------------------------------------------

TEST_F(xdp_prog, unconfigured_program_steers_nothing) {
  load([](sluice_xdp_config&) {});
  if (IsSkipped() || HasFatalFailure()) return;
  EXPECT_TRUE(outcome(build_frame(broker()), XDP_PASS, SLUICE_XDP_PASSED_OTHER_PORT));
}

TEST_F(xdp_prog, magic_version_and_ports_are_configurable) {
  load([](sluice_xdp_config& c) {
    c.port_lo = 9000;
    c.port_hi = 9000;
    c.magic = 0x11223344;
    c.version = 7;
  });
  if (IsSkipped() || HasFatalFailure()) return;
  frame_spec s = broker();
  s.dst_port = 9000;
  EXPECT_TRUE(outcome(build_frame(s), XDP_DROP, SLUICE_XDP_DROPPED_BAD_MAGIC));
  s.magic = 0x11223344;
  EXPECT_TRUE(outcome(build_frame(s), XDP_DROP, SLUICE_XDP_DROPPED_BAD_VERSION));
  s.version = 7;
  EXPECT_TRUE(outcome(build_frame(s), XDP_PASS, SLUICE_XDP_PASSED_NO_SOCKET));
  s.dst_port = k_port_lo;
  EXPECT_TRUE(outcome(build_frame(s), XDP_PASS, SLUICE_XDP_PASSED_OTHER_PORT));
}

// Needs no privilege: runs even where the kernel tests skip.
TEST(xdp_header, counter_names_cover_every_index) {
  for (unsigned i = 0; i < k_counter_cnt; ++i) {
    EXPECT_STRNE(sluice_xdp_counter_name(i), "unknown") << i;
  }
  EXPECT_STREQ(sluice_xdp_counter_name(k_counter_cnt), "unknown");
}

}  // namespace
}  // namespace sluice::bpf
