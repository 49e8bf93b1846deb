// The control plane end to end: the real sluice-broker and the real
// sluice-control on one config file, the operator socket spoken to directly
// (JSON lines) and through sluicectl, restarts of either process while
// traffic flows and config reload. The Prometheus endpoint: control_metrics_test.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/unix_socket.h"
#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/control_fixture.h"
#include "tests/support/control_process.h"
#include "tests/support/journal_dir.h"
#include "tests/support/traffic.h"

namespace sluice::testing {
namespace {

using json = nlohmann::json;

TEST_F(control_plane, every_operator_command_answers_against_a_live_node) {
  auto p = connect_client(broker.address());
  ASSERT_TRUE(p);
  int acks = 0;
  p->on_ack([&](const client::ack& a) { acks += a.status == wire::status::ok; });
  auto wq = p->open_queue("prio/ops", writer());
  ASSERT_TRUE(wq.ok()) << client::describe(wq.error());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(p->post(*wq, wire::as_bytes(std::string("m") + std::to_string(i))).ok());
  ASSERT_TRUE(poll_until({p.get()}, [&] { return acks == 50; }));

  const json st = call({{"cmd", "status"}, {"id", 7}});
  ASSERT_TRUE(st.value("ok", false)) << st.dump();
  EXPECT_EQ(st["id"], 7) << "the request id is echoed";
  EXPECT_EQ(st["membership"], "static");
  EXPECT_EQ(st["broker"]["pid"], broker.pid());
  EXPECT_EQ(st["broker"]["shards"].size(), 2u);
  EXPECT_TRUE(st.contains("version"));
  EXPECT_TRUE(st.contains("control_uptime_s"));

  const json mem = call({{"cmd", "members"}});
  ASSERT_TRUE(mem.value("ok", false)) << mem.dump();
  ASSERT_EQ(mem["members"].size(), 1u);
  EXPECT_TRUE(mem["members"][0]["self"].get<bool>());

  const json parts = call({{"cmd", "partitions"}});
  ASSERT_TRUE(parts.value("ok", false)) << parts.dump();
  ASSERT_EQ(parts["partitions"].size(), 2u);
  for (const auto& pa : parts["partitions"]) EXPECT_TRUE(pa["serving"].get<bool>());

  const json doms = call({{"cmd", "domains"}});
  ASSERT_TRUE(doms.value("ok", false)) << doms.dump();
  std::set<std::string> names;
  for (const auto& d : doms["domains"]) names.insert(d["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"prio", "fan", "bcast"}));

  // queues and queue_info answer from the sampler (once a second).
  ASSERT_TRUE(eventually([&] {
    const json q = queue_row(broker.operator_socket(), "prio/ops");
    return !q.is_null() && q["messages"] == 50 && q["producers"] == 1;
  })) << call({{"cmd", "queues"}}).dump();
  const json info = call({{"cmd", "queue_info"}, {"uri", "prio/ops"}});
  ASSERT_TRUE(info.value("ok", false)) << info.dump();
  EXPECT_EQ(info["queue"]["counters"]["puts"], 50);
  EXPECT_GT(info["queue"]["bytes"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(info["queue"]["consumers"], 0);
  const json missing = call({{"cmd", "queue_info"}, {"uri", "prio/nope"}});
  EXPECT_FALSE(missing.value("ok", true));
  EXPECT_NE(missing["error"].get<std::string>().find("prio/nope"), std::string::npos) << missing.dump();

  const json stats = call({{"cmd", "stats"}});
  ASSERT_TRUE(stats.value("ok", false)) << stats.dump();
  EXPECT_EQ(stats["shards"].size(), 2u);
  EXPECT_GE(stats["control"]["broker_resyncs"].get<std::uint64_t>(), 1u);

  const json lv = call({{"cmd", "log_level"}, {"level", "debug"}});
  ASSERT_TRUE(lv.value("ok", false)) << lv.dump();
  EXPECT_EQ(lv["old"], "info");
  EXPECT_FALSE(call({{"cmd", "log_level"}, {"level", "loud"}}).value("ok", true));
  EXPECT_TRUE(call({{"cmd", "log_level"}, {"level", "info"}}).value("ok", false));

  // Purge: the 50 stored messages go; the queue stays.
  const json purge = call({{"cmd", "queue_purge"}, {"uri", "prio/ops"}});
  ASSERT_TRUE(purge.value("ok", false)) << purge.dump();
  ASSERT_TRUE(eventually([&] {
    const json q = queue_row(broker.operator_socket(), "prio/ops");
    return !q.is_null() && q["messages"] == 0;
  }));
  // Delete is refused while the producer holds the queue open.
  const json busy = call({{"cmd", "queue_delete"}, {"uri", "prio/ops"}});
  EXPECT_FALSE(busy.value("ok", true)) << busy.dump();

  // sessions lists the producer's session; closing it ends the session.
  const json ss = call({{"cmd", "sessions"}});
  ASSERT_TRUE(ss.value("ok", false)) << ss.dump();
  ASSERT_GE(ss["sessions"].size(), 1u);
  for (const auto& s : ss["sessions"]) {
    const json cl = call({{"cmd", "session_close"}, {"session", s["id"]}});
    EXPECT_TRUE(cl.value("ok", false)) << cl.dump();
  }
  EXPECT_TRUE(poll_until({p.get()}, [&] { return !p->connected(); })) << "closed session still connected";
  EXPECT_FALSE(call({{"cmd", "session_close"}, {"session", 999999}}).value("ok", true));

  // With nobody holding it open the queue can be deleted.
  ASSERT_TRUE(eventually([&] { return call({{"cmd", "queue_delete"}, {"uri", "prio/ops"}}).value("ok", false); }));
  ASSERT_TRUE(eventually([&] { return queue_row(broker.operator_socket(), "prio/ops").is_null(); }));

  // Drain: the node is empty, so it is done at once; new sessions are
  // refused until drain is cancelled.
  const json dr = call({{"cmd", "drain"}, {"on", true}});
  ASSERT_TRUE(dr.value("ok", false)) << dr.dump();
  EXPECT_TRUE(dr["done"].get<bool>()) << dr.dump();
  {
    client::client_config cfg;
    cfg.broker = broker.address();
    cfg.request_timeout_ns = 500 * k_ns_per_ms;
    auto c = client::client::connect(cfg);
    ASSERT_FALSE(c.ok()) << "a draining broker accepted a new session";
    EXPECT_EQ(c.error().code, client::errc::broker_refused) << client::describe(c.error());
    EXPECT_EQ(c.error().status, wire::status::shutting_down) << "refused with the reason, not timed out";
  }
  ASSERT_TRUE(call({{"cmd", "drain"}, {"on", false}}).value("ok", false));
  EXPECT_TRUE(connect_client(broker.address()));
}

TEST_F(control_plane, drain_reports_done_only_when_the_queues_are_empty) {
  auto p = connect_client(broker.address());
  int acks = 0;
  p->on_ack([&](const client::ack& a) { acks += a.status == wire::status::ok; });
  auto wq = *p->open_queue("prio/drain", writer());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p->post(wq, wire::as_bytes(std::string("d"))).ok());
  ASSERT_TRUE(poll_until({p.get()}, [&] { return acks == 20; }));
  auto c = connect_client(broker.address());
  int got = 0;
  c->on_message([&](const client::message& m) {
    ++got;
    (void)c->confirm(m.queue, m.guid);
  });
  const json dr = call({{"cmd", "drain"}, {"on", true}});
  ASSERT_TRUE(dr.value("ok", false)) << dr.dump();
  EXPECT_FALSE(dr["done"].get<bool>());
  EXPECT_EQ(dr["messages_left"], 20);
  // Existing sessions keep working while the node drains: a consumer that
  // was already connected empties the queue.
  const auto rq = c->open_queue("prio/drain", reader());
  ASSERT_TRUE(rq.ok()) << client::describe(rq.error());
  ASSERT_TRUE(poll_until({p.get(), c.get()}, [&] { return got == 20; }));
  ASSERT_TRUE(eventually([&] {
    p->poll(0);
    c->poll(0);
    return call({{"cmd", "drain"}, {"on", true}}).value("done", false);
  }));
  std::string out;
  EXPECT_EQ(ctl({"drain", "--cancel"}, out), 0) << out;
}

TEST_F(control_plane, bad_requests_get_clear_errors_and_the_server_keeps_serving) {
  const std::string sock = broker.operator_socket();
  std::string err;
  const auto raw = [&](const std::string& line) {
    const std::string r = operator_call_raw(sock, line, err);
    EXPECT_FALSE(r.empty()) << "no reply to " << line.substr(0, 80) << ": " << err;
    return r.empty() ? json::object() : json::parse(r);
  };
  json r = raw("this is not json\n");
  EXPECT_FALSE(r.value("ok", true));
  EXPECT_NE(r.value("error", "").find("malformed request"), std::string::npos) << r.dump();
  r = raw("[1, 2, 3]\n");
  EXPECT_NE(r.value("error", "").find("\"cmd\""), std::string::npos) << r.dump();
  r = raw("{\"cmd\": 42}\n");
  EXPECT_NE(r.value("error", "").find("\"cmd\""), std::string::npos) << r.dump();
  r = raw("{\"cmd\": \"explode\"}\n");
  EXPECT_NE(r.value("error", "").find("unknown command \"explode\""), std::string::npos) << r.dump();
  r = raw("{\"cmd\": \"queue_info\"}\n");
  EXPECT_NE(r.value("error", "").find("\"uri\""), std::string::npos) << r.dump();
  r = raw("{\"cmd\": \"queue_purge\", \"uri\": 5}\n");
  EXPECT_NE(r.value("error", "").find("\"uri\""), std::string::npos) << r.dump();
  r = raw("{\"cmd\": \"queue_purge\", \"uri\": \"nodomain\"}\n");
  EXPECT_FALSE(r.value("ok", true)) << r.dump();
  r = raw("{\"cmd\": \"session_close\", \"session\": \"seven\"}\n");
  EXPECT_NE(r.value("error", "").find("\"session\""), std::string::npos) << r.dump();
  // Oversize: a 100 KiB request line, and 100 KiB without any newline.
  r = raw("{\"cmd\": \"status\", \"pad\": \"" + std::string(100 << 10, 'a') + "\"}\n");
  EXPECT_NE(r.value("error", "").find("request too large"), std::string::npos) << r.dump();
  r = raw(std::string(100 << 10, 'b'));
  EXPECT_NE(r.value("error", "").find("request too large"), std::string::npos) << r.dump();

  // Several requests on one connection, each answered in order.
  const int fd = connect_unix(sock, err);
  ASSERT_GE(fd, 0) << err;
  ASSERT_TRUE(send_all(fd, "{\"cmd\":\"status\",\"id\":1}\nnot json\n{\"cmd\":\"members\",\"id\":3}\n"));
  std::string buf, line;
  for (const int id : {1, 0, 3}) {
    ASSERT_TRUE(read_line(fd, buf, line, 5000));
    const json j = json::parse(line);
    if (id == 0) {
      EXPECT_FALSE(j.value("ok", true));
    } else {
      EXPECT_TRUE(j.value("ok", false)) << j.dump();
      EXPECT_EQ(j["id"], id);
    }
  }
  ::close(fd);
  // A client that connects and goes away without a word harms nobody.
  for (int i = 0; i < 20; ++i) {
    const int f = connect_unix(sock, err);
    ASSERT_GE(f, 0) << err;
    ::close(f);
  }
  EXPECT_TRUE(call({{"cmd", "status"}}).value("ok", false));
}

TEST_F(control_plane, operator_socket_is_0660_and_refuses_a_uid_not_allowed) {
  struct stat sb{};
  ASSERT_EQ(::stat(broker.operator_socket().c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0660u);
  // Let group root reach the socket, then connect as uid 65534 with gid 0:
  // the file mode lets it in, SO_PEERCRED must not (allowed_uids = [0],
  // allowed_gids = []).
  const std::string dir = broker.operator_socket().substr(0, broker.operator_socket().rfind('/'));
  ASSERT_EQ(::chmod(dir.c_str(), 0750), 0);
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    const gid_t g = 0;
    if (::setgroups(1, &g) != 0 || ::setgid(0) != 0 || ::setuid(65534) != 0) ::_exit(10);
    std::string e;
    const std::string r = operator_call_raw(broker.operator_socket(), "{\"cmd\":\"status\"}\n", e);
    const std::string out = r.empty() ? "ERR " + e : r;
    (void)!::write(pipefd[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child could not drop privileges";
  ASSERT_FALSE(out.rfind("ERR ", 0) == 0) << out;
  const json j = json::parse(out);
  EXPECT_FALSE(j.value("ok", true));
  EXPECT_NE(j.value("error", "").find("not allowed: uid 65534"), std::string::npos) << j.dump();
  // And root still gets in.
  EXPECT_TRUE(call({{"cmd", "status"}}).value("ok", false));
}

TEST_F(control_plane, reload_adds_a_domain_live_and_an_invalid_file_keeps_the_old_config) {
  auto c = connect_client(broker.address());
  const auto before = c->open_queue("live/q", writer());
  ASSERT_FALSE(before.ok());
  EXPECT_NE(client::describe(before.error()).find("unknown_domain"), std::string::npos)
      << client::describe(before.error());

  std::string original;
  {
    std::ifstream in(broker.config_path());
    std::stringstream ss;
    ss << in.rdbuf();
    original = ss.str();
  }
  {
    std::ofstream out(broker.config_path(), std::ios::app);
    out << "\n[[domain]]\nname = \"live\"\nmode = \"priority\"\n";
  }
  const json r = call({{"cmd", "reload"}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump() << control.output();
  EXPECT_EQ(r["added"], json::array({"live"})) << r.dump();
  auto wq = c->open_queue("live/q", writer());
  ASSERT_TRUE(wq.ok()) << client::describe(wq.error());
  int acks = 0;
  c->on_ack([&](const client::ack& a) { acks += a.status == wire::status::ok; });
  ASSERT_TRUE(c->post(*wq, wire::as_bytes(std::string("hello"))).ok());
  ASSERT_TRUE(poll_until({c.get()}, [&] { return acks == 1; }));

  // A broken file is refused with the reason; everything keeps working.
  {
    std::ofstream out(broker.config_path(), std::ios::trunc);
    out << original << "\n[[domain]]\nname = \"broken\"\nmode = \"sideways\"\n";
  }
  const json bad = call({{"cmd", "reload"}});
  EXPECT_FALSE(bad.value("ok", true));
  EXPECT_NE(bad.value("error", "").find("sideways"), std::string::npos) << bad.dump();
  EXPECT_NE(bad.value("error", "").find("kept"), std::string::npos) << bad.dump();
  std::string out;
  EXPECT_EQ(ctl({"reload"}, out), 1) << out;
  EXPECT_NE(out.find("sideways"), std::string::npos) << out;
  const json doms = call({{"cmd", "domains"}});
  std::set<std::string> names;
  for (const auto& d : doms["domains"]) names.insert(d["name"].get<std::string>());
  EXPECT_TRUE(names.count("live")) << doms.dump();
  EXPECT_FALSE(names.count("broken")) << doms.dump();
  ASSERT_TRUE(c->post(*wq, wire::as_bytes(std::string("again"))).ok());
  ASSERT_TRUE(poll_until({c.get()}, [&] { return acks == 2; }));
  const json stats = call({{"cmd", "stats"}});
  EXPECT_EQ(stats["control"]["reloads_ok"], 1);
  EXPECT_EQ(stats["control"]["reloads_refused"], 2);
}

TEST_F(control_plane, sluicectl_renders_tables_json_and_exit_codes) {
  auto p = connect_client(broker.address());
  int acks = 0;
  p->on_ack([&](const client::ack& a) { acks += a.status == wire::status::ok; });
  auto wq = *p->open_queue("fan/ctl", writer());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p->post(wq, wire::as_bytes(std::string("c"))).ok());
  ASSERT_TRUE(poll_until({p.get()}, [&] { return acks == 5; }));
  ASSERT_TRUE(eventually([&] { return !queue_row(broker.operator_socket(), "fan/ctl").is_null(); }));

  std::string out;
  EXPECT_EQ(ctl({"status"}, out), 0) << out;
  EXPECT_NE(out.find(std::to_string(broker.pid())), std::string::npos) << out;
  EXPECT_EQ(ctl({"queues"}, out), 0) << out;
  EXPECT_NE(out.find("fan/ctl"), std::string::npos) << out;
  EXPECT_EQ(ctl({"--json", "queues", "info", "fan/ctl"}, out), 0) << out;
  const json j = json::parse(out);
  EXPECT_EQ(j["queue"]["messages"], 5) << out;
  for (const char* cmd : {"members", "partitions", "domains", "sessions", "stats"}) {
    EXPECT_EQ(ctl({cmd}, out), 0) << cmd << ": " << out;
    EXPECT_FALSE(out.empty()) << cmd;
  }
  EXPECT_EQ(ctl({"top", "--iterations", "2", "--interval", "0.2"}, out), 0) << out;
  EXPECT_NE(out.find("fan/ctl"), std::string::npos) << out;
  EXPECT_EQ(ctl({"queues", "purge", "fan/ctl"}, out), 0) << out;
  // Errors: refused request (1), bad arguments (2), nobody listening (3).
  EXPECT_EQ(ctl({"queues", "info", "fan/none"}, out), 1) << out;
  EXPECT_NE(out.find("fan/none"), std::string::npos) << out;
  EXPECT_EQ(ctl({"queues", "info"}, out), 2) << out;
  EXPECT_EQ(run_command(binary_path("tools/sluicectl"), {"--socket", "/nonexistent/control.sock", "status"}, out), 3)
      << out;
  EXPECT_NE(out.find("not reachable"), std::string::npos) << out;
}

TEST_F(control_plane, control_restarts_and_stops_while_traffic_flows_without_stalling_shards) {
  traffic t(broker.address(), "prio/flow");
  ASSERT_TRUE(eventually([&] { return t.acks() > 1000 || t.failed(); })) << t.error();
  // sluice-control dies and comes back: traffic goes on throughout.
  control.kill9();
  std::uint64_t at = t.acks();
  ASSERT_TRUE(eventually([&] { return t.acks() > at + 1000 || t.failed(); })) << t.error();
  ASSERT_TRUE(control.start()) << control.error();
  ASSERT_TRUE(eventually([&] { return call({{"cmd", "status"}}).value("broker_connected", false); }));
  // Frozen with its channel open (SIGSTOP): the broker's service thread may
  // wait on it, the shards must not.
  ASSERT_EQ(::kill(control.pid(), SIGSTOP), 0);
  at = t.acks();
  const bool flowed = eventually([&] { return t.acks() > at + 5000 || t.failed(); }, 20);
  ::kill(control.pid(), SIGCONT);
  EXPECT_TRUE(flowed) << "traffic stalled while sluice-control was stopped: " << t.error();
  ASSERT_TRUE(eventually([&] { return call({{"cmd", "status"}}).value("broker_connected", false); }))
      << control.output();
  const json q = call({{"cmd", "queue_info"}, {"uri", "prio/flow"}});
  EXPECT_TRUE(eventually([&] {
    return call({{"cmd", "queue_info"}, {"uri", "prio/flow"}}).value("ok", false);
  })) << q.dump();
  t.stop();
  EXPECT_FALSE(t.failed()) << t.error();
  EXPECT_EQ(t.bad_acks(), 0u);
  EXPECT_GT(t.delivered(), 0u);
}

TEST_F(control_plane, broker_restart_is_noticed_and_the_control_resynchronises_it) {
  // A domain added by reload lives in sluice-control's config; a restarted
  // broker gets it pushed again (broker_process rewrites the file on start,
  // without it, so only the resync can bring it back).
  {
    std::ofstream out(broker.config_path(), std::ios::app);
    out << "\n[[domain]]\nname = \"pushed\"\nmode = \"priority\"\n";
  }
  ASSERT_TRUE(call({{"cmd", "reload"}}).value("ok", false));
  const auto resyncs = call({{"cmd", "stats"}})["control"]["broker_resyncs"].get<std::uint64_t>();
  const pid_t old_pid = broker.pid();
  broker.kill9();
  ASSERT_TRUE(eventually([&] { return !call({{"cmd", "status"}}).value("broker_connected", true); }));
  const json down = call({{"cmd", "status"}});
  EXPECT_TRUE(down.contains("broker_error")) << down.dump();
  EXPECT_FALSE(call({{"cmd", "queues"}}).value("ok", true)) << "stale figures served after the broker died";

  ASSERT_TRUE(broker.start()) << broker.error();
  ASSERT_TRUE(eventually([&] {
    const json s = call({{"cmd", "status"}});
    return s.value("broker_connected", false) && s["broker"]["pid"] != old_pid;
  })) << control.output();
  ASSERT_TRUE(eventually([&] {
    return call({{"cmd", "stats"}})["control"]["broker_resyncs"].get<std::uint64_t>() > resyncs;
  }));
  traffic t(broker.address(), "pushed/q");
  EXPECT_TRUE(eventually([&] { return t.acks() > 500 || t.failed(); })) << t.error();
  t.stop();
  EXPECT_FALSE(t.failed()) << t.error() << "\n" << control.output();
}

TEST(control_plane_order, control_first_then_broker) {
  broker_process broker;
  ASSERT_TRUE(broker.start()) << broker.error();  // writes the config file
  ASSERT_EQ(broker.stop(), 0);
  control_process control(broker.config_path());
  ASSERT_TRUE(control.start()) << control.error();
  const json s = operator_call(broker.operator_socket(), {{"cmd", "status"}});
  ASSERT_TRUE(s.value("ok", false)) << s.dump();
  EXPECT_FALSE(s["broker_connected"].get<bool>());
  EXPECT_NE(s.value("broker_error", "").find("broker.sock"), std::string::npos) << s.dump();
  std::string out;
  EXPECT_EQ(run_command(binary_path("tools/sluicectl"), {"--socket", broker.operator_socket(), "queues"}, out), 1)
      << out;
  ASSERT_TRUE(broker.start()) << broker.error();
  EXPECT_TRUE(eventually([&] {
    return operator_call(broker.operator_socket(), {{"cmd", "status"}}).value("broker_connected", false);
  })) << control.output();
  EXPECT_EQ(control.stop(), 0) << control.output();
  EXPECT_EQ(broker.stop(), 0) << broker.output();
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

TEST(broker_fencing, a_broker_in_etcd_mode_serves_nothing_until_given_its_partitions) {
  broker_process broker(with_extra("[cluster]\nmembership = \"etcd\"\netcd_endpoints = [\"http://127.0.0.1:9\"]\n"));
  ASSERT_TRUE(broker.start()) << broker.error();
  auto c = connect_client(broker.address());
  ASSERT_TRUE(c);
  const auto refused = c->open_queue("prio/fenced", writer());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(client::describe(refused.error()).find("not_primary"), std::string::npos)
      << client::describe(refused.error());
  // What sluice-control pushes once membership says this node is primary.
  const json r = operator_call(broker.broker_socket(), {{"cmd", "partitions"}, {"serving", {true, true}}});
  ASSERT_TRUE(r.value("ok", false)) << r.dump();
  const auto ok = c->open_queue("prio/fenced", writer());
  EXPECT_TRUE(ok.ok()) << client::describe(ok.error());
  EXPECT_EQ(broker.stop(), 0) << broker.output();
}

}  // namespace
}  // namespace sluice::testing
