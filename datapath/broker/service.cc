#include "datapath/broker/service.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/assert.h"
#include "common/unix_socket.h"
#include "datapath/xdp/xdp_steering.h"

namespace sluice::broker {

using json = nlohmann::json;

namespace {

constexpr std::size_t k_line_max = 4u << 20;  // a reload carries the whole config file

json error_reply(const std::string& why) { return json{{"ok", false}, {"error", why}}; }

}  // namespace

broker_service::broker_service(const broker_config& cfg, std::vector<std::unique_ptr<shard>>& shards,
                               const xdp::xdp_steering* steering)
    : _cfg(cfg), _shards(shards), _steering(steering),
      _current(std::shared_ptr<const broker_config>{}, &cfg),  // not owned: main's config outlives the service
      _serving(shards.size(), cfg.cluster.membership != membership_kind::etcd) {
  _started_unix = static_cast<std::int64_t>(std::time(nullptr));
}

broker_service::~broker_service() { stop(); }

bool broker_service::start(std::string& err) {
  _listen_fd = listen_unix(_cfg.control.broker_socket, err);
  if (_listen_fd < 0) {
    err = "control.broker_socket: " + err;
    return false;
  }
  _wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  _thread = std::thread([this] { run(); });
  return true;
}

void broker_service::stop() {
  if (_thread.joinable()) {
    _stop.store(true);
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(_wake_fd, &one, sizeof one);
    _thread.join();
  }
  if (_listen_fd >= 0) {
    ::close(_listen_fd);
    ::unlink(_cfg.control.broker_socket.c_str());
    _listen_fd = -1;
  }
  if (_wake_fd >= 0) ::close(_wake_fd);
  _wake_fd = -1;
}

void broker_service::run() {
  int conn = -1;
  std::string buf;
  while (!_stop.load()) {
    pollfd fds[3] = {{_wake_fd, POLLIN, 0}, {_listen_fd, POLLIN, 0}, {conn, POLLIN, 0}};
    if (::poll(fds, conn >= 0 ? 3 : 2, 1000) <= 0) continue;
    if (fds[1].revents & POLLIN) {
      const int c = ::accept4(_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {  // sluice-control (re)connected: the newest connection wins
        if (conn >= 0) ::close(conn);
        conn = c;
        buf.clear();
        continue;
      }
    }
    if (conn < 0 || (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char chunk[65536];
    const ssize_t n = ::recv(conn, chunk, sizeof chunk, 0);
    if (n <= 0) {
      ::close(conn);
      conn = -1;
      continue;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
    for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
      const std::string reply = handle(buf.substr(0, nl)) + "\n";
      buf.erase(0, nl + 1);
      if (!send_all(conn, reply)) break;
    }
    if (buf.size() > k_line_max) {  // not a line protocol peer: drop it
      ::close(conn);
      conn = -1;
      buf.clear();
    }
  }
  if (conn >= 0) ::close(conn);
}

std::string broker_service::handle(const std::string& line) {
  json reply;
  json id = nullptr;
  try {
    const json req = json::parse(line);
    if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
      reply = error_reply("a request is a JSON object with a string \"cmd\"");
    } else {
      id = req.value("id", json(nullptr));
      reply = dispatch(req);
    }
  } catch (const json::exception& e) {
    reply = error_reply(std::string("bad request: ") + e.what());
  } catch (const std::exception& e) {
    reply = error_reply(e.what());
  }
  reply["id"] = id;
  return reply.dump();
}

json broker_service::dispatch(const json& req) {
  const std::string cmd = req["cmd"];
  if (cmd == "hello") return hello();
  if (cmd == "stats") return stats();
  if (cmd == "queues") return queues();
  if (cmd == "sessions") return sessions();
  if (cmd == "queue_purge") return purge_or_delete(req, false);
  if (cmd == "queue_delete") return purge_or_delete(req, true);
  if (cmd == "session_close") return close_session(req);
  if (cmd == "reload") return reload(req);
  if (cmd == "partitions") return partitions(req);
  if (cmd == "drain") return drain(req);
  return error_reply("unknown command \"" + cmd +
                     "\" (hello, stats, queues, sessions, queue_purge, queue_delete, session_close, reload, "
                     "partitions, drain)");
}

std::vector<std::shared_ptr<shard_query>> broker_service::submit(query_kind kind,
                                                                 const std::function<void(shard_query&)>& fill,
                                                                 int only) {
  std::vector<std::uint32_t> targets;
  for (std::uint32_t i = 0; i < _shards.size(); ++i) {
    if (only < 0 || static_cast<std::uint32_t>(only) == i) targets.push_back(i);
  }
  // All or nothing: a change handed to some shards and not to others would
  // leave them disagreeing. The service thread is each ring's only
  // producer, so room seen here is still there when it pushes.
  const auto room_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (const auto i : targets) {
    while (_shards[i]->query_room() == 0) {
      if (std::chrono::steady_clock::now() > room_deadline) {
        throw std::runtime_error("shard " + std::to_string(i) + " has " + std::to_string(k_query_ring_sz) +
                                 " requests waiting and takes no more (busy or not running); nothing was changed");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::vector<std::shared_ptr<shard_query>> qs;
  for (const auto i : targets) {
    auto q = std::make_shared<shard_query>(kind);
    q->shard = i;
    if (fill) fill(*q);
    q->submitted_ns = monotonic_now_ns();
    const bool pushed = _shards[i]->submit(q);
    SLUICE_ASSERT(pushed, "a query ring with room refused a push");
    qs.push_back(std::move(q));
  }
  return qs;
}

std::vector<std::uint32_t> broker_service::await(const std::vector<std::shared_ptr<shard_query>>& qs) const {
  const auto deadline = std::chrono::steady_clock::now() + k_answer_wait;
  std::vector<std::uint32_t> late;
  for (const auto& q : qs) {
    while (!q->done.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (!q->done.load(std::memory_order_acquire)) late.push_back(q->shard);
  }
  return late;
}

std::vector<std::shared_ptr<shard_query>> broker_service::ask(query_kind kind,
                                                              const std::function<void(shard_query&)>& fill,
                                                              int only) {
  auto qs = submit(kind, fill, only);
  if (const auto late = await(qs); !late.empty()) {
    throw std::runtime_error("shard " + std::to_string(late.front()) + " did not answer within " +
                             std::to_string(k_answer_wait.count()) +
                             " ms (busy or not running); the request stays queued on it and is carried out when it "
                             "gets there");
  }
  for (const auto& q : qs) {
    if (!q->error.empty()) throw std::runtime_error(q->error);
  }
  return qs;
}

}  // namespace sluice::broker
