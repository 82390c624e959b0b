// A task as the core knows it: plain data. Python callables (python-actions,
// uptodate callables, title functions) sit behind the small interfaces below,
// implemented by the embedding; the core never sees a Python object.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "doit/json.h"
#include "doit/path_list.h"

namespace doit {

struct Task;

/// Where an action's output goes while it runs (already filtered by verbosity).
class LiveOutput {
 public:
  virtual ~LiveOutput() = default;
  virtual void out(std::string_view text) = 0;
  virtual void err(std::string_view text) = 0;
};

/// Everything an action can see when it runs.
struct ActionEnv {
  const Task& task;
  /// file_deps found changed by the up-to-date check (declaration order).
  const std::vector<std::string>& changed;
  /// Effective verbosity (0, 1, 2).
  int verbosity = 1;
  /// Live stdout echo, or null when stdout is only captured.
  LiveOutput* live_out = nullptr;
  /// Live stderr echo, or null when stderr is only captured.
  LiveOutput* live_err = nullptr;
  /// Set only for `clean` actions: passed as `dryrun=` to callables that
  /// take that parameter (CallableAction::takes_dryrun).
  std::optional<bool> dryrun;
};

/// How one action ended.
struct ActionOutcome {
  enum class Status { kSuccess, kFailed, kError };
  Status status = Status::kSuccess;
  /// Failure text, e.g. "Command failed: 'x' returned 3" (with traceback if any).
  std::string message;
  std::string out;
  std::string err;
  /// The action's result (a string or a dict), if it produced one.
  std::optional<Json> result;
  /// Values the action returned (a dict), if any.
  std::optional<Json> values;
  /// False when the failure asked not to be reported (report=False).
  bool report = true;
};

/// An action definition that turns out invalid when run; the run is aborted
/// ("Execution aborted.", exit 2).
class ActionDefinitionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A python-action (or any action implemented outside the core).
class CallableAction {
 public:
  virtual ~CallableAction() = default;
  /// Runs it. Throws ActionDefinitionError for an invalid definition.
  virtual ActionOutcome run(const ActionEnv& env) = 0;
  /// "Python: function f"
  virtual std::string description() const = 0;
  /// Checks the definition before the task is announced. Throws
  /// ActionDefinitionError.
  virtual void validate() {}
  /// Whether the callable has a `dryrun` parameter: as a clean action it
  /// then runs even in dry-run mode and receives ActionEnv::dryrun.
  virtual bool takes_dryrun() const { return false; }
};

/// A command computed at run time (CmdAction given a callable).
class CommandSource {
 public:
  virtual ~CommandSource() = default;
  using Command = std::variant<std::string, std::vector<std::string>>;
  /// The command. Throws std::runtime_error whose what() is the error text
  /// (e.g. a traceback) when the callable fails.
  virtual Command command(const ActionEnv& env) = 0;
  virtual std::string repr() const = 0;
};

/// Formats a cmd-action string with a mapping when the core's own fast path
/// cannot (anything but %(key)s / {key} / escapes). Implemented by the embedding.
class StringFormatter {
 public:
  virtual ~StringFormatter() = default;
  /// Throws std::runtime_error with the error text (traceback) on failure.
  virtual std::string format(const std::string& text,
                             const std::vector<std::pair<std::string, std::string>>& mapping,
                             std::string_view style) = 0;
};

/// The CmdAction options few commands have; kept apart from CmdAction and
/// allocated only when one is set (most tasks' commands have none).
struct CmdOptions {
  std::shared_ptr<CommandSource> source;  ///< when the command comes from a callable
  /// values key receiving the captured stdout (CmdAction save_out), "" if none.
  std::string save_out;
  std::optional<std::string> cwd;
  /// CmdAction(buffering=N): N > 0 shows the live output as it comes, not
  /// line by line (progress bars that redraw a line with \r).
  int buffering = 0;
  /// Replacement environment ("NAME=VALUE"), as Popen's env.
  std::optional<std::vector<std::string>> env;
};

/// A command action: a shell string, an argv list, or a computed command.
struct CmdAction {
  /// Run through /bin/sh -c (string) or exec'd directly (list).
  bool shell = true;
  /// LongRunning / Interactive: output is not captured, goes to the terminal.
  bool inherit_output = false;
  /// LongRunning: the exit status is ignored.
  bool ignore_status = false;
  /// Interactive: "Interactive command failed" instead of "Command failed".
  bool interactive = false;
  std::string command;            ///< shell text (before substitution)
  std::vector<std::string> argv;  ///< argv when !shell

