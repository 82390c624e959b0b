#include "python/loader.h"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <deque>
#include <filesystem>
#include <optional>
#include <string_view>
#include <unordered_set>

#include "doit/graph.h"
#include "doit/output.h"
#include "python/adapters.h"

namespace doit::python {
namespace {

// The task keys pydoit accepts (0.37), in the order their types are checked.
constexpr const char* kTaskKeys[] = {"actions", "file_dep", "task_dep",  "uptodate", "calc_dep",
                                     "targets", "setup",    "clean",     "teardown", "doc",
                                     "params",  "pos_arg",  "verbosity", "getargs",  "title",
                                     "watch",   "io",       "meta",      "basename", "name"};

std::string py_repr(py::handle h) { return py::repr(h).cast<std::string>(); }
std::string type_repr(py::handle h) { return py_repr(py::type::of(h)); }

/// pydoit's "attribute 'x' must be {...} got:..." message.
[[noreturn]] void bad_type(const std::string& task, const char* key, const char* accepted,
                           py::handle value) {
  throw DodoError(fmt::format("Task '{}' attribute '{}' must be {{{}}} got:{} {}", task, key,
                              accepted, py_repr(value), type_repr(value)));
}

bool is_sequence(py::handle v) { return PyList_Check(v.ptr()) || PyTuple_Check(v.ptr()); }

/// Lists this long or shorter are searched linearly for repeated paths.
constexpr size_t kLinearDedupLimit = 16;

/// The UTF-8 text of a str without copying it (CPython keeps it in the
/// object), or nullopt for a str that is not valid UTF-8 (lone surrogates).
std::optional<std::string_view> utf8_view(PyObject* str) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(str, &size);
  if (data == nullptr) {
    PyErr_Clear();
    return std::nullopt;
  }
  return std::string_view(data, static_cast<size_t>(size));
}

/// A str as std::string; pybind11's conversion (and its error) for anything
/// the fast path cannot take.
std::string to_string(py::handle item) {
  if (PyUnicode_Check(item.ptr())) {
    if (const auto text = utf8_view(item.ptr())) return std::string(*text);
  }
  return item.cast<std::string>();
}

/// str(item) as std::string.
std::string str_of(py::handle item) {
  if (PyUnicode_Check(item.ptr())) return to_string(item);
  return py::str(item).cast<std::string>();
}

/// d[key] for a str key, or an empty handle when absent.
py::handle dict_get(py::handle d, const py::object& key) {
  PyObject* v = PyDict_GetItemWithError(d.ptr(), key.ptr());
  if (v == nullptr && PyErr_Occurred()) throw py::error_already_set();
  return v;
}

/// An interned Python str (made once, kept for the interpreter's life).
py::object interned(const char* text) {
  PyObject* s = PyUnicode_InternFromString(text);
  if (s == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(s);
}

/// A str or a pathlib path as text; false for anything else.
bool path_text(py::handle item, std::string* out) {
  if (PyUnicode_Check(item.ptr())) {
    *out = to_string(item);
    return true;
  }
  static auto* pure_path = new py::object(py::module_::import("pathlib").attr("PurePath"));
  if (py::isinstance(item, *pure_path)) {
    *out = py::str(item).cast<std::string>();
    return true;
  }
  return false;
}

class TaskConverter {
 public:
  TaskConverter()
      : action_module_(py::module_::import("doit.action")),
        tools_module_(py::module_::import("doit.tools")),
        cmd_action_(action_module_.attr("CmdAction")),
        long_running_(tools_module_.attr("LongRunning")),
        interactive_(tools_module_.attr("Interactive")) {
    for (size_t i = 0; i < std::size(kTaskKeys); ++i) key_objects_[i] = interned(kTaskKeys[i]);
  }

  /// One params entry of `task` (also used for @task_params creators).
  ParamDef param_of(const Task& task, py::handle entry) { return param(task, entry); }

  /// One task dict → Task. The dict is walked once: each key is found among
  /// the interned task keys by its address (by its text when it is not one
  /// of them), then the values are checked in kTaskKeys' order. A few C API
  /// calls per key and per list item, no Python objects made for the
  /// common types.
  Task convert(py::dict d) {
    Task task;
    convert(d, task);
    return task;
  }

  /// The same into `task`, a new Task (where it is to stay: no move).
  void convert(py::dict d, Task& task) {
    py::handle name = dict_get(d, name_key_);
    py::object looked_up;
    if (!name) {
      looked_up = d["name"];  // KeyError as before
      name = looked_up;
    }
    // A basename that is not a str becomes the name (pydoit's wording).
    if (!PyUnicode_Check(name.ptr())) {
      bad_type(py::str(name).cast<std::string>(), "name", "str", name);
    }
    task.name = to_string(name);
    if (!dict_get(d, actions_key_)) {
      throw DodoError(fmt::format("Task {} must contain 'actions' field. {}", task.name,
                                  py_repr(user_view(d))));
    }
    std::array<PyObject*, std::size(kTaskKeys)> values{};  // borrowed, by key
    PyObject* subtask_of = nullptr;
    PyObject* is_group = nullptr;
    PyObject* placeholder = nullptr;
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(d.ptr(), &pos, &key, &value)) {
      if (const size_t k = interned_key_index(key); k < values.size()) {
        values[k] = value;
        continue;
      }
      if (key == subtask_of_key_.ptr()) {
        subtask_of = value;
        continue;
      }
      if (key == is_group_key_.ptr()) {
        is_group = value;
        continue;
      }
      if (key == placeholder_key_.ptr()) {
        placeholder = value;
        continue;
      }
      const std::string text = str_of(key);
      if (text.starts_with("_")) {  // added by doit._loader
        if (text == "_subtask_of") subtask_of = value;
        if (text == "_is_group") is_group = value;
        if (text == "_placeholder") placeholder = value;
        continue;
      }
      const auto* found = std::find(std::begin(kTaskKeys), std::end(kTaskKeys), text);
      if (found == std::end(kTaskKeys)) {
        throw DodoError(fmt::format("Task {} contains invalid field: '{}'", task.name, text));
      }
      values[static_cast<size_t>(found - std::begin(kTaskKeys))] = value;
    }
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] != nullptr) convert_key(task, kTaskKeys[i], values[i]);
    }
    if (subtask_of != nullptr && subtask_of != Py_None) task.subtask_of = str_of(subtask_of);
    task.is_group = is_group != nullptr && py::handle(is_group).cast<bool>();
    if (placeholder != nullptr && py::handle(placeholder).cast<bool>()) {
      task.set_extras().delayed = delayed_creation(d["_delayed"]);
    }
    task.extension = PyTaskExtension::of(d);
    if (!task.extras().params.empty() || !task.extras().pos_arg.empty()) {
      TaskExtras& extras = task.set_extras();
      for (ParamDef& p : extras.params) {
        extras.options.emplace_back(p.name, p.converter->default_value());
      }
      if (!extras.pos_arg.empty()) {
        extras.options.emplace_back(extras.pos_arg, OptionValue{nullptr, Json(), std::string()});
      }
    }
    if (needs_proxy(d)) sync_from_proxy(task, task_proxy(task));
  }

 private:
  /// The shared record of a delayed creator (one per creator and load).
  std::shared_ptr<DelayedCreation> delayed_creation(py::handle info) {
    const std::string creator = py::str(info["creator"]).cast<std::string>();
    std::shared_ptr<DelayedCreation>& slot = delayed_[creator];
    if (!slot) {
      slot = std::make_shared<DelayedCreation>();
      slot->creator = creator;
      if (!info["target_regex"].is_none()) {
        slot->target_regex = py::str(info["target_regex"]).cast<std::string>();
      }
    }
    return slot;
  }

  /// getargs and uptodate objects with configure_task change the task's
  /// dependencies through pydoit's Task: build it now and read them back.
  bool needs_proxy(py::dict d) const {
    if (py::handle getargs = dict_get(d, getargs_key_); getargs && py::len(getargs) > 0) {
      return true;
    }
    py::handle uptodate = dict_get(d, uptodate_key_);
    if (!uptodate || !is_sequence(uptodate)) return false;
    for (py::handle item : uptodate) {
      if (py::hasattr(item, "configure_task")) return true;
    }
    return false;
  }

  void sync_from_proxy(Task& task, py::object proxy) {
    task.setup.clear();
    for (py::handle s : proxy.attr("setup_tasks")) task.setup.push_back(py::str(s));
    task.task_dep.clear();
    for (py::handle t : proxy.attr("task_dep")) task.task_dep.push_back(py::str(t));
    for (py::handle t : proxy.attr("wild_dep")) task.task_dep.push_back(py::str(t));
    task.uptodate.clear();
    for (py::handle entry : proxy.attr("uptodate")) {
      py::tuple t = py::reinterpret_borrow<py::tuple>(entry);
      py::object item = t[0];
      if (item.is_none() || PyBool_Check(item.ptr()) || PyUnicode_Check(item.ptr())) {
        task.uptodate.push_back(uptodate_item(task, item));
        continue;
      }
      UptodateItem u;
      u.kind = UptodateItem::Kind::kCallable;
      const std::string text =
          fmt::format("{} (args={}, kwargs={})", py::str(item).cast<std::string>(), py_repr(t[1]),
                      py_repr(t[2]));
      u.callable = std::make_shared<PyUptodate>(py::make_tuple(item, t[1], t[2]), text);
      task.uptodate.push_back(std::move(u));
    }
  }

  ParamDef param(const Task& task, py::handle entry) {
    static const std::unordered_set<std::string> kFields = {
        "name", "default", "short",   "long",    "type",   "choices",
        "help", "inverse", "env_var", "metavar", "section"};
    if (!PyDict_Check(entry.ptr())) {
      throw DodoError(fmt::format("Task '{}': params entries must be dicts, got {}", task.name,
                                  py_repr(entry)));
    }
    py::dict d = py::reinterpret_borrow<py::dict>(entry);
    std::vector<std::string> unknown;
    for (auto kv : d) {
      const std::string key = py::str(kv.first).cast<std::string>();
      if (!kFields.contains(key)) unknown.push_back(key);
    }
    if (!unknown.empty()) {
      py::list names;
      for (const std::string& u : unknown) names.append(u);
      throw DodoError(fmt::format("CmdOption dict contains invalid property '{}'", py_repr(names)));
    }
    for (const char* required : {"name", "default"}) {
      if (!d.contains(required)) {
        throw DodoError(
            fmt::format("CmdOption dict {} missing required property '{}'", py_repr(d), required));
      }
    }
    ParamDef p;
    p.name = py::str(d["name"]).cast<std::string>();
    const auto text = [&](const char* key) {
      return d.contains(key) && !d[key].is_none() ? py::str(d[key]).cast<std::string>()
                                                  : std::string();
    };
    const std::string short_name = text("short");
    if (!short_name.empty()) p.short_name = short_name[0];
    p.long_name = text("long");
    p.help = text("help");
    p.inverse = text("inverse");
    p.env_var = text("env_var");
    p.section = text("section");
    if (d.contains("metavar") && !d["metavar"].is_none()) p.metavar = text("metavar");
    py::object builtins = py::module_::import("builtins");
    py::object type = d.contains("type") ? py::object(d["type"]) : builtins.attr("str");
    if (type.is(builtins.attr("bool"))) {
      p.kind = ParamDef::Kind::kBool;
    } else if (type.is(builtins.attr("list"))) {
      p.kind = ParamDef::Kind::kList;
    }
    p.type_name = py_repr(type);
    if (d.contains("choices")) {
      for (py::handle choice : d["choices"]) {
        py::object value = PyTuple_Check(choice.ptr()) || PyList_Check(choice.ptr())
                               ? py::object(py::reinterpret_borrow<py::tuple>(choice)[0])
                               : py::reinterpret_borrow<py::object>(choice);
        p.choices.push_back(py::str(value).cast<std::string>());
      }
    }
    p.default_text = py::str(d["default"]).cast<std::string>();
    p.converter = std::make_shared<PyParamConverter>(p.name, type, d["default"]);
    return p;
  }

  /// The dict as the user wrote it (plus name and doc), for messages.
  static py::dict user_view(py::dict d) {
    py::dict view;
    for (auto item : d) {
      if (!py::str(item.first).cast<std::string>().starts_with("_")) view[item.first] = item.second;
    }
    if (!view.contains("doc")) view["doc"] = py::none();
    return view;
  }

  std::vector<std::string> strings(const Task& task, const char* key, py::handle v) {
    if (!is_sequence(v)) bad_type(task.name, key, "list, tuple", v);
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(v.ptr());
    PyObject** items = PySequence_Fast_ITEMS(v.ptr());
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) out.push_back(str_of(items[i]));
    return out;
  }

  /// A list or tuple of str/Path; with `dedup`, later repeats are dropped.
  /// The text of a str is read in place, copied once into the list.
  PathList paths(const Task& task, const char* key, const char* what, py::handle v, bool dedup) {
    if (!is_sequence(v)) bad_type(task.name, key, "list, tuple", v);
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(v.ptr());
    PyObject** items = PySequence_Fast_ITEMS(v.ptr());
    const auto str_text = [](PyObject* item) -> std::optional<std::string_view> {
      return PyUnicode_Check(item) ? utf8_view(item) : std::nullopt;
    };
    size_t text_bytes = 0;
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (const auto text = str_text(items[i])) text_bytes += text->size();
    }
    PathList out;
    out.reserve(static_cast<size_t>(n), text_bytes);
    const bool linear = static_cast<size_t>(n) <= kLinearDedupLimit;
    std::unordered_set<std::string> seen;  // for long lists
    std::string converted;                 // a Path's text
    for (Py_ssize_t i = 0; i < n; ++i) {
      py::handle item = items[i];
      std::string_view text;
      if (const auto in_place = str_text(item.ptr())) {
        text = *in_place;
      } else if (path_text(item, &converted)) {
        text = converted;
      } else {
        throw DodoError(fmt::format("{}. {} must be a str or Path from pathlib. Got '{}' ({})",
                                    task.name, what, py_repr(item), type_repr(item)));
      }
      if (dedup) {
        if (linear) {
          if (out.contains(text)) continue;
        } else if (!seen.emplace(text).second) {
          continue;
        }
      }
      out.push_back(text);
    }
    return out;
  }

  std::vector<Action> actions(const Task& task, const char* key, py::handle v) {
    std::vector<Action> out;
    for (py::handle item : v) {
      out.push_back(action(task, key, py::reinterpret_borrow<py::object>(item)));
    }
    return out;
  }

  /// actions(), each checked now: pydoit refuses a teardown or clean item that
  /// is no action when it loads the task (those of `actions` when they run).
  std::vector<Action> checked_actions(const Task& task, const char* key, py::handle v) {
    std::vector<Action> out = actions(task, key, v);
    for (const Action& a : out) {
      if (a.is_cmd()) continue;
      try {
        a.callable().validate();
      } catch (const ActionDefinitionError& e) {
        throw DodoError(e.what());
      }
    }
    return out;
  }

  Action action(const Task& task, const char* key, py::object item) {
    if (PyUnicode_Check(item.ptr())) {
      CmdAction cmd;
      cmd.command = to_string(item);
      return Action{std::move(cmd)};
    }
    if (PyList_Check(item.ptr())) {
      CmdAction cmd;
      cmd.shell = false;
      for (py::handle part : item) {
        std::string text;
        if (!path_text(part, &text)) {
          throw DodoError(
              fmt::format("{}. CmdAction element must be a str or Path from pathlib. Got '{}' ({})",
                          task.name, py_repr(part), type_repr(part)));
        }
        cmd.argv.push_back(std::move(text));
      }
      return Action{std::move(cmd)};
    }
    if (py::isinstance(item, cmd_action_) && runs_like_cmd_action(item)) {
      return Action{cmd_action(item)};
    }
    return Action{
        std::shared_ptr<CallableAction>(std::make_shared<PyCallableAction>(item, task.name, key))};
  }

  /// A CmdAction (or LongRunning/Interactive) whose execute() is not overridden.
  bool runs_like_cmd_action(py::handle item) const {
    py::object cls = py::type::of(item);
    if (py::isinstance(item, long_running_) || py::isinstance(item, interactive_)) return true;
    return cls.attr("execute").is(cmd_action_.attr("execute"));
  }

  CmdAction cmd_action(py::object item) {
    CmdAction cmd;
    py::object a = item.attr("_action");
    cmd.shell = py::bool_(item.attr("shell")).cast<bool>();
    if (PyUnicode_Check(a.ptr())) {
      cmd.command = a.cast<std::string>();
    } else if (PyList_Check(a.ptr()) || PyTuple_Check(a.ptr())) {
      std::vector<std::string> argv;
      for (py::handle part : a) argv.push_back(py::str(part).cast<std::string>());
      if (cmd.shell) {
        // Popen(list, shell=True): the first item is the script, the rest its $0...
        cmd.argv = {"/bin/sh", "-c"};
        cmd.argv.insert(cmd.argv.end(), argv.begin(), argv.end());
        cmd.shell = false;
      } else {
        cmd.argv = std::move(argv);
      }
    } else {
      cmd.set_options().source = std::make_shared<PyCommandSource>(item);
    }
    if (!item.attr("save_out").is_none()) {
      cmd.set_options().save_out = py::str(item.attr("save_out"));
    }
    if (py::object buffering = py::getattr(item, "buffering", py::none());
        PyLong_Check(buffering.ptr())) {
      cmd.set_options().buffering = buffering.cast<int>();
    }
    if (py::isinstance(item, long_running_)) {
      cmd.inherit_output = true;
      cmd.ignore_status = true;
    } else if (py::isinstance(item, interactive_)) {
      cmd.inherit_output = true;
      cmd.interactive = true;
    }
    py::dict pkwargs = item.attr("pkwargs");
    if (pkwargs.contains("cwd") && !pkwargs["cwd"].is_none()) {
      cmd.set_options().cwd = py::str(pkwargs["cwd"]).cast<std::string>();
    }
    if (pkwargs.contains("env") && !pkwargs["env"].is_none()) {
      std::vector<std::string> env;
      for (auto kv : py::dict(pkwargs["env"])) {
        env.push_back(py::str(kv.first).cast<std::string>() + "=" +
                      py::str(kv.second).cast<std::string>());
      }
      cmd.set_options().env = std::move(env);
    }
    return cmd;
  }

  UptodateItem uptodate_item(const Task& task, py::handle item) {
    UptodateItem u;
    if (item.is_none()) {
      u.kind = UptodateItem::Kind::kNone;
    } else if (PyBool_Check(item.ptr())) {
      u.kind = item.cast<bool>() ? UptodateItem::Kind::kTrue : UptodateItem::Kind::kFalse;
    } else if (PyUnicode_Check(item.ptr())) {
      u.kind = UptodateItem::Kind::kShell;
      u.shell = item.cast<std::string>();
    } else if (PyCallable_Check(item.ptr()) ||
               (PyTuple_Check(item.ptr()) && py::len(item) >= 1 &&
                PyCallable_Check(py::tuple(py::reinterpret_borrow<py::object>(item))[0].ptr()))) {
      u.kind = UptodateItem::Kind::kCallable;
      std::string text;
      if (PyTuple_Check(item.ptr())) {
        py::tuple t = py::reinterpret_borrow<py::tuple>(item);
        text =
            fmt::format("{} (args={}, kwargs={})", py_repr(t[0]),
                        t.size() > 1 ? py_repr(t[1]) : "[]", t.size() > 2 ? py_repr(t[2]) : "{}");
      } else {
        text = py_repr(item) + " (args=[], kwargs={})";
      }
      py::object callable = py::reinterpret_borrow<py::object>(item);
      u.callable = std::make_shared<PyUptodate>(callable, text);
    } else {
      throw DodoError(fmt::format(
          "{}. task invalid 'uptodate' item '{}'. Must be bool, None, str, callable or tuple "
          "(callable, args, kwargs).",
          task.name, py::str(item).cast<std::string>()));
    }
    return u;
  }

  /// The place in kTaskKeys of a key that is one of our interned key
  /// objects (a dict literal's keys are interned), else past the end.
  size_t interned_key_index(PyObject* key) const {
    for (size_t i = 0; i < key_objects_.size(); ++i) {
      if (key_objects_[i].ptr() == key) return i;
    }
    return key_objects_.size();
  }

  void convert_key(Task& task, std::string_view key, py::handle v) {
    if (key == "actions") {
      if (v.is_none()) {
        task.has_action_list = false;
        return;
      }
      if (!is_sequence(v)) bad_type(task.name, "actions", "list, tuple, None", v);
      task.actions = actions(task, "actions", v);
    } else if (key == "file_dep") {
      task.file_dep = paths(task, "file_dep", "file_dep", v, true);
    } else if (key == "targets") {
      task.targets = paths(task, "targets", "target", v, false);
    } else if (key == "task_dep") {
      task.task_dep = strings(task, "task_dep", v);
    } else if (key == "setup") {
      task.setup = strings(task, "setup", v);
    } else if (key == "calc_dep") {
      task.set_extras().calc_dep = strings(task, "calc_dep", v);
    } else if (key == "uptodate") {
      if (!is_sequence(v)) bad_type(task.name, "uptodate", "list, tuple", v);
      for (py::handle item : v) task.uptodate.push_back(uptodate_item(task, item));
    } else if (key == "teardown") {
      if (!is_sequence(v)) bad_type(task.name, "teardown", "list, tuple", v);
      task.set_extras().teardown = checked_actions(task, "teardown", v);
    } else if (key == "clean") {
      if (PyBool_Check(v.ptr()) && v.cast<bool>()) {
        task.clean_targets = true;
      } else if (is_sequence(v)) {
        task.clean = checked_actions(task, "clean", v);
      } else {
        bad_type(task.name, "clean", "list, tuple, True", v);
      }
    } else if (key == "doc") {
      if (v.is_none()) return;
      if (!PyUnicode_Check(v.ptr())) bad_type(task.name, "doc", "str, None", v);
      task.doc = v.cast<std::string>();
    } else if (key == "params") {
      if (!is_sequence(v)) bad_type(task.name, "params", "list, tuple", v);
      for (py::handle entry : v) task.set_extras().params.push_back(param(task, entry));
    } else if (key == "pos_arg") {
      if (v.is_none()) return;
      if (!PyUnicode_Check(v.ptr())) bad_type(task.name, "pos_arg", "str, None", v);
      task.set_extras().pos_arg = v.cast<std::string>();
    } else if (key == "verbosity") {
      if (v.is_none()) return;
      if (PyLong_Check(v.ptr())) {
        const long n = v.cast<long>();
        if (n >= 0 && n <= 2) {
          task.verbosity = static_cast<int>(n);
          return;
        }
      }
      bad_type(task.name, "verbosity", "None, 0, 1, 2", v);
    } else if (key == "getargs") {
      if (!PyDict_Check(v.ptr())) bad_type(task.name, "getargs", "dict", v);
      for (auto kv : py::reinterpret_borrow<py::dict>(v)) {
        const std::string arg = py::str(kv.first).cast<std::string>();
        py::handle desc = kv.second;
        if (!is_sequence(desc) || py::len(desc) != 2) {
          throw DodoError(fmt::format(
              "Taskid '{}' - Invalid format for getargs of '{}'.Should be tuple with 2 elements "
              "('<taskid>', '<key-name>') got '{}'",
              task.name, arg, py::str(desc).cast<std::string>()));
        }
        py::tuple t = py::tuple(py::reinterpret_borrow<py::object>(desc));
        GetArg g{arg, py::str(t[0]).cast<std::string>(), std::nullopt};
        if (!t[1].is_none()) g.key = py::str(t[1]).cast<std::string>();
        task.set_extras().getargs.push_back(std::move(g));
      }
    } else if (key == "title") {
      if (v.is_none()) return;
      if (!PyCallable_Check(v.ptr())) bad_type(task.name, "title", "function, None", v);
      task.set_extras().title_fn = std::make_shared<PyTitle>(py::reinterpret_borrow<py::object>(v));
    } else if (key == "watch") {
      task.set_extras().watch = paths(task, "watch", "watch", v, false).to_vector();
    } else if (key == "io") {
      if (v.is_none()) return;
      if (!PyDict_Check(v.ptr())) bad_type(task.name, "io", "dict, None", v);
      py::dict io = py::reinterpret_borrow<py::dict>(v);
      if (io.contains("capture")) task.capture = py::bool_(io["capture"]).cast<bool>();
    } else if (key == "meta") {
      if (!v.is_none() && !PyDict_Check(v.ptr())) bad_type(task.name, "meta", "dict, None", v);
    } else if (key == "basename") {
      if (!PyUnicode_Check(v.ptr())) bad_type(task.name, "basename", "str", v);
    }
  }

  std::map<std::string, std::shared_ptr<DelayedCreation>> delayed_;
  py::module_ action_module_, tools_module_;
  py::object cmd_action_, long_running_, interactive_;
  std::array<py::object, std::size(kTaskKeys)> key_objects_;
  py::object name_key_ = interned("name"), actions_key_ = interned("actions"),
             getargs_key_ = interned("getargs"), uptodate_key_ = interned("uptodate"),
             subtask_of_key_ = interned("_subtask_of"), is_group_key_ = interned("_is_group"),
             placeholder_key_ = interned("_placeholder");
};

