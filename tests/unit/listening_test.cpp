#include "doit/listening.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace doit {
namespace {

/// A child in a process group of its own that runs `prepare`, says so
/// through a pipe, and then waits to be killed.
class GroupChild {
 public:
  explicit GroupChild(const std::function<void()>& prepare) {
    int ready[2];
    EXPECT_EQ(::pipe(ready), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::close(ready[0]);
      prepare();
      const char byte = 1;
      if (::write(ready[1], &byte, 1) != 1) ::_exit(1);
      while (true) ::pause();
    }
    ::setpgid(pid_, pid_);  // whichever runs first
    ::close(ready[1]);
    char byte = 0;
    EXPECT_EQ(::read(ready[0], &byte, 1), 1);
    ::close(ready[0]);
  }
  ~GroupChild() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t group() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

void listen_tcp(int family) {
  const int fd = ::socket(family, SOCK_STREAM, 0);
  if (fd < 0) ::_exit(2);
  int bound = -1;
  if (family == AF_INET6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = in6addr_loopback;
    bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  }
  if (bound != 0 || ::listen(fd, 1) != 0) ::_exit(3);
}

TEST(GroupListens, TrueForAGroupWithAListeningTcpSocket) {
  GroupChild child([] { listen_tcp(AF_INET); });
  EXPECT_TRUE(group_listens(child.group()));
}

TEST(GroupListens, TrueForAListeningTcp6Socket) {
  const int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (probe < 0) GTEST_SKIP() << "no IPv6";
  ::close(probe);
  GroupChild child([] { listen_tcp(AF_INET6); });
  EXPECT_TRUE(group_listens(child.group()));
}

TEST(GroupListens, TrueForAListeningUnixSocket) {
  char dir[] = "/tmp/doit-listening-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/s";
  {
    GroupChild child([&path] {
      const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
          ::listen(fd, 1) != 0) {
        ::_exit(3);
      }
    });
    EXPECT_TRUE(group_listens(child.group()));
  }
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST(GroupListens, FalseForAGroupWithoutListeningSocket) {
  GroupChild child([] {
    // A socket that is bound but does not listen, and one that is connected.
    const int bound = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(bound, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(3);
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) ::_exit(4);
  });
  EXPECT_FALSE(group_listens(child.group()));
}

TEST(GroupListens, FalseForAGroupThatDoesNotExist) {
  EXPECT_FALSE(group_listens(std::numeric_limits<pid_t>::max()));
}

}  // namespace
}  // namespace doit
