// tests/support/control_fixture.h — a node as the control-plane tests use
// it: a real sluice-broker and a real sluice-control on one config file,
// started in SetUp (the control connected to the broker) and stopped by PID
// in TearDown; requests go to the operator socket.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/control_process.h"
#include "tests/support/free_port.h"

namespace sluice::testing {

// The queue row for `uri` in the latest `queues` reply, or null.
inline nlohmann::json queue_row(const std::string& sock, const std::string& uri) {
  const nlohmann::json r = operator_call(sock, {{"cmd", "queues"}});
  if (!r.value("ok", false)) return nullptr;
  for (const auto& q : r["queues"]) {
    if (q["uri"] == uri) return q;
  }
  return nullptr;
}

class control_plane : public ::testing::Test {
 protected:
  explicit control_plane(broker_options opts = {}) : broker(opts), control(broker.config_path()) {}
  void SetUp() override {
    ASSERT_TRUE(broker.start()) << broker.error();
    ASSERT_TRUE(control.start()) << control.error();
    ASSERT_TRUE(eventually([&] { return call({{"cmd", "status"}}).value("broker_connected", false); }))
        << control.output();
  }
  void TearDown() override {
    EXPECT_EQ(control.stop(), 0) << control.output();
    EXPECT_EQ(broker.stop(), 0) << broker.output();
  }
  using json = nlohmann::json;
  json call(const json& req, int timeout_ms = 10000) { return operator_call(broker.operator_socket(), req, timeout_ms); }
  // sluicectl with the test's operator socket; returns the exit status.
  int ctl(std::vector<std::string> args, std::string& out) {
    args.insert(args.begin(), {"--socket", broker.operator_socket()});
    return run_command(binary_path("tools/sluicectl"), args, out);
  }

  broker_process broker;
  control_process control;
};

}  // namespace sluice::testing
