// datapath/transport/sim_pair.h — two endpoints over a sim_network (tests, benches).
//
// A is the initiator, B the responder; each has a traffic_app. step() lets
// both send what they may, polls both, then advances the manual clock.
#pragma once

#include <memory>

#include "datapath/transport/endpoint.h"
#include "datapath/transport/sim_link.h"
#include "datapath/transport/test_traffic.h"

namespace sluice::transport::testing {

struct sim_pair {
  sim_pair(const sim_link_config& link, const endpoint_config& cfg_a, const endpoint_config& cfg_b,
           traffic_plan a_to_b, traffic_plan b_to_a)
      : net(clk, link),
        port_a(net.make_port(1000)),
        port_b(net.make_port(2000)),
        app_a(a_to_b, b_to_a),
        app_b(b_to_a, a_to_b),
        a(*port_a, clk, cfg_a, app_a),
        b(*port_b, clk, cfg_b, app_b) {}

  // One step: both sides send what they may, poll, then time moves on.
  void step(time_ns dt) {
    app_a.pump();
    app_b.pump();
    a.poll();
    b.poll();
    clk.advance(dt);
  }

  manual_clock clk;
  sim_network net;
  std::unique_ptr<sim_port> port_a;
  std::unique_ptr<sim_port> port_b;
  traffic_app app_a;
  traffic_app app_b;
  endpoint a;
  endpoint b;
};

}  // namespace sluice::transport::testing
