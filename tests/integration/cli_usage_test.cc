// The command lines' answers to a mistyped command (issue 20.3): named as
// unknown, with the nearest valid command, exit status 2, and no broker or
// sluice-control contacted.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/broker_process.h"
#include "tests/support/free_port.h"
#include "tests/support/test_network.h"

namespace sluice::testing {
namespace {

struct answer {
  int rc;
  std::string out;
};

answer run(const std::string& bin, const std::string& args) {
  answer a{};
  a.rc = run_command(binary_path(bin.c_str()) + " " + args, &a.out);
  return a;
}

TEST(cli_usage, sluicectl_names_an_unknown_command_and_the_nearest_one) {
  if (::access(binary_path("tools/sluicectl").c_str(), X_OK) != 0) GTEST_SKIP() << "sluicectl not built here";
  auto a = run("tools/sluicectl", "statsu");
  EXPECT_EQ(a.rc, 2);
  EXPECT_NE(a.out.find("unknown command \"statsu\"; did you mean \"stats\"?"), std::string::npos) << a.out;
  a = run("tools/sluicectl", "--socket /nonexistent qeueus");  // an option's value is not the command
  EXPECT_EQ(a.rc, 2);
  EXPECT_NE(a.out.find("unknown command \"qeueus\"; did you mean \"queues\"?"), std::string::npos) << a.out;
  a = run("tools/sluicectl", "frobnicate");  // nothing close: no guess
  EXPECT_EQ(a.rc, 2);
  EXPECT_NE(a.out.find("unknown command \"frobnicate\" (--help lists the commands)"), std::string::npos) << a.out;
  a = run("tools/sluicectl", "--socket /nonexistent stats");  // a valid one goes on to the socket
  EXPECT_EQ(a.out.find("unknown command"), std::string::npos) << a.out;
}

TEST(cli_usage, sluice_names_an_unknown_command_and_the_nearest_one) {
  auto a = run("sluice", "pbu prio/q hello");
  EXPECT_EQ(a.rc, 2);
  EXPECT_NE(a.out.find("sluice: unknown command \"pbu\"; did you mean \"pub\"?"), std::string::npos) << a.out;
  a = run("sluice", "");
  EXPECT_EQ(a.rc, 2);
  EXPECT_NE(a.out.find("A subcommand is required"), std::string::npos) << a.out;
}

// Issue 20.4 (second half): no broker there, the CLI says it is still trying
// instead of waiting the handshake timeout out in silence.
TEST(cli_usage, sluice_says_it_is_still_trying_when_no_broker_answers) {
  const std::uint16_t port = free_loopback_port(SOCK_DGRAM);  // nothing listens there
  ASSERT_NE(port, 0);
  const auto a = run("sluice", "pub --broker 127.0.0.1:" + std::to_string(port) + " prio/q hello");
  EXPECT_EQ(a.rc, 1);
  EXPECT_NE(a.out.find("no answer yet from 127.0.0.1:" + std::to_string(port) + "; still trying"), std::string::npos)
      << a.out;
  EXPECT_NE(a.out.find("cannot connect to broker"), std::string::npos) << a.out;
}

}  // namespace
}  // namespace sluice::testing