ConfigValue config_value(py::handle v) {
  ConfigValue cv;
  if (v.is_none()) {
  } else if (PyBool_Check(v.ptr())) {
    cv.value = v.cast<bool>();
  } else if (PyLong_Check(v.ptr())) {
    cv.value = v.cast<long long>();
  } else if (PyFloat_Check(v.ptr())) {
    cv.value = v.cast<double>();
  } else if (PyUnicode_Check(v.ptr())) {
    cv.value = v.cast<std::string>();
  } else if (is_sequence(v)) {
    std::vector<std::string> items;
    for (py::handle item : v) items.push_back(py::str(item).cast<std::string>());
    cv.value = std::move(items);
  } else {
    cv.value = py_repr(v);
    cv.is_object = true;
  }
  return cv;
}

bool is_user_error(const py::error_already_set& e) {
  py::module_ exceptions = py::module_::import("doit.exceptions");
  return e.matches(exceptions.attr("InvalidTask")) ||
         e.matches(exceptions.attr("InvalidDodoFile")) ||
         e.matches(exceptions.attr("InvalidCommand"));
}

}  // namespace

namespace {

/// The imported dodo module (leaked on purpose: it lives as long as Python).
py::object* g_module = nullptr;

/// Calls `fn`, turning Python errors into DodoError / PythonTraceback.
template <typename Fn>
auto with_user_errors(Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (py::error_already_set& e) {
    if (is_user_error(e)) throw DodoError(py::str(e.value()).cast<std::string>());
    throw PythonTraceback(fatal_traceback(e));
  }
}

}  // namespace

