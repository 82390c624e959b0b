// The bridges that let the core call Python: python-actions, computed
// commands, uptodate callables, title functions and the string formatter.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#include "doit/json.h"
#include "doit/task.h"

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

/// A Python object → Json (through json.dumps); nullopt if it is not JSON-able.
std::optional<Json> to_json(py::handle value);
/// Json → a Python object (through json.loads).
py::object from_json(const Json& value);

/// Per-task Python data: the user's dict, and the doit.task.Task proxy built
/// on first use.
class PyTaskExtension : public TaskExtension {
 public:
  explicit PyTaskExtension(py::dict task_dict) : dict_(std::move(task_dict)) {}
  /// The doit.task.Task object that actions and callables receive.
  py::object proxy(const Task& task);

 private:
  py::dict dict_;
  py::object proxy_;
};

/// The proxy of `task` (creating it if needed).
py::object task_proxy(const Task& task);

class PyCallableAction : public CallableAction {
 public:
  explicit PyCallableAction(py::object item) : item_(std::move(item)) {}
  ActionOutcome run(const ActionEnv& env) override;
  std::string description() const override;

 private:
  py::object item_;
};

class PyCommandSource : public CommandSource {
 public:
  explicit PyCommandSource(py::object cmd_action) : action_(std::move(cmd_action)) {}
  Command command(const ActionEnv& env) override;
  std::string repr() const override;

 private:
  py::object action_;
};

class PyUptodate : public UptodateCallable {
 public:
  PyUptodate(py::object item, std::string repr) : item_(std::move(item)), repr_(std::move(repr)) {}
  std::optional<bool> evaluate(const Task& task, const Json& values) override;
  std::string repr() const override { return repr_; }

 private:
  py::object item_;
  std::string repr_;
};

class PyTitle : public TitleFunction {
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

/// Lets SIGINT interrupt a running Python action (async-signal-safe).
void interrupt_python();

}  // namespace doit::python
