// The /metrics HTTP endpoint on libmicrohttpd (see metrics_server.h).
#include "control/metrics_server.h"

#include <microhttpd.h>

#include <cstring>

#include "common/net_addr.h"
#include "control/control_node.h"

namespace sluice::control {

namespace {

MHD_Result reply(MHD_Connection* conn, unsigned status, const std::string& body, const char* type) {
  MHD_Response* r = MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  const MHD_Result ok = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ok;
}

MHD_Result on_request(void* cls, MHD_Connection* conn, const char* url, const char* method, const char*,
                      const char*, size_t* upload_sz, void** state) {
  // libmicrohttpd calls once with the headers, then once per piece of a
  // body, then once more with nothing: answer on that last call, after
  // discarding any body (/metrics takes none).
  static int seen;
  if (*state == nullptr) {
    *state = &seen;
    return MHD_YES;
  }
  if (*upload_sz != 0) {
    *upload_sz = 0;
    return MHD_YES;
  }
  auto* self = static_cast<metrics_server*>(cls);
  if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics\n", "text/plain; charset=utf-8");
  }
  if (std::strcmp(url, "/metrics") != 0) {
    return reply(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n", "text/plain; charset=utf-8");
  }
  return reply(conn, MHD_HTTP_OK, self->node().render_metrics(), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

metrics_server::metrics_server(control_node& node, std::string listen) : _node(node), _listen(std::move(listen)) {}

metrics_server::~metrics_server() { stop(); }

bool metrics_server::start(std::string& err) {
  const auto addr = net_addr::parse(_listen);
  if (!addr) {
    err = "control.metrics_listen: \"" + _listen + "\" is not IP:PORT (IPv6 as [::1]:PORT)";
    return false;
  }
  sockaddr_storage ss{};
  (void)addr->to_sockaddr(ss);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
  if (addr->family == AF_INET6) flags |= MHD_USE_IPv6;
  _daemon = MHD_start_daemon(flags, addr->port, nullptr, nullptr, &on_request, this,
                             MHD_OPTION_SOCK_ADDR, reinterpret_cast<const sockaddr*>(&ss),
                             MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(k_idle_timeout_s),
                             MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(k_connections_max),
                             MHD_OPTION_END);
  if (_daemon == nullptr) {
    err = "control.metrics_listen: cannot listen on " + _listen + " (in use, or not an address of this host)";
    return false;
  }
  return true;
}

void metrics_server::stop() {
  if (_daemon != nullptr) MHD_stop_daemon(_daemon);
  _daemon = nullptr;
}

}  // namespace sluice::control