void import_dodo(const std::string& dodo_path) {
  namespace fs = std::filesystem;
  const fs::path path = fs::absolute(dodo_path);
  py::module_ sys = py::module_::import("sys");
  sys.attr("path").attr("insert")(0, path.parent_path().string());
  py::module_::import("doit._vars").attr("LOADING") = true;
  flush_console();
  with_user_errors([&] {
    // importlib.util's two functions, from the modules it takes them from:
    // those are loaded at start, importlib.util (and contextlib) are not.
    py::module_ bootstrap = py::module_::import("_frozen_importlib");
    py::module_ external = py::module_::import("_frozen_importlib_external");
    const std::string name = path.stem().string();
    py::object spec = external.attr("spec_from_file_location")(name, path.string());
    py::object module = bootstrap.attr("module_from_spec")(spec);
    sys.attr("modules")[py::str(name)] = module;
    spec.attr("loader").attr("exec_module")(module);
    g_module = new py::object(module);
  });
}

py::object dodo_config_item(const std::string& key) {
  if (g_module == nullptr) return py::none();
  py::object config = g_module->attr("__dict__").attr("get")("DOIT_CONFIG");
  if (!py::isinstance<py::dict>(config)) return py::none();
  return config.attr("get")(key);
}

std::vector<std::pair<std::string, std::vector<ParamDef>>> creator_params() {
  std::vector<std::pair<std::string, std::vector<ParamDef>>> out;
  with_user_errors([&] {
    py::dict found =
        py::module_::import("doit._loader").attr("creator_params")(g_module->attr("__dict__"));
    TaskConverter converter;
    for (auto kv : found) {
      Task holder;
      holder.name = py::str(kv.first).cast<std::string>();
      std::vector<ParamDef> params;
      for (py::handle entry : kv.second) params.push_back(converter.param_of(holder, entry));
      out.emplace_back(holder.name, std::move(params));
    }
  });
  return out;
}

