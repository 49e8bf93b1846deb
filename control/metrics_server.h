// control/metrics_server.h — Prometheus /metrics over HTTP (cpp-httplib).
// Renders control_node::render_metrics() on its own thread.
#pragma once

#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace sluice::control {

class control_node;

class metrics_server {
 public:
  metrics_server(control_node& node, std::string listen);
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  bool start(std::string& err);
  void stop();

 private:
  control_node& _node;
  std::string _listen;
  std::unique_ptr<httplib::Server> _http;
  std::thread _thread;
};

}  // namespace sluice::control