  /// Its options (all unset for most commands).
  const CmdOptions& options() const;
  /// Its options to change them (allocated on first use; a copy of the
  /// action keeps the options it had).
  CmdOptions& set_options();

  /// "Cmd: <text>"
  std::string description() const;

 private:
  /// Shared between copies until one of them changes its options.
  std::shared_ptr<CmdOptions> options_;
};

struct Action {
  std::variant<CmdAction, std::shared_ptr<CallableAction>> impl;

  bool is_cmd() const { return std::holds_alternative<CmdAction>(impl); }
  const CmdAction& cmd() const { return std::get<CmdAction>(impl); }
  CallableAction& callable() const { return *std::get<std::shared_ptr<CallableAction>>(impl); }
  std::string description() const;
};

/// An uptodate callable (a Python function, helper object...).
class UptodateCallable {
 public:
  virtual ~UptodateCallable() = default;
  /// True/False vote, or nullopt for None. Throws UptodateError on exception.
  virtual std::optional<bool> evaluate(const Task& task, const Json& values) = 0;
  /// What `info` prints for it, e.g. "config_changed({'k': 1}) (args=None, kwargs=None)".
  virtual std::string repr() const = 0;
};

/// An exception raised by an uptodate callable: the run stops, exit 3.
class UptodateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct UptodateItem {
  enum class Kind { kTrue, kFalse, kNone, kShell, kCallable };
  Kind kind = Kind::kNone;
  std::string shell;  ///< for kShell
  std::shared_ptr<UptodateCallable> callable;
};

/// A task's custom title function.
class TitleFunction {
 public:
  virtual ~TitleFunction() = default;
  virtual std::string title(const Task& task) = 0;
};

/// Opaque data the embedding keeps with a task (e.g. its Python proxy).
class TaskExtension {
 public:
  virtual ~TaskExtension() = default;
  /// Values the task's uptodate helpers want saved after a success
  /// (run_once, config_changed...), merged into its values.
  virtual std::optional<Json> extra_values(const Task&) { return std::nullopt; }
};

/// A task option's value held by the embedding (e.g. a Python object).
class NativeValue {
 public:
  virtual ~NativeValue() = default;
  /// What str() of the value gives (used in command strings).
  virtual std::string str() const = 0;
};

/// The value of a task option: a param (native), a getargs value (JSON
/// from the state database) or the positional words (pos_arg).
struct OptionValue {
  std::shared_ptr<NativeValue> native;
  std::optional<Json> json;
  /// Overrides the text (pos_arg: words joined by spaces, '' if none).
  std::optional<std::string> text_override;
  /// The text `%(name)s` expands to.
  std::string text() const;
};

/// Converts command-line text into a param's value (the param's `type`).
class ParamConverter {
 public:
  virtual ~ParamConverter() = default;
  /// The `default` as given (not converted).
  virtual OptionValue default_value() = 0;
  virtual OptionValue from_bool(bool value) = 0;
  virtual OptionValue from_list(const std::vector<std::string>& items) = 0;
  /// Calls the type on `text`; throws std::invalid_argument with the user
  /// message ("Error parsing parameter 'x' <class 'int'>.\n...").
  virtual OptionValue from_text(const std::string& text) = 0;
};

/// One entry of a task's `params`: a command-line option of the task.
struct ParamDef {
  enum class Kind { kBool, kList, kOther };
  std::string name;
  char short_name = 0;
  std::string long_name;
  Kind kind = Kind::kOther;
  std::string type_name;  ///< e.g. "<class 'int'>"
  std::vector<std::string> choices;
  std::string help;
  std::string inverse;
  std::string env_var;
  std::string metavar = "ARG";
  std::string section;
  std::string default_text;  ///< str() of the default, for help
  std::shared_ptr<ParamConverter> converter;
};

/// What a `@create_after` placeholder stands for. Shared by the
/// placeholders of one creator.
struct DelayedCreation {
  /// The creator's name (what the embedding calls to create the tasks).
  std::string creator;
  /// `target_regex`, if given (Python re.match: anchored at the start).
  std::optional<std::string> target_regex;
  /// Set once the creator ran.
  bool created = false;
};

/// Placeholders made for one target given on the command line (a delayed
/// creator whose `target_regex` matches it): the first that produces the
/// target wins.
struct RegexGroup {
  std::string target;
  std::vector<std::string> placeholders;
  bool found = false;
};

/// One `getargs` entry: option `arg` receives value `key` (all values when
/// unset) of task `task`.
struct GetArg {
  std::string arg;
  std::string task;
  std::optional<std::string> key;
};

/// The keys few tasks give, kept apart from Task so that a task without
/// them (most of them) is smaller: a project holds every task in memory.
struct TaskExtras {
  std::vector<std::string> calc_dep;
  std::vector<Action> teardown;
  std::vector<std::string> watch;
  std::shared_ptr<TitleFunction> title_fn;
  std::vector<ParamDef> params;
  /// Name of the param receiving the positional words, "" if none.
  std::string pos_arg;
  std::vector<GetArg> getargs;
  /// Option values: params (defaults or the command line), then pos_arg;
  /// getargs values are added when the task is about to run.
  std::vector<std::pair<std::string, OptionValue>> options;
  /// Set on a `@create_after` placeholder (no actions of its own).
  std::shared_ptr<DelayedCreation> delayed;
  /// The placeholder whose creator creates this one ("" = itself); set for
  /// a not-yet-created sub-task named on the command line.
  std::string delayed_base;
  /// Set on the placeholders made for a target given on the command line.
  std::shared_ptr<RegexGroup> regex_group;
};

struct Task {
  std::string name;
  // The flags side by side (no padding between them).
  /// False for `actions: None` (group tasks); an empty list is true.
  bool has_action_list = true;
  bool clean_targets = false;
  /// io: {'capture': False} turns capture off.
  bool capture = true;
  /// A group task (generator base, or `name: None`).
  bool is_group = false;
  std::optional<int> verbosity;
  std::vector<Action> actions;
  PathList file_dep;  ///< declaration order, no duplicates
  PathList targets;
  std::vector<std::string> task_dep;  ///< explicit, then implicit (file_dep ← target)
  std::vector<std::string> setup;
  std::vector<UptodateItem> uptodate;
  std::vector<Action> clean;
  std::string doc;
  /// The group this sub-task belongs to ("" for top-level tasks).
  std::string subtask_of;
  /// Null until the embedding has something to keep; it may attach one on
  /// first use (hence mutable: a const Task's Python view is made lazily).
  mutable std::shared_ptr<TaskExtension> extension;

