#include "python/adapters.h"

#include <array>
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

py::object state_get(const std::string& task, const std::string& key);
py::dict tasks_view();

std::string ensure_newline(std::string text) {
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

}  // namespace

std::string format_traceback(const py::error_already_set& error) {
  try {
    // pybind11 keeps the traceback apart from the exception object.
    if (error.trace()) PyException_SetTraceback(error.value().ptr(), error.trace().ptr());
    return runtime().attr("format_exception")(error.value()).cast<std::string>();
  } catch (const std::exception&) {
    return std::string(error.what()) + "\n";
  }
}

namespace {
bool g_post_mortem = false;
}  // namespace

void request_post_mortem(bool on) { g_post_mortem = on; }

std::string fatal_traceback(const py::error_already_set& error) {
  if (g_post_mortem && error.trace()) {
    g_post_mortem = false;  // once
    flush_console();
    try {
      py::module_::import("pdb").attr("post_mortem")(error.trace());
      py::module_::import("sys").attr("stdout").attr("flush")();
    } catch (const py::error_already_set&) {  // the debugger itself failed: the traceback follows
    }
  }
  return format_traceback(error);
}

std::optional<Json> to_json(py::handle value) {
  static auto* dumps = new py::object(py::module_::import("json").attr("dumps"));
  try {
    return Json::parse((*dumps)(value).cast<std::string>());
  } catch (const py::error_already_set&) {
    return std::nullopt;
  }
}

namespace {

/// from_json() without the json module (about 2 ms to import, for what is
/// `{}` as a rule): the objects json.loads makes of the same text.
py::object python_of(const Json& value) {
  switch (value.type()) {
    case Json::Type::kNull:
      return py::none();
    case Json::Type::kBool:
      return py::bool_(value.as_bool());
    case Json::Type::kString:
      return py::str(value.text());  // not UTF-8 (a lone surrogate): throws
    case Json::Type::kNumber: {
      // json.loads: an int unless a fraction or an exponent (or NaN,
      // Infinity) makes it a float.
      const std::string& text = value.text();
      PyObject* number = text.find_first_of(".eEIN") == std::string::npos
                             ? PyLong_FromString(text.c_str(), nullptr, 10)
                             : PyFloat_FromString(py::str(text).ptr());
      if (number == nullptr) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(number);
    }
    case Json::Type::kArray: {
      py::list list(value.items().size());
      size_t i = 0;
      for (const Json& item : value.items()) list[i++] = python_of(item);
      return list;
    }
    case Json::Type::kObject: {
      py::dict dict;
      for (const auto& [key, member] : value.members()) dict[py::str(key)] = python_of(member);
      return dict;
    }
  }
  return py::none();
}

}  // namespace

py::object from_json(const Json& value) {
  try {
    return python_of(value);
  } catch (const py::error_already_set&) {
    // What only json.loads reads as it was written (a lone surrogate).
    static auto* loads = new py::object(py::module_::import("json").attr("loads"));
    return (*loads)(value.dump());
  }
}

