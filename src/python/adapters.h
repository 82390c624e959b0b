// The bridges that let the core call Python: python-actions, computed
// commands, uptodate callables, title functions and the string formatter.
#pragma once

#include <pybind11/eval.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "doit/graph.h"
#include "doit/json.h"
#include "doit/state_db.h"
#include "doit/task.h"
#include "doit/worker.h"

namespace doit::python {

namespace py = pybind11;

/// A Python exception already formatted with its traceback; printed as is, exit 3.
class PythonTraceback : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The traceback text of the exception being handled (frames of the embedded
/// doit package dropped).
std::string format_traceback(const py::error_already_set& error);

/// --pdb: the next fatal Python error (one that ends doit, exit 3) opens
/// pdb's post-mortem on its traceback first, as pydoit does.
void request_post_mortem(bool on);
/// format_traceback for an error that ends doit: runs the post-mortem
/// debugger first when one was requested.
std::string fatal_traceback(const py::error_already_set& error);

/// A Python object → Json (through json.dumps); nullopt if it is not JSON-able.
std::optional<Json> to_json(py::handle value);
/// Json → a Python object (through json.loads).
py::object from_json(const Json& value);

/// Whether any object that holds Python objects for the core (the classes
/// below) was made: if none was, the tasks need not be visited to let go of
/// them before Python ends.
bool python_objects_held();

/// Base of the classes below: making one notes that Python objects are held.
class HoldsPythonObjects {
 protected:
  HoldsPythonObjects();
};

/// Per-task Python data: what of the user's dict the Task does not hold
/// (callables, params, meta...), and the doit.task.Task proxy built on first
/// use. A task of command strings and paths keeps no Python object at all.
class PyTaskExtension : public TaskExtension, HoldsPythonObjects {
 public:
  /// Nothing kept: the proxy comes from the Task alone.
  PyTaskExtension() = default;
  /// What proxy() and field() need of `task_dict`, or null when the Task
  /// holds it all (command strings, paths): most tasks then have no
  /// extension until something asks for their proxy.
  static std::shared_ptr<PyTaskExtension> of(py::dict task_dict);
  /// The doit.task.Task object that actions and callables receive.
  py::object proxy(const Task& task);
  /// The value of a key of the task's dict the Task does not hold
  /// ("uptodate", "params", "getargs", "meta"...); None when absent or empty.
  py::object field(const char* key) const;
  /// The proxy if it was built.
  bool has_proxy() const { return static_cast<bool>(proxy_); }
  std::optional<Json> extra_values(const Task& task) override;

 private:
  /// The kept keys (a dict), or empty when nothing is kept.
  py::object kept_;
  py::object proxy_;
};

/// The proxy of `task` (creating it if needed).
py::object task_proxy(const Task& task);

class PyCallableAction : public CallableAction, HoldsPythonObjects {
 public:
  /// `list_name` is the task key holding it ("actions", "clean", "teardown").
  PyCallableAction(py::object item, std::string task_name, std::string list_name)
      : item_(std::move(item)),
        task_name_(std::move(task_name)),
        list_name_(std::move(list_name)) {}
  ActionOutcome run(const ActionEnv& env) override;
  std::string description() const override;
  /// Makes the action object (once), which run() then uses.
  void validate() override;
  bool takes_dryrun() const override;

 private:
  py::object item_;
  std::string task_name_;
  std::string list_name_;
  /// The action object made of item_ by validate(), or empty.
  py::object action_;
  /// Whether running action_ needs the task's proxy.
  bool wants_task_ = true;
};

class PyCommandSource : public CommandSource, HoldsPythonObjects {
 public:
  explicit PyCommandSource(py::object cmd_action) : action_(std::move(cmd_action)) {}
  Command command(const ActionEnv& env) override;
  std::string repr() const override;

 private:
  py::object action_;
};

class PyUptodate : public UptodateCallable, HoldsPythonObjects {
 public:
  PyUptodate(py::object item, std::string repr) : item_(std::move(item)), repr_(std::move(repr)) {}
  std::optional<bool> evaluate(const Task& task, const Json& values) override;
  std::string repr() const override { return repr_; }

 private:
  py::object item_;
  std::string repr_;
};

class PyTitle : public TitleFunction, HoldsPythonObjects {
 public:
  explicit PyTitle(py::object fn) : fn_(std::move(fn)) {}
  std::string title(const Task& task) override;

 private:
  py::object fn_;
};

class PyFormatter : public StringFormatter {
 public:
  std::string format(const std::string& text,
                     const std::vector<std::pair<std::string, std::string>>& mapping,
                     std::string_view style) override;
};

/// A Python object as a task option value.
class PyNativeValue : public NativeValue, HoldsPythonObjects {
 public:
  explicit PyNativeValue(py::object value) : value_(std::move(value)) {}
  std::string str() const override;
  const py::object& object() const { return value_; }

 private:
  py::object value_;
};

/// A param's `type` callable and `default`.
class PyParamConverter : public ParamConverter, HoldsPythonObjects {
 public:
  PyParamConverter(std::string name, py::object type, py::object default_value)
      : name_(std::move(name)), type_(std::move(type)), default_(std::move(default_value)) {}
  OptionValue default_value() override;
  OptionValue from_bool(bool value) override;
  OptionValue from_list(const std::vector<std::string>& items) override;
  OptionValue from_text(const std::string& text) override;

 private:
  std::string name_;
  py::object type_;
  py::object default_;
};

/// An option value as the Python object actions receive.
py::object option_object(const OptionValue& value);

/// The options dict python-actions receive: params, getargs values,
/// pos_arg, and `changed`.
py::dict options_dict(const Task& task, const std::vector<std::string>& changed);

/// The state database that uptodate helpers read (result_dep, UptodateCalculator).
void set_state_for_python(const StateDb* db, const TaskGraph* graph);

/// Files of the modules imported so far that live under `dir` (the dodo
/// file's own folder), outside site-packages: what `auto` watches.
std::vector<std::string> local_module_files(const std::string& dir);

/// Python's re.match(pattern, text) is not None (anchored at the start only).
bool regex_match(const std::string& pattern, const std::string& text);

/// Lets SIGINT interrupt a running Python action (async-signal-safe).
void interrupt_python();

/// What CPython needs around fork() for a worker of a parallel run: its
/// PyOS_*Fork calls, and sys.stdout/sys.stderr flushed before the child ends.
ForkHooks fork_hooks();

}  // namespace doit::python

namespace doit::python {

/// pprint.pformat(indent=4, width=80) of the task dict's `key`, or "" when
/// the key is absent or empty (for `info`).
std::string pformat_task_field(const Task& task, const char* key);

}  // namespace doit::python
