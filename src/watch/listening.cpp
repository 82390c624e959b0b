// A socket a process holds is a link "socket:[INODE]" in /proc/PID/fd; the
// kernel's socket tables (/proc/net/tcp, tcp6, unix) give each inode's state.
#include "doit/listening.h"

#include <dirent.h>
#include <unistd.h>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "doit/fs.h"

namespace doit {
namespace {

/// /proc/net/tcp's state column for TCP_LISTEN.
constexpr std::string_view kTcpListen = "0A";
/// /proc/net/unix's flag for a socket that accepts connections (__SO_ACCEPTCON).
constexpr unsigned long kUnixAcceptsConnections = 0x10000;
constexpr size_t kLinkMax = 64;

using Inodes = std::set<unsigned long>;

/// The process group of /proc/PID (-1 for a zombie or a process gone).
long process_group(const std::string& proc_dir) {
  std::string text;
  if (!read_small_file(proc_dir + "/stat", &text)) return -1;
  const size_t end_of_name = text.rfind(')');
  if (end_of_name == std::string::npos || end_of_name + 2 > text.size()) return -1;
  std::istringstream fields(text.substr(end_of_name + 2));
  char state = 0;
  long parent = 0, group = 0;
  fields >> state >> parent >> group;
  return fields && state != 'Z' ? group : -1;
}

void add_socket_inodes(const std::string& proc_dir, Inodes& inodes) {
  const std::string fd_dir = proc_dir + "/fd";
  DIR* fds = ::opendir(fd_dir.c_str());
  if (fds == nullptr) return;
  while (const dirent* entry = ::readdir(fds)) {
    char link[kLinkMax];
    const ssize_t n = ::readlink((fd_dir + "/" + entry->d_name).c_str(), link, sizeof link - 1);
    if (n <= 0) continue;
    link[n] = '\0';
    unsigned long inode = 0;
    if (std::sscanf(link, "socket:[%lu]", &inode) == 1) inodes.insert(inode);
  }
  ::closedir(fds);
}

Inodes socket_inodes_of_group(pid_t pgid) {
  Inodes inodes;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return inodes;
  while (const dirent* entry = ::readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(entry->d_name[0]))) continue;
    const std::string dir = std::string("/proc/") + entry->d_name;
    if (process_group(dir) == pgid) add_socket_inodes(dir, inodes);
  }
  ::closedir(proc);
  return inodes;
}

/// /proc/net/tcp and tcp6: "sl local remote st queues timer retransmits uid
/// timeout inode ...".
bool tcp_listens(const char* table, const Inodes& inodes) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
    unsigned long inode = 0;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
        timeout >> inode;
    if (fields && state == kTcpListen && inodes.contains(inode)) return true;
  }
  return false;
}

/// /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path".
bool unix_listens(const Inodes& inodes) {
  std::ifstream in("/proc/net/unix");
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, refs, protocol, type, state;
    unsigned long flags = 0, inode = 0;
    fields >> slot >> refs >> protocol >> std::hex >> flags >> std::dec >> type >> state >> inode;
    if (fields && (flags & kUnixAcceptsConnections) != 0 && inodes.contains(inode)) return true;
  }
  return false;
}

}  // namespace

bool group_listens(pid_t pgid) {
  const Inodes inodes = socket_inodes_of_group(pgid);
  if (inodes.empty()) return false;
  return tcp_listens("/proc/net/tcp", inodes) || tcp_listens("/proc/net/tcp6", inodes) ||
         unix_listens(inodes);
}

}  // namespace doit