namespace {

/// What `doit._loader._on_task` hands each final sub-task dict to: it is
/// converted at once (its dict then dies with the creator's next step) and
/// its file_dep and targets go to the sink in batches. The loader gets a
/// token, the index of the converted task, to put in the dict's place.
class StreamedTasks {
 public:
  StreamedTasks(TaskConverter& converter, const PathSink& sink)
      : converter_(converter), sink_(sink) {}
  ~StreamedTasks() { flush(); }

  /// Converts `dict`; returns its token (a new reference), or nullptr with
  /// a Python exception set when the task is invalid (InvalidTask carrying
  /// the message, which the loader's caller turns back into a DodoError).
  PyObject* take(PyObject* dict) {
    tasks_.emplace_back();
    try {
      converter_.convert(py::reinterpret_borrow<py::dict>(dict), tasks_.back());
    } catch (...) {
      tasks_.pop_back();
      return python_error();
    }
    const Task& task = tasks_.back();
    if (sink_) {
      // In the order the checks ask for them (a task's targets, then its
      // file_dep): each path is then the entry after the one asked for
      // before it in the stat cache, found without hashing.
      for (const auto* list : {&task.targets, &task.file_dep}) {
        batch_.insert(batch_.end(), list->begin(), list->end());
      }
      if (batch_.size() >= kBatch) flush();
    }
    return PyLong_FromSize_t(tasks_.size() - 1);
  }

