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

// Issue 20.4: a socket that is open but never answers (the kernel sends no
// "port unreachable" for it), so the CLI says it is still trying instead of
// waiting the handshake timeout out in silence.
TEST(cli_usage, sluice_says_it_is_still_trying_when_no_broker_answers) {
  const int silent = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in a4{};
  a4.sin_family = AF_INET;
  a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a4;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&a4), sizeof a4), 0);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&a4), &len), 0);
  const std::string port = std::to_string(ntohs(a4.sin_port));
  const auto a = run("sluice", "pub --broker 127.0.0.1:" + port + " prio/q hello");
  ::close(silent);
  EXPECT_EQ(a.rc, 1);
  EXPECT_NE(a.out.find("no answer yet from 127.0.0.1:" + port + "; still trying"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("cannot connect to broker"), std::string::npos) << a.out;
}

// Issue 20.4: nothing listens on the port, and the kernel says so (ICMP
// port unreachable, as on loopback and most LANs): the CLI fails at once and
// says that nothing listens there.
TEST(cli_usage, sluice_says_nothing_listens_when_the_port_is_unreachable) {
  const std::uint16_t port = free_loopback_port(SOCK_DGRAM);  // bound, then closed: nothing listens
  ASSERT_NE(port, 0);
  const auto a = run("sluice", "pub --broker 127.0.0.1:" + std::to_string(port) + " prio/q hello");
  EXPECT_EQ(a.rc, 1);
  EXPECT_NE(a.out.find("nothing listens there"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("--broker IP:PORT"), std::string::npos) << a.out;
}

}  // namespace
}  // namespace sluice::testing
