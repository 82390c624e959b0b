#include "doit/output.h"

#include <unistd.h>
#include <cerrno>

#include "doit/status_line.h"

namespace doit {
namespace {
ConsoleOverlay* g_overlay = nullptr;
}  // namespace

void Output::set_overlay(ConsoleOverlay* overlay) { g_overlay = overlay; }

Output::Output(int fd, bool owns) : fd_(fd), owns_(owns) {}

Output::~Output() {
  flush();
  if (owns_) ::close(fd_);
}

void Output::write(std::string_view text) {
  buffer_.append(text);
  if (buffer_.size() >= kFlushThreshold) flush();
}

void Output::flush() {
  if (buffer_.empty()) return;
  ConsoleOverlay* overlay =
      (fd_ == STDOUT_FILENO || fd_ == STDERR_FILENO) && !owns_ ? g_overlay : nullptr;
  if (overlay != nullptr) overlay->before_write();
  const bool line_ended = buffer_.back() == '\n';
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EPIPE or a closed stream: drop what cannot be written
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  if (overlay != nullptr) overlay->after_write(line_ended);
}

Output& Output::out() {
  static Output instance(STDOUT_FILENO);
  return instance;
}

Output& Output::err() {
  static Output instance(STDERR_FILENO);
  return instance;
}

void flush_console() {
  Output::out().flush();
  Output::err().flush();
}

namespace {

/// Scans `text` as UTF-8; with `out`, writes it with each maximal invalid
/// sequence replaced by U+FFFD. Returns whether it was valid.
bool scan_utf8(std::string_view text, std::string* out) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  bool valid = true;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (out != nullptr) *out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    }
    if (len == 0) {
      valid = false;
      if (out == nullptr) return false;
      *out += kReplacement;
      ++i;
      continue;
    }
    size_t j = 1;
    for (; j < len && i + j < n; ++j) {
      const unsigned char cc = static_cast<unsigned char>(text[i + j]);
      const unsigned char min = (j == 1) ? lo : 0x80, max = (j == 1) ? hi : 0xBF;
      if (cc < min || cc > max) break;
    }
    if (j == len) {
      if (out != nullptr) out->append(text.substr(i, len));
      i += len;
    } else {
      valid = false;
      if (out == nullptr) return false;
      *out += kReplacement;  // one replacement per maximal invalid prefix
      i += j;
    }
  }
  return valid;
}

}  // namespace

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  scan_utf8(text, &out);
  return out;
}

void sanitize_utf8_in_place(std::string& text) {
  if (scan_utf8(text, nullptr)) return;  // valid: nothing to copy
  text = sanitize_utf8(std::string_view(text));
}

}  // namespace doit
