// common/unix_socket.h — the few Unix-socket calls the control plane needs.
//
// The broker's channel to sluice-control and sluice-control's operator
// socket are local stream sockets carrying one JSON object per line. Any
// thread; blocking calls, never used on a shard thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace sluice {

// Creates the parent directory if missing, replaces a stale socket file (no
// one answers on it) and refuses a live one (another process owns it), binds,
// sets `mode` and listens. Returns the fd, or -1 with `err`.
int listen_unix(const std::string& path, std::string& err, mode_t mode = 0660);

// Connects to `path`; -1 with `err` ("connection refused" and the like).
int connect_unix(const std::string& path, std::string& err);

// Writes all of `data` (blocking, retrying on EINTR); false on error.
bool send_all(int fd, std::string_view data);

// Reads one '\n'-terminated line into `line` (without the newline), keeping
// surplus bytes in `buf` for the next call. False on EOF, error, timeout
// (`timeout_ms`, -1 = none) or a line longer than `max`.
bool read_line(int fd, std::string& buf, std::string& line, int timeout_ms, std::size_t max = 16u << 20);

// The peer's uid and gid (SO_PEERCRED); false if unavailable.
bool peer_credentials(int fd, uid_t& uid, gid_t& gid);

}  // namespace sluice
