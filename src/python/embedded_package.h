// The `doit` compatibility package, compiled into the binary.
#pragma once

#include <vector>

namespace doit::python {

struct EmbeddedModule {
  const char* name;  ///< "doit", "doit.tools", ...
  bool is_package;
  const char* source;
};

/// Every module of src/python/doit, in name order.
const std::vector<EmbeddedModule>& embedded_modules();

}  // namespace doit::python
