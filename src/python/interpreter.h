// The embedded CPython: started only by commands that load a dodo file.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace doit::python {

/// The interpreter doit-cpp was built against (its path at configure time).
const char* configured_python();

class Interpreter {
 public:
  /// Starts CPython so that it sees what `python3` (or the active
  /// VIRTUAL_ENV's python) would: its site-packages and PYTHONPATH. Puts the
  /// embedded `doit` package first on the import path. `argv` becomes sys.argv.
  explicit Interpreter(const std::vector<std::string>& argv);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
};

}  // namespace doit::python
