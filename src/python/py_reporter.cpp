#include "python/py_reporter.h"

#include <utility>

#include "python/adapters.h"
#include "python/loader.h"

namespace doit::python {
namespace {

class PyReporter : public Reporter {
 public:
  explicit PyReporter(py::object reporter) : reporter_(std::move(reporter)) {}

  void initialize(const TaskGraph& graph, const std::vector<std::string>& selected) {
    if (!py::hasattr(reporter_, "initialize")) return;
    call([&] {
      py::dict tasks;
      for (const Task& task : graph.tasks()) tasks[py::str(task.name)] = task_proxy(task);
      py::list names;
      for (const std::string& name : selected) names.append(name);
      reporter_.attr("initialize")(tasks, names);
    });
  }

  void get_status(const Task& task) override { on_task("get_status", task); }
  void execute_task(const Task& task) override { on_task("execute_task", task); }
  void skip_uptodate(const Task& task) override { on_task("skip_uptodate", task); }
  void skip_ignore(const Task& task) override { on_task("skip_ignore", task); }
  void add_success(const Task& task) override { on_task("add_success", task); }
  void teardown_task(const Task& task) override { on_task("teardown_task", task); }

  void add_failure(const Task& task, const Failure& failure) override {
    call([&] {
      reporter_.attr("add_failure")(task_proxy(task), fail_object(failure_kind_name(failure.kind),
                                                                  failure.message, failure.report));
    });
  }
  void runtime_error(const std::string& message) override {
    call([&] { reporter_.attr("runtime_error")(message); });
  }
  void cleanup_error(const std::string& message) override {
    call([&] { reporter_.attr("cleanup_error")(fail_object("SetupError", message, true)); });
  }
  void complete_run() override {
    call([&] { reporter_.attr("complete_run")(); });
  }

 private:
  /// A doit.exceptions failure whose get_msg() is `message` (which already
  /// holds the traceback text, if any).
  static py::object fail_object(std::string_view kind, std::string message, bool report) {
    if (!message.empty() && message.back() == '\n') message.pop_back();
    py::object exceptions = py::module_::import("doit.exceptions");
    return exceptions.attr(std::string(kind).c_str())(message, py::none(),
                                                      py::arg("report") = report);
  }

  void on_task(const char* method, const Task& task) {
    call([&] {
      if (py::hasattr(reporter_, method)) reporter_.attr(method)(task_proxy(task));
    });
  }

  template <typename F>
  void call(F&& f) {
    try {
      f();
    } catch (py::error_already_set& e) {
      throw PythonTraceback(fatal_traceback(e));
    }
  }

  py::object reporter_;
};

}  // namespace

std::unique_ptr<Reporter> make_config_reporter(Output& out, int failure_verbosity) {
  try {
    py::object configured = dodo_config_item("reporter");
    if (configured.is_none() || py::isinstance<py::str>(configured)) return nullptr;
    py::object outstream = py::module_::import("doit._runtime")
                               .attr("_LiveStream")(py::cpp_function(
                                   [&out](const std::string& text) { out.write(text); }));
    if (!py::isinstance<py::type>(configured)) {
      return std::make_unique<PyReporter>(configured);  // an instance
    }
    py::dict options;
    options["failure_verbosity"] = failure_verbosity;
    return std::make_unique<PyReporter>(configured(outstream, options));
  } catch (py::error_already_set& e) {
    throw PythonTraceback(fatal_traceback(e));
  }
}

void initialize_reporter(Reporter& reporter, const TaskGraph& graph,
                         const std::vector<std::string>& selected) {
  if (auto* py_reporter = dynamic_cast<PyReporter*>(&reporter)) {
    py_reporter->initialize(graph, selected);
  }
}

}  // namespace doit::python