  /// The keys few tasks give (all empty when the task gives none of them).
  const TaskExtras& extras() const;
  /// The same, to change them: made on first use.
  TaskExtras& set_extras();

  /// The option named `name`, or nullptr.
  const OptionValue* option(std::string_view name) const;

  /// Lets go of everything the embedding gave the task (callables, the
  /// extension, param converters, option values), keeping its plain data:
  /// for a process about to end, which leaves the rest to the OS.
  void drop_embedded_objects();

  bool is_private() const { return !name.empty() && name[0] == '_'; }
  /// The text shown in `.  `/`-- `/`!! ` lines.
  std::string title() const;

 private:
  /// The extras on the heap, or none; a copy of the task has its own.
  struct ExtrasBox {
    ExtrasBox() = default;
    ExtrasBox(const ExtrasBox& other);
    ExtrasBox& operator=(const ExtrasBox& other);
    ExtrasBox(ExtrasBox&&) noexcept = default;
    ExtrasBox& operator=(ExtrasBox&&) noexcept = default;
    ~ExtrasBox() = default;
    std::unique_ptr<TaskExtras> value;
  };
  ExtrasBox extras_;
};

/// Runs delayed creators for the executor (implemented by the embedding).
class DelayedTaskCreator {
 public:
  virtual ~DelayedTaskCreator() = default;
  /// The tasks `creator` creates, named after `base`. Throws
  /// std::runtime_error with the user message on an invalid definition.
  virtual std::vector<Task> create(const std::string& creator, const std::string& base) = 0;
};

}  // namespace doit