  /// The C++ exception in flight as a Python one; nullptr for the C API.
  static PyObject* python_error() {
    try {
      throw;
    } catch (const DodoError& e) {
      static auto* invalid_task =
          new py::object(py::module_::import("doit.exceptions").attr("InvalidTask"));
      PyErr_SetString(invalid_task->ptr(), e.what());
      return nullptr;
    } catch (py::error_already_set& e) {
      e.restore();
      return nullptr;
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
      return nullptr;
    } catch (...) {
      PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception while converting a task");
      return nullptr;
    }
  }

  /// The tasks of `entries` (the loader's list: tokens, and dicts it kept,
  /// such as groups) in its order, made of the streamed tasks themselves:
  /// each stays in its place in memory, no second copy. The loader gives
  /// each token once, in increasing order.
  std::deque<Task> assemble(const py::list& entries) {
    std::vector<std::pair<size_t, Task>> kept;  // (position, task) of the dicts
    size_t next_token = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      py::handle entry = entries[i];
      if (!PyLong_Check(entry.ptr())) {
        kept.emplace_back(i, converter_.convert(py::reinterpret_borrow<py::dict>(entry)));
      } else if (PyLong_AsSize_t(entry.ptr()) != next_token++) {
        PyErr_Clear();
        throw std::logic_error("doit._loader returned the task tokens out of order");
      }
    }
    if (next_token != tasks_.size()) {
      throw std::logic_error("doit._loader returned fewer task tokens than it was given");
    }
    std::deque<Task> out = std::move(tasks_);
    // In increasing positions: each lands where the list has it (a group
    // is usually first: a deque takes it at the front without moving others).
    for (auto& [position, task] : kept) {
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(position), std::move(task));
    }
    return out;
  }

  void flush() {
    if (batch_.empty() || !sink_) return;
    sink_(std::move(batch_));
    batch_ = {};
    batch_.reserve(kBatch + 64);
  }

 private:
  static constexpr size_t kBatch = 2048;
  TaskConverter& converter_;
  const PathSink& sink_;
  /// The converted tasks; a token is an index.
  std::deque<Task> tasks_;
  std::vector<std::string> batch_;
};

