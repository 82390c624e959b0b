#include "python/toml.h"

#include <pybind11/embed.h>

namespace py = pybind11;

namespace doit::python {
namespace {

// Returns None (no parser), ('ok', json_text) or ('error', message, line, column).
constexpr const char* kParseSource = R"PY(
def _parse_toml(raw):
    import importlib, json, re
    for name in ('tomllib', 'tomli', 'tomlkit'):
        try:
            parser = importlib.import_module(name)
        except ImportError:
            continue
        break
    else:
        return None
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b'\n') + 1
        return ('error', 'not valid UTF-8: ' + e.reason, line, 0)
    try:
        data = parser.loads(text)
    except Exception as e:
        message = getattr(e, 'msg', None) or str(e)
        line = getattr(e, 'lineno', None) or getattr(e, 'line', None) or 0
        column = getattr(e, 'colno', None) or getattr(e, 'col', None) or 0
        found = re.search(r'\s*\(at line (\d+), column (\d+)\)$', message)
        if found:
            line, column = int(found.group(1)), int(found.group(2))
            message = message[:found.start()]
        found = re.search(r' at line (\d+) col (\d+)$', message)  # tomlkit
        if found:
            message = message[:found.start()]
        found = re.search(r'\s*\(at end of document\)$', message)
        if found:
            line, column = text.count('\n') + 1, 0
            message = message[:found.start()]
        return ('error', message, line, column)
    if hasattr(data, 'unwrap'):
        data = data.unwrap()
    def iso(value):
        return value.isoformat() if hasattr(value, 'isoformat') else str(value)
    return ('ok', json.dumps(data, default=iso))
)PY";

}  // namespace

std::optional<Json> parse_toml(const std::string& bytes) {
  py::dict scope;
  scope["__builtins__"] = py::module_::import("builtins");
  py::exec(kParseSource, scope);
  py::object result = scope["_parse_toml"](py::bytes(bytes));
  if (result.is_none()) return std::nullopt;
  py::tuple t = result.cast<py::tuple>();
  if (t[0].cast<std::string>() == "error") {
    throw TomlError(t[1].cast<std::string>(), t[2].cast<int>(), t[3].cast<int>());
  }
  return Json::parse(t[1].cast<std::string>());
}

}  // namespace doit::python
