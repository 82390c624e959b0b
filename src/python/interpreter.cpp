#include "python/interpreter.h"

#include <pybind11/embed.h>
#include <cstdlib>
#include <filesystem>

#include "doit/executor.h"
#include "doit/work_counters.h"
#include "python/embedded_package.h"

namespace py = pybind11;

namespace doit::python {
namespace {

/// Before Python finalizes: the objects living now are left out of the
/// collections finalization makes (gc.freeze). They are freed all the
/// same when the modules holding them are cleared; only what is garbage in
/// a reference cycle is not collected then, whose __del__ Python does not
/// promise at exit anyway. Those collections were about half of
/// finalization: 2 ms of every run.
void freeze_objects_for_exit() {
  try {
    py::module_::import("gc").attr("freeze")();
  } catch (const py::error_already_set&) {
    // finalization collects them, as without
  }
}

// Serves the embedded package's modules from memory, ahead of sys.path, so
// an installed pydoit never shadows it. `_modules` maps a module name to
// (source, is_package, code): `code` is the marshalled code object made at
// build time, or None when it does not suit this interpreter; then the source
// is compiled. Only modules that are already loaded are used here
// (_frozen_importlib, marshal), so that serving the package imports nothing.
constexpr const char* kFinderSource = R"PY(
import sys
import marshal
from _frozen_importlib import ModuleSpec

class _EmbeddedDoitFinder:
    """Imports the doit package compiled into the doit-cpp binary."""

    def __init__(self, modules):
        self._modules = modules

    def find_spec(self, name, path=None, target=None):
        entry = self._modules.get(name)
        if entry is None:
            return None
        is_package = entry[1]
        origin = '<doit-cpp>/' + name.replace('.', '/') + ('/__init__.py' if is_package else '.py')
        return ModuleSpec(name, self, origin=origin, is_package=is_package)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source, _, code = self._modules[module.__name__]
        if code is not None:
            code = marshal.loads(code)
        else:
            code = compile(source, module.__spec__.origin, 'exec')
        exec(code, module.__dict__)

    def get_source(self, name):
        entry = self._modules.get(name)
        return entry[0] if entry else None

for _name in [n for n in sys.modules if n == 'doit' or n.startswith('doit.')]:
    del sys.modules[_name]
sys.meta_path.insert(0, _EmbeddedDoitFinder(_modules))
)PY";

/// Whether the embedded bytecode was made by an interpreter with this one's
/// magic number (PyImport_GetMagicNumber gives its bytes, little-endian).
bool embedded_code_usable() {
  const long magic = PyImport_GetMagicNumber();
  const std::string_view embedded = embedded_magic();
  constexpr size_t kMagicBytes = 4;
  constexpr int kBitsPerByte = 8;
  constexpr long kByteMask = 0xFF;
  if (embedded.size() != kMagicBytes) return false;
  for (size_t i = 0; i < kMagicBytes; ++i) {
    const long byte = (magic >> (kBitsPerByte * i)) & kByteMask;
    if (static_cast<unsigned char>(embedded[i]) != byte) return false;
  }
  return true;
}

std::string interpreter_path() {
  // An active virtualenv wins, as it would for `python3` on the user's PATH.
  if (const char* venv = std::getenv("VIRTUAL_ENV"); venv != nullptr && *venv != '\0') {
    for (const char* name : {"bin/python3", "bin/python"}) {
      std::filesystem::path candidate = std::filesystem::path(venv) / name;
      std::error_code ec;
      if (std::filesystem::exists(candidate, ec)) return candidate.string();
    }
  }
  return DOIT_PYTHON_EXECUTABLE;
}

void check(PyStatus status) {
  if (PyStatus_Exception(status)) Py_ExitStatusException(status);
}

}  // namespace

const char* configured_python() { return DOIT_PYTHON_EXECUTABLE; }

Interpreter::Interpreter(const std::vector<std::string>& argv) {
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;
  config.install_signal_handlers = 1;
  const std::string program = interpreter_path();
  check(PyConfig_SetBytesString(&config, &config.program_name, program.c_str()));
  std::vector<const char*> cargv;
  for (const std::string& a : argv) cargv.push_back(a.c_str());
  py::initialize_interpreter(&config, static_cast<int>(cargv.size()), cargv.data(),
                             /*add_program_dir_to_path=*/false);

  const bool use_code = embedded_code_usable();
  py::dict modules;
  for (const EmbeddedModule& m : embedded_modules()) {
    py::object code = py::none();
    if (use_code) {
      // A view of the static bytes: nothing copied.
      PyObject* view =
          PyMemoryView_FromMemory(const_cast<char*>(reinterpret_cast<const char*>(m.code)),
                                  static_cast<Py_ssize_t>(m.code_size), PyBUF_READ);
      if (view == nullptr) throw py::error_already_set();
      code = py::reinterpret_steal<py::object>(view);
    }
    modules[py::str(m.name)] = py::make_tuple(py::str(m.source), py::bool_(m.is_package), code);
  }
  py::dict globals;
  globals["__builtins__"] = py::module_::import("builtins");
  globals["_modules"] = modules;
  py::exec(kFinderSource, globals);
  if (work::enabled()) {
    PyEval_SetProfile(
        [](PyObject*, PyFrameObject*, int what, PyObject*) {
          if (what == PyTrace_CALL || what == PyTrace_C_CALL) work::add(work::Counter::kPythonCall);
          return 0;
        },
        nullptr);
  }
}

Interpreter::~Interpreter() {
  // A SIGINT/SIGTERM arriving while Python finalizes must not call into it.
  set_interrupt_hook(nullptr);
  freeze_objects_for_exit();
  py::finalize_interpreter();
}

}  // namespace doit::python