/// The StreamedTasks of the create_tasks() call in progress, if any: an
/// `_on_task` someone kept and calls later gets its dict back.
StreamedTasks* g_streamed = nullptr;

PyObject* on_task(PyObject*, PyObject* task) {
  if (g_streamed == nullptr || !PyDict_Check(task)) {
    Py_INCREF(task);
    return task;
  }
  return g_streamed->take(task);
}

PyMethodDef g_on_task_def = {"_on_task", on_task, METH_O, nullptr};

}  // namespace

LoadedDodo create_tasks(const std::string& command, const CreatorArgs& creator_args,
                        const PathSink& early_paths) {
  LoadedDodo loaded;
  py::list task_dicts;
  py::object loader_module = py::module_::import("doit._loader");
  std::optional<TaskConverter> converter;
  with_user_errors([&] { converter.emplace(); });
  StreamedTasks streamed(*converter, early_paths);
  py::object fn = py::reinterpret_steal<py::object>(PyCFunction_New(&g_on_task_def, nullptr));
  if (!fn) throw py::error_already_set();
  loader_module.attr("_on_task") = fn;
  g_streamed = &streamed;
  struct Unhook {
    PyObject* module;
    ~Unhook() {
      g_streamed = nullptr;
      if (PyObject_SetAttrString(module, "_on_task", Py_None) != 0) PyErr_Clear();
    }
  } unhook{loader_module.ptr()};
  with_user_errors([&] {
    py::dict args;
    for (const auto& [creator, values] : creator_args) {
      py::dict kwargs;
      for (const auto& [name, value] : values) kwargs[py::str(name)] = option_object(value);
      args[py::str(creator)] = kwargs;
    }
    py::tuple result = loader_module.attr("load")(g_module->attr("__dict__"), command, args);
    for (auto kv : py::dict(result[0])) {
      loaded.config[py::str(kv.first).cast<std::string>()] = config_value(kv.second);
    }
    task_dicts = result[1];
  });
  streamed.flush();
  py::module_::import("doit._vars").attr("LOADING") = false;
  with_user_errors([&] { loaded.tasks = streamed.assemble(task_dicts); });
  return loaded;
}

LoadedDodo load_dodo(const std::string& dodo_path, const std::string& command) {
  import_dodo(dodo_path);
  return create_tasks(command, {});
}

std::vector<Task> PyDelayedCreator::create(const std::string& creator, const std::string& base) {
  try {
    return with_user_errors([&] {
      py::list dicts = py::module_::import("doit._loader").attr("create_delayed")(creator, base);
      TaskConverter converter;
      std::vector<Task> tasks;
      for (py::handle d : dicts)
        tasks.push_back(converter.convert(py::reinterpret_borrow<py::dict>(d)));
      return tasks;
    });
  } catch (const DodoError& e) {
    throw GraphError(e.what());
  }
}

void set_command_line_vars(const std::vector<std::pair<std::string, std::string>>& vars,
                           const std::string& initial_workdir) {
  py::module_ v = py::module_::import("doit._vars");
  py::dict d;
  for (const auto& [k, val] : vars) d[py::str(k)] = py::str(val);
  v.attr("set_vars")(d);
  v.attr("set_initial_workdir")(initial_workdir);
}

}  // namespace doit::python
