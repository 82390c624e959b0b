#include "doit/status_line.h"

#include <sys/ioctl.h>
#include <unistd.h>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "doit/output.h"

namespace doit {
namespace {

constexpr std::string_view kEraseLine = "\r\x1b[K";
constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kReset = "\x1b[0m";
constexpr int kDefaultWidth = 80;
constexpr double kMillisPerSecond = 1000.0;

void write_terminal(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

int terminal_width() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return kDefaultWidth;
}

}  // namespace

bool StatusLine::wanted(bool no_color) {
  if (no_color || ::isatty(STDOUT_FILENO) == 0) return false;
  if (const char* value = std::getenv("NO_COLOR"); value != nullptr && *value != '\0') return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::strcmp(term, "dumb") != 0;
}

StatusLine::StatusLine(int total) : total_(total) { Output::set_overlay(this); }

StatusLine::~StatusLine() {
  Output::set_overlay(nullptr);
  flush_console();
  erase();
}

void StatusLine::started(const std::string& task) {
  running_.insert(task);
  draw();
}

void StatusLine::finished(const std::string& task, bool failed) {
  running_.erase(task);
  ++done_;
  if (failed) ++failed_;
  draw();
}

void StatusLine::suspend(bool on) {
  suspended_ = on;
  if (on) {
    erase();
  } else {
    draw();
  }
}

void StatusLine::before_write() { erase(); }

void StatusLine::after_write(bool line_ended) {
  at_line_start_ = line_ended;
  draw();
}

void StatusLine::erase() {
  if (!shown_) return;
  write_terminal(kEraseLine);
  shown_ = false;
}

void StatusLine::draw() {
  if (suspended_ || drawing_) return;
  // Whatever Output holds goes first, above the line (its flush takes the
  // line down and tells whether the output ended a line).
  drawing_ = true;
  flush_console();
  drawing_ = false;
  if (!at_line_start_) return;
  write_terminal(std::string(kEraseLine) + text());
  shown_ = true;
}

std::string StatusLine::text() const {
  const double seconds = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - started_)
                                                 .count()) /
                         kMillisPerSecond;
  std::string names;
  for (const std::string& name : running_) names += (names.empty() ? "" : ", ") + name;
  const std::string counts = fmt::format("[{}/{}]", done_, total_);
  const std::string failed = failed_ > 0 ? fmt::format(" {} failed", failed_) : "";
  const std::string time = fmt::format("  {:.1f}s", seconds);
  // Fit the terminal: the names give way first.
  const size_t width = static_cast<size_t>(terminal_width()) - 1;
  const size_t fixed = counts.size() + failed.size() + time.size() + 1;
  if (fixed + names.size() > width) {
    names = fixed + 3 < width ? names.substr(0, width - fixed - 3) + "..." : "";
  }
  std::string line = counts;
  if (!failed.empty()) line += std::string(kRed) + failed + std::string(kReset);
  if (!names.empty()) line += " " + names;
  return line + time;
}

}  // namespace doit
