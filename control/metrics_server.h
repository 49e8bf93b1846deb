// control/metrics_server.h — Prometheus /metrics over HTTP.
//
// libmicrohttpd with one internal event-loop thread (epoll): an idle
// keep-alive connection or a client that sends its headers slowly costs a
// file descriptor and a few hundred bytes, never a worker, so no number of
// them holds up a scrape. Connections idle for 10 s are closed; at most
// 1,024 are held (past that a new one is refused at once). Each scrape
// renders control_node::render_metrics() (the latest sample, under the
// node's lock) on that thread. GET /metrics answers 200, any other path 404,
// any other method 405.
#pragma once

#include <string>

struct MHD_Daemon;

namespace sluice::control {

class control_node;

class metrics_server {
 public:
  metrics_server(control_node& node, std::string listen);
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  // Listens on `listen` ("IP:PORT", IPv6 as "[::1]:PORT") and starts the
  // thread; false with the reason in `err`.
  bool start(std::string& err);
  void stop();

  control_node& node() noexcept { return _node; }

  static constexpr unsigned k_connections_max = 1024;
  static constexpr unsigned k_idle_timeout_s = 10;

 private:
  control_node& _node;
  std::string _listen;
  MHD_Daemon* _daemon = nullptr;
};

}  // namespace sluice::control
