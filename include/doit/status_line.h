// The live status line of a run on a terminal, ninja style:
//
//   [3/10] compile:main.c, link  2.1s
//
// drawn under the output and redrawn in place as tasks start and end, the
// output of the tasks scrolling above it. Only on a terminal: never when
// stdout is a pipe or a file, nor with NO_COLOR set, TERM=dumb or
// --no-color; what is printed around it is unchanged.
#pragma once

#include <chrono>
#include <set>
#include <string>

namespace doit {

/// Something drawn at the bottom of the console that Output takes down
/// before it writes and puts back after.
class ConsoleOverlay {
 public:
  virtual ~ConsoleOverlay() = default;
  /// Called before Output writes to the console.
  virtual void before_write() = 0;
  /// Called after; `line_ended`: what was written ended with a newline.
  virtual void after_write(bool line_ended) = 0;
};

class StatusLine : public ConsoleOverlay {
 public:
  /// Whether stdout is a terminal that may show one (and `no_color` and
  /// the environment allow it).
  static bool wanted(bool no_color);

  /// Registers with Output; `total`: the tasks the run may check.
  explicit StatusLine(int total);
  /// Takes the line down and unregisters.
  ~StatusLine() override;
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  void started(const std::string& task);
  void finished(const std::string& task, bool failed);
  /// Taken down while a task writes to the terminal itself (output not
  /// captured), put back after.
  void suspend(bool on);

  void before_write() override;
  void after_write(bool line_ended) override;

 private:
  void draw();
  void erase();
  std::string text() const;

  int total_;
  int done_ = 0;
  int failed_ = 0;
  std::set<std::string> running_;
  bool shown_ = false;
  bool suspended_ = false;
  bool at_line_start_ = true;
  bool drawing_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace doit
