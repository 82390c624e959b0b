// The `doit` compatibility package, compiled into the binary.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace doit::python {

struct EmbeddedModule {
  const char* name;  ///< "doit", "doit.tools", ...
  bool is_package;
  const char* source;
  /// The module's code object, marshalled at build time by the interpreter
  /// the build embeds; usable only when embedded_magic() is the running
  /// interpreter's magic number.
  const unsigned char* code;
  std::size_t code_size;
};

/// Every module of src/python/doit, in name order.
const std::vector<EmbeddedModule>& embedded_modules();

/// The bytecode magic number (importlib.util.MAGIC_NUMBER) of the
/// interpreter that marshalled the code objects.
std::string_view embedded_magic();

}  // namespace doit::python
