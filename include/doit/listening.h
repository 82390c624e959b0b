// Whether a process group listens on a socket: how `doit auto` tells that a
// server it started is up (Linux, through /proc).
#pragma once

#include <sys/types.h>

namespace doit {

/// True when a live process of process group `pgid` holds a TCP socket
/// (IPv4 or IPv6) in the listening state, or a listening Unix socket. False
/// when none does, or when /proc cannot be read.
bool group_listens(pid_t pgid);

}  // namespace doit
