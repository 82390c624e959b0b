// TOML through the embedded interpreter: `tomllib` (Python 3.11+), else the
// `tomli` or `tomlkit` package, as pydoit looks for them.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "doit/json.h"

namespace doit::python {

/// Invalid TOML (or text that is not UTF-8). what() is the parser's message
/// without its position; line and column are 1-based, 0 when unknown.
class TomlError : public std::runtime_error {
 public:
  TomlError(const std::string& message, int line, int column)
      : std::runtime_error(message), line_(line), column_(column) {}
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_, column_;
};

/// Parses the bytes of a TOML document. Needs a running Interpreter.
/// Returns the document as Json (native types kept; dates and times as
/// their ISO text), or nullopt when the interpreter has no TOML parser.
/// Throws TomlError.
std::optional<Json> parse_toml(const std::string& bytes);

}  // namespace doit::python
