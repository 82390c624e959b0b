// Buffered writers for stdout, stderr and report files. All console output of
// the process goes through these, so reporter lines and live task output keep
// their order.
#pragma once

#include <string>
#include <string_view>

namespace doit {

class ConsoleOverlay;

class Output {
 public:
  /// Writes to `fd`; `owns` closes it on destruction.
  explicit Output(int fd, bool owns = false);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  void write(std::string_view text);
  /// Writes everything buffered; errors (e.g. EPIPE) are ignored.
  void flush();
  int fd() const { return fd_; }

  /// The process's stdout and stderr.
  static Output& out();
  static Output& err();

  /// A status line kept under what out() and err() write (null: none).
  static void set_overlay(ConsoleOverlay* overlay);

 private:
  static constexpr size_t kFlushThreshold = 64 * 1024;
  int fd_;
  bool owns_;
  std::string buffer_;
};

/// Flushes stdout and stderr (before a child process or Python writes).
void flush_console();

/// `text` with invalid UTF-8 sequences replaced by U+FFFD (as Python's
/// decode(errors='replace')).
std::string sanitize_utf8(std::string_view text);
/// The same in place: no copy when `text` is valid UTF-8 already.
void sanitize_utf8_in_place(std::string& text);

}  // namespace doit
