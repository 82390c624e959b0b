#include "python/adapters.h"

#include <csignal>

#include "doit/output.h"

namespace doit::python {
namespace {

py::module_& runtime() {
  // Leaked on purpose: it must outlive nothing but the interpreter.
  static auto* module = new py::module_(py::module_::import("doit._runtime"));
  return *module;
}

py::object live_writer(LiveOutput* live, bool to_err) {
  if (live == nullptr) return py::none();
  return py::cpp_function([live, to_err](const std::string& text) {
    if (to_err) {
      live->err(text);
    } else {
      live->out(text);
    }
  });
}

std::string ensure_newline(std::string text) {
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

}  // namespace

std::string format_traceback(const py::error_already_set& error) {
  try {
    return runtime().attr("format_exception")(error.value()).cast<std::string>();
  } catch (const std::exception&) {
    return std::string(error.what()) + "\n";
  }
}

std::optional<Json> to_json(py::handle value) {
  static auto* dumps = new py::object(py::module_::import("json").attr("dumps"));
  try {
    return Json::parse((*dumps)(value).cast<std::string>());
  } catch (const py::error_already_set&) {
    return std::nullopt;
  }
}

py::object from_json(const Json& value) {
  static auto* loads = new py::object(py::module_::import("json").attr("loads"));
  return (*loads)(value.dump());
}

py::object PyTaskExtension::proxy(const Task& task) {
  if (proxy_) return proxy_;
  py::module_ task_module = py::module_::import("doit.task");
  py::dict kwargs;
  py::object actions = dict_.contains("actions") ? py::object(dict_["actions"]) : py::object(py::none());
  kwargs["file_dep"] = py::cast(task.file_dep);
  kwargs["targets"] = py::cast(task.targets);
  kwargs["task_dep"] = py::cast(task.task_dep);
  kwargs["setup"] = py::cast(task.setup);
  kwargs["calc_dep"] = py::cast(task.calc_dep);
  for (const char* key : {"uptodate", "clean", "teardown", "params", "pos_arg", "title", "getargs",
                          "watch", "meta", "io"}) {
    if (dict_.contains(key)) kwargs[key] = dict_[key];
  }
  kwargs["doc"] = task.doc.empty() ? py::object(py::none()) : py::object(py::str(task.doc));
  if (task.verbosity) kwargs["verbosity"] = *task.verbosity;
  kwargs["subtask_of"] = task.subtask_of.empty() ? py::object(py::none())
                                                 : py::object(py::str(task.subtask_of));
  kwargs["has_subtask"] = task.is_group;
  proxy_ = task_module.attr("Task")(task.name, actions.is_none() ? py::object(py::list()) : actions,
                                    **kwargs);
  return proxy_;
}

py::object task_proxy(const Task& task) {
  auto* ext = dynamic_cast<PyTaskExtension*>(task.extension.get());
  if (ext == nullptr) throw std::logic_error("task without Python data: " + task.name);
  return ext->proxy(task);
}

ActionOutcome PyCallableAction::run(const ActionEnv& env) {
  ActionOutcome outcome;
  flush_console();
  try {
    py::dict options;
    options["changed"] = py::cast(env.changed);
    py::object proxy = task_proxy(env.task);
    proxy.attr("options") = options;
    py::dict res = runtime().attr("run_python_action")(
        item_, proxy, options, live_writer(env.live_out, false), live_writer(env.live_err, true),
        py::arg("capture") = env.task.capture);
    const std::string status = res["status"].cast<std::string>();
    outcome.status = status == "success"  ? ActionOutcome::Status::kSuccess
                     : status == "failed" ? ActionOutcome::Status::kFailed
                                          : ActionOutcome::Status::kError;
    outcome.message = ensure_newline(py::str(res["message"]).cast<std::string>());
    outcome.out = py::str(res["out"]).cast<std::string>();
    outcome.err = py::str(res["err"]).cast<std::string>();
    outcome.report = res.contains("report") ? res["report"].cast<bool>() : true;
    py::object result = res["result"];
    if (!result.is_none()) {
      if (py::isinstance<py::str>(result)) {
        outcome.result = Json::string(result.cast<std::string>());
      } else {
        outcome.result = to_json(result);
      }
    }
    py::object values = res["values"];
    if (!values.is_none()) {
      outcome.values = to_json(values);
      if (!outcome.values) {
        outcome.status = ActionOutcome::Status::kError;
        outcome.message = "Python Task error: the values it returned cannot be saved as JSON: " +
                          py::repr(values).cast<std::string>() + "\n";
      }
    }
  } catch (py::error_already_set& e) {
    if (e.matches(runtime().attr("ActionDefinitionError"))) {
      throw ActionDefinitionError(py::str(e.value()).cast<std::string>());
    }
    if (e.matches(PyExc_KeyboardInterrupt)) {
      outcome.status = ActionOutcome::Status::kError;
      outcome.message = "KeyboardInterrupt\n";
      return outcome;
    }
    outcome.status = ActionOutcome::Status::kError;
    outcome.message = "PythonAction Error\n" + format_traceback(e);
  }
  return outcome;
}

std::string PyCallableAction::description() const {
  return runtime().attr("describe_action")(item_).cast<std::string>();
}

CommandSource::Command PyCommandSource::command(const ActionEnv& env) {
  try {
    py::dict options;
    options["changed"] = py::cast(env.changed);
    py::object proxy = task_proxy(env.task);
    py::object cmd = runtime().attr("expand_cmd_action")(action_, proxy, options);
    if (py::isinstance<py::str>(cmd)) return cmd.cast<std::string>();
    std::vector<std::string> argv;
    for (py::handle item : cmd) argv.push_back(py::str(item).cast<std::string>());
    return argv;
  } catch (py::error_already_set& e) {
    throw std::runtime_error(format_traceback(e));
  }
}

std::string PyCommandSource::repr() const {
  return py::repr(action_.attr("_action")).cast<std::string>();
}

std::optional<bool> PyUptodate::evaluate(const Task& task, const Json& values) {
  flush_console();
  try {
    py::object result = runtime().attr("call_uptodate")(item_, task_proxy(task), from_json(values));
    py::module_::import("sys").attr("stdout").attr("flush")();
    if (result.is_none()) return std::nullopt;
    return py::bool_(result).cast<bool>();
  } catch (py::error_already_set& e) {
    throw UptodateError(format_traceback(e));
  }
}

std::string PyTitle::title(const Task& task) {
  try {
    return py::str(fn_(task_proxy(task))).cast<std::string>();
  } catch (py::error_already_set& e) {
    throw ActionDefinitionError(format_traceback(e));
  }
}

std::string PyFormatter::format(const std::string& text,
                                const std::vector<std::pair<std::string, std::string>>& mapping,
                                std::string_view style) {
  try {
    py::dict d;
    for (const auto& [k, v] : mapping) d[py::str(k)] = py::str(v);
    return runtime()
        .attr("format_cmd")(text, d, std::string(style))
        .cast<std::string>();
  } catch (py::error_already_set& e) {
    throw std::runtime_error(format_traceback(e));
  }
}

void interrupt_python() { PyErr_SetInterruptEx(SIGINT); }

}  // namespace doit::python