namespace {

/// The task keys the proxy takes from the user's dict (the Task holds the
/// rest: names, paths, doc, verbosity).
constexpr const char* kProxyKeys[] = {"actions", "uptodate", "clean", "teardown",
                                      "params",  "pos_arg",  "title", "getargs",
                                      "watch",   "meta",     "io"};

/// Whether the proxy can do without `value` of `key`: it is empty (what the
/// proxy takes by default), or it is what the Task holds again (command
/// strings, clean=True). `meta` is handed back as given, even empty.
bool rebuilt_from_task(std::string_view key, py::handle value) {
  if (key == "meta") return false;
  const int truth = PyObject_IsTrue(value.ptr());
  if (truth < 0) {
    PyErr_Clear();
    return false;
  }
  if (truth == 0) return true;
  if (key == "clean") return PyBool_Check(value.ptr());
  if (key != "actions" || !PyList_CheckExact(value.ptr())) return false;
  const Py_ssize_t n = PyList_GET_SIZE(value.ptr());
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!PyUnicode_CheckExact(PyList_GET_ITEM(value.ptr(), i))) return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<PyTaskExtension> PyTaskExtension::of(py::dict task_dict) {
  // The keys as interned str objects, made once (leaked with the interpreter).
  static const auto* const key_objects = [] {
    auto* keys = new std::array<PyObject*, std::size(kProxyKeys)>();
    for (size_t i = 0; i < keys->size(); ++i) {
      (*keys)[i] = PyUnicode_InternFromString(kProxyKeys[i]);
      if ((*keys)[i] == nullptr) throw py::error_already_set();
    }
    return keys;
  }();
  std::shared_ptr<PyTaskExtension> extension;
  PyObject* kept = nullptr;  // extension->kept_
  for (size_t i = 0; i < std::size(kProxyKeys); ++i) {
    const char* key = kProxyKeys[i];
    PyObject* value = PyDict_GetItemWithError(task_dict.ptr(), (*key_objects)[i]);  // borrowed
    if (value == nullptr) {
      if (PyErr_Occurred()) throw py::error_already_set();
      continue;
    }
    if (rebuilt_from_task(key, value)) continue;
    if (!extension) {
      extension = std::make_shared<PyTaskExtension>();
      kept = PyDict_New();
      if (kept == nullptr) throw py::error_already_set();
      extension->kept_ = py::reinterpret_steal<py::object>(kept);
    }
    if (PyDict_SetItem(kept, (*key_objects)[i], value) != 0) throw py::error_already_set();
  }
  return extension;
}

py::object PyTaskExtension::field(const char* key) const {
  if (!kept_) return py::none();
  PyObject* value = PyDict_GetItemString(kept_.ptr(), key);  // borrowed
  return value == nullptr ? py::none() : py::reinterpret_borrow<py::object>(value);
}

py::object PyTaskExtension::proxy(const Task& task) {
  if (proxy_) return proxy_;
  py::module_ task_module = py::module_::import("doit.task");
  py::dict kwargs;
  py::object actions = field("actions");
  if (actions.is_none() && task.has_action_list) {
    // command strings: the same list again
    py::list commands;
    for (const Action& action : task.actions) commands.append(py::str(action.cmd().command));
    actions = commands;
  }
  kwargs["file_dep"] = py::cast(task.file_dep.to_vector());
  kwargs["targets"] = py::cast(task.targets.to_vector());
  kwargs["task_dep"] = py::cast(task.task_dep);
  kwargs["setup"] = py::cast(task.setup);
  kwargs["calc_dep"] = py::cast(task.extras().calc_dep);
  for (const char* key : kProxyKeys) {
    if (std::string_view(key) == "actions") continue;
    if (py::object value = field(key); !value.is_none()) kwargs[key] = value;
  }
  if (task.clean_targets) kwargs["clean"] = true;
  kwargs["doc"] = task.doc.empty() ? py::object(py::none()) : py::object(py::str(task.doc));
  if (task.verbosity) kwargs["verbosity"] = *task.verbosity;
  kwargs["subtask_of"] =
      task.subtask_of.empty() ? py::object(py::none()) : py::object(py::str(task.subtask_of));
  kwargs["has_subtask"] = task.is_group;
  proxy_ = task_module.attr("Task")(task.name, actions.is_none() ? py::object(py::list()) : actions,
                                    **kwargs);
  return proxy_;
}

namespace {
bool g_python_objects_held = false;
}  // namespace

HoldsPythonObjects::HoldsPythonObjects() { g_python_objects_held = true; }
bool python_objects_held() { return g_python_objects_held; }

py::object task_proxy(const Task& task) {
  if (!task.extension) task.extension = std::make_shared<PyTaskExtension>();
  auto* ext = dynamic_cast<PyTaskExtension*>(task.extension.get());
  if (ext == nullptr) throw std::logic_error("task without Python data: " + task.name);
  return ext->proxy(task);
}

ActionOutcome PyCallableAction::run(const ActionEnv& env) {
  ActionOutcome outcome;
  flush_console();
  validate();  // teardown actions are not validated before they run
  try {
    py::dict options = options_dict(env.task, env.changed);
    // The doit.task.Task proxy is made only for a callable that asks for
    // it: making one for each task cost more than many a callable. One made
    // already gets the options still.
    py::object proxy = py::none();
    const auto* ext = dynamic_cast<const PyTaskExtension*>(env.task.extension.get());
    if (wants_task_ || (ext != nullptr && ext->has_proxy())) {
      proxy = task_proxy(env.task);
      py::dict task_options = options.attr("copy")();  // without "changed"
      task_options.attr("pop")("changed");
      proxy.attr("options") = task_options;
    }
    py::object extra_kwargs = py::none();
    if (env.dryrun && takes_dryrun()) {
      py::dict kwargs;
      kwargs["dryrun"] = *env.dryrun;
      extra_kwargs = kwargs;
    }
    py::dict res = runtime().attr("run_python_action")(
        action_, proxy, options, live_writer(env.live_out, false), live_writer(env.live_err, true),
        py::arg("capture") = env.task.capture, py::arg("extra_kwargs") = extra_kwargs);
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
  try {
    if (action_) return py::str(action_).cast<std::string>();
    return runtime().attr("describe_action")(item_, task_name_, list_name_).cast<std::string>();
  } catch (py::error_already_set& e) {
    throw ActionDefinitionError(py::str(e.value()).cast<std::string>());
  }
}

bool PyCallableAction::takes_dryrun() const {
  try {
    return runtime().attr("wants_dryrun")(item_).cast<bool>();
  } catch (py::error_already_set&) {
    return false;
  }
}

void PyCallableAction::validate() {
  if (action_) return;
  try {
    py::object action = runtime().attr("prepare_action")(item_, task_name_, list_name_);
    wants_task_ = runtime().attr("wants_task")(action).cast<bool>();
    action_ = std::move(action);
  } catch (py::error_already_set& e) {
    throw ActionDefinitionError(py::str(e.value()).cast<std::string>());
  }
}

CommandSource::Command PyCommandSource::command(const ActionEnv& env) {
  try {
    py::dict options = options_dict(env.task, env.changed);
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
    py::object result = runtime().attr("call_uptodate")(item_, task_proxy(task), from_json(values),
                                                        py::cpp_function(state_get), tasks_view());
    py::module_::import("sys").attr("stdout").attr("flush")();
    if (result.is_none()) return std::nullopt;
    return py::bool_(result).cast<bool>();
  } catch (py::error_already_set& e) {
    throw UptodateError(fatal_traceback(e));
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
    return runtime().attr("format_cmd")(text, d, std::string(style)).cast<std::string>();
  } catch (py::error_already_set& e) {
    throw std::runtime_error(format_traceback(e));
  }
}

void interrupt_python() { PyErr_SetInterruptEx(SIGINT); }

ForkHooks fork_hooks() {
  ForkHooks hooks;
  hooks.before = [] { PyOS_BeforeFork(); };
  hooks.after_in_parent = [] { PyOS_AfterFork_Parent(); };
  hooks.after_in_child = [] { PyOS_AfterFork_Child(); };
  hooks.child_done = [] {
    for (const char* name : {"stdout", "stderr"}) {
      PyObject* stream = PySys_GetObject(name);  // borrowed
      if (stream == nullptr || stream == Py_None) continue;
      PyObject* done = PyObject_CallMethod(stream, "flush", nullptr);
      if (done == nullptr) PyErr_Clear();
      Py_XDECREF(done);
    }
  };
  return hooks;
}

}  // namespace doit::python

namespace doit::python {

std::string pformat_task_field(const Task& task, const char* key) {
  auto* ext = dynamic_cast<PyTaskExtension*>(task.extension.get());
  if (ext == nullptr) return {};
  py::object value = ext->field(key);
  if (!py::bool_(value).cast<bool>()) return {};
  return py::module_::import("pprint")
      .attr("pformat")(value, py::arg("indent") = 4, py::arg("width") = 80)
      .cast<std::string>();
}

}  // namespace doit::python

namespace doit::python {
namespace {

const StateDb* g_state = nullptr;
const TaskGraph* g_graph = nullptr;

/// pydoit's raw record access (`dep_manager._get(task, key)`) over our state.
py::object state_get(const std::string& task, const std::string& key) {
  if (g_state == nullptr) return py::none();
  const TaskRecord* record = g_state->find(task);
  if (record == nullptr) return py::none();
  if (key == "result:") {
    return record->result_json ? from_json(Json::parse(*record->result_json)) : py::none();
  }
  if (key == "_values_:") return from_json(Json::parse(record->values_json));
  if (key == "ignore:") return record->ignored ? py::object(py::str("1")) : py::none();
  if (key == "checker:") {
    return record->checker.empty() ? py::object(py::none()) : py::object(py::str(record->checker));
  }
  return py::none();
}

/// {name: object with name, has_subtask, task_dep} for UptodateCalculator.
py::dict tasks_view() {
  static auto* view = new py::dict();
  if (g_graph == nullptr || !view->empty()) return *view;
  py::object ns = py::module_::import("types").attr("SimpleNamespace");
  for (const Task& t : g_graph->tasks()) {
    (*view)[py::str(t.name)] =
        ns(py::arg("name") = t.name, py::arg("has_subtask") = t.is_group,
           py::arg("task_dep") = py::cast(t.task_dep), py::arg("subtask_of") = t.subtask_of);
  }
  return *view;
}

}  // namespace

void set_state_for_python(const StateDb* db, const TaskGraph* graph) {
  g_state = db;
  g_graph = graph;
  // doit.Globals.dep_manager: read access to the saved state for dodo code
  // (values, results); writing stays the core's.
  py::object dep_manager = py::none();
  if (db != nullptr) {
    const auto read_only = [](py::args) {
      throw py::value_error("doit-cpp: the state is written by doit itself, not by dodo code");
    };
    py::object backend = py::module_::import("types").attr("SimpleNamespace")(
        py::arg("get") = py::cpp_function(state_get),
        py::arg("in_") = py::cpp_function(
            [](const std::string& task) { return g_state && g_state->find(task) != nullptr; }),
        py::arg("set") = py::cpp_function(read_only),
        py::arg("remove") = py::cpp_function(read_only));
    dep_manager = py::module_::import("doit.dependency").attr("Dependency")(backend);
  }
  py::module_::import("doit").attr("Globals").attr("dep_manager") = dep_manager;
}

std::string PyNativeValue::str() const { return py::str(value_).cast<std::string>(); }

OptionValue PyParamConverter::default_value() {
  return OptionValue{std::make_shared<PyNativeValue>(default_), std::nullopt, std::nullopt};
}

OptionValue PyParamConverter::from_bool(bool value) {
  return OptionValue{std::make_shared<PyNativeValue>(py::bool_(value)), std::nullopt, std::nullopt};
}

OptionValue PyParamConverter::from_list(const std::vector<std::string>& items) {
  return OptionValue{std::make_shared<PyNativeValue>(py::cast(items)), std::nullopt, std::nullopt};
}

OptionValue PyParamConverter::from_text(const std::string& text) {
  try {
    return OptionValue{std::make_shared<PyNativeValue>(type_(text)), std::nullopt, std::nullopt};
  } catch (py::error_already_set& e) {
    throw std::invalid_argument("Error parsing parameter '" + name_ + "' " +
                                py::repr(type_).cast<std::string>() + ".\n" +
                                py::str(e.value()).cast<std::string>() + "\n");
  }
}

py::object option_object(const OptionValue& value) {
  if (auto* native = dynamic_cast<PyNativeValue*>(value.native.get())) return native->object();
  if (value.json) return from_json(*value.json);
  return py::none();
}

py::dict options_dict(const Task& task, const std::vector<std::string>& changed) {
  py::dict d;
  for (const auto& [name, value] : task.extras().options) d[py::str(name)] = option_object(value);
  d["changed"] = py::cast(changed);
  return d;
}

std::optional<Json> PyTaskExtension::extra_values(const Task&) {
  if (!proxy_) return std::nullopt;
  py::object values = runtime().attr("save_extra_values")(proxy_);
  if (!py::bool_(values).cast<bool>()) return std::nullopt;
  return to_json(values);
}

}  // namespace doit::python

namespace doit::python {

bool regex_match(const std::string& pattern, const std::string& text) {
  return !py::module_::import("re").attr("match")(pattern, text).is_none();
}

}  // namespace doit::python

namespace doit::python {

std::vector<std::string> local_module_files(const std::string& dir) {
  constexpr const char* kCode = R"PY(
def _local_module_files(root):
    import os, sys
    root = os.path.realpath(root) + os.sep
    found = set()
    for module in list(sys.modules.values()):
        path = getattr(module, '__file__', None)
        if not path:
            continue
        path = os.path.realpath(path)
        if path.startswith(root) and 'site-packages' not in path and 'dist-packages' not in path:
            found.add(path)
    return sorted(found)
)PY";
  static auto* fn = [] {
    py::dict scope;
    scope["__builtins__"] = py::module_::import("builtins");
    py::exec(kCode, scope);
    return new py::object(scope["_local_module_files"]);
  }();
  return (*fn)(dir).cast<std::vector<std::string>>();
}

}  // namespace doit::python
