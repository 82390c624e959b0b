#include "cli/config_files.h"

#include <fmt/format.h>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "cli/task_options.h"
#include "doit/ini.h"
#include "doit/output.h"
#include "doit/text.h"
#include "python/toml.h"

namespace doit::cli {
namespace fs = std::filesystem;
namespace {

constexpr const char* kGlobalSection = "GLOBAL";
constexpr std::string_view kTaskSectionPrefix = "task:";
/// pyproject.toml is parsed (which starts Python) only if it mentions this.
constexpr std::string_view kTomlMarker = "tool.doit";

/// The bytes of `path`, or nullopt when there is no such file.
std::optional<std::string> read_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw UserError(fmt::format("Cannot read config file '{}': {}", path.filename().string(),
                                std::strerror(errno)));
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string parse_error(const char* file, int line, int column, const std::string& what) {
  std::string where;
  if (line > 0) where += fmt::format(", line {}", line);
  if (column > 0) where += fmt::format(", column {}", column);
  return fmt::format("Error parsing config file '{}'{}: {}", file, where, what);
}

/// `value`, which [tool.doit] needs to be a table at `where`.
const Json& table(const Json& value, const std::string& where) {
  if (!value.is_object()) {
    throw UserError(
        fmt::format("Error in config file '{}': {} must be a table", kPyprojectFile, where));
  }
  return value;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// pyproject.toml's [tool.doit] as sections (SPEC §3.2).
void merge_pyproject(const Json& document, ConfigFiles& files) {
  const Json* tool = document.is_object() ? document.find("tool") : nullptr;
  const Json* doit = tool != nullptr && tool->is_object() ? tool->find("doit") : nullptr;
  if (doit == nullptr || !doit->is_object()) return;
  for (const auto& [key, value] : doit->members()) {
    if (key != "commands" && key != "tasks" && key != "plugins") {
      files.sections[kGlobalSection][key] = value;
      continue;
    }
    const std::string where = "tool.doit." + key;
    for (const auto& [name, values] : table(value, where).members()) {
      const std::string section = key == "tasks"     ? std::string(kTaskSectionPrefix) + name
                                  : key == "plugins" ? upper(name)
                                                     : name;
      for (const auto& [k, v] : table(values, where + "." + name).members()) {
        files.sections[section][k] = v;
      }
    }
  }
}

void merge_ini(const IniFile& ini, ConfigFiles& files) {
  for (const IniSection& section : ini.sections) {
    ConfigSection& into = files.sections[section.name];
    for (const IniEntry& e : section.entries) {
      into[e.key] = e.value ? Json::string(*e.value) : Json();
    }
  }
}

/// The integer a JSON number's text spells, if it is one (no fraction, no exponent).
std::optional<long long> integer(const std::string& text) {
  long long n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

/// A config-file value for option `def`; nullopt leaves the option alone.
/// Throws ValueError.
std::optional<Value> option_value(const OptionDef& def, const Json& v) {
  switch (v.type()) {
    case Json::Type::kString:
      return convert_value(def, v.text());
    case Json::Type::kBool:
      if (def.type == OptType::kInt) return Value(static_cast<long long>(v.as_bool()));
      return Value(v.as_bool());
    case Json::Type::kNumber:
      if (const std::optional<long long> n = integer(v.text())) {
        if (def.type == OptType::kBool) return Value(*n != 0);
        return Value(*n);
      }
      return convert_value(def, v.text());
    case Json::Type::kArray: {
      std::vector<std::string> items;
      for (const Json& item : v.items()) items.push_back(python_str(item));
      return Value(std::move(items));
    }
    case Json::Type::kNull:  // a key without value: None, false for a flag
      if (def.type == OptType::kBool) return Value(false);
      return std::nullopt;
    case Json::Type::kObject:
      return std::nullopt;
  }
  return std::nullopt;
}

/// A config-file value for param `p` of a task. Throws ValueError or
/// std::invalid_argument (the param's type rejected the text).
OptionValue param_value(const ParamDef& p, const Json& v) {
  if (v.type() != Json::Type::kString) return OptionValue{nullptr, v, std::nullopt};
  OptionDef def;
  def.name = p.name;
  switch (p.kind) {
    case ParamDef::Kind::kBool:
      def.type = OptType::kBool;
      return p.converter->from_bool(std::get<bool>(convert_value(def, v.text())));
    case ParamDef::Kind::kList:
      def.type = OptType::kList;
      return p.converter->from_list(
          std::get<std::vector<std::string>>(convert_value(def, v.text())));
    case ParamDef::Kind::kOther:
      def.type = OptType::kString;
      def.choices = p.choices;
      convert_value(def, v.text());  // checks the choices
      return p.converter->from_text(v.text());
  }
  return p.converter->from_text(v.text());
}

}  // namespace

const ConfigSection* ConfigFiles::find(const std::string& name) const {
  auto it = sections.find(name);
  return it == sections.end() ? nullptr : &it->second;
}

ConfigFiles read_config_files(const fs::path& dir, const std::function<void()>& start_python) {
  ConfigFiles files;
  if (std::optional<std::string> text = read_file(dir / kPyprojectFile);
      text && text->find(kTomlMarker) != std::string::npos) {
    start_python();
    std::optional<Json> document;
    try {
      document = python::parse_toml(*text);
    } catch (const python::TomlError& e) {
      throw UserError(parse_error(kPyprojectFile, e.line(), e.column(), e.what()));
    }
    if (document) {
      merge_pyproject(*document, files);
    } else {
      flush_console();
      Output::err().write(fmt::format(
          "WARNING: File \"{}\" might contain doit configuration,but a TOML parser is not "
          "available.\n\tPlease install one of: tomllib, tomli, tomlkit.\n",
          kPyprojectFile));
      Output::err().flush();
    }
  }
  if (std::optional<std::string> text = read_file(dir / kIniFile)) {
    try {
      merge_ini(parse_ini(*text), files);
    } catch (const IniError& e) {
      throw UserError(parse_error(kIniFile, e.line(), 0, e.what()));
    }
  }
  return files;
}

void apply_config_files(const ConfigFiles& files, const std::string& command,
                        const std::vector<OptionDef>& defs, OptionValues& values) {
  ConfigSection merged;
  if (const ConfigSection* global = files.find(kGlobalSection)) merged = *global;
  if (const ConfigSection* own = files.find(command)) {
    for (const auto& [key, value] : *own) merged[key] = value;
  }
  for (const OptionDef& def : defs) {
    auto it = merged.find(def.name);
    if (it == merged.end()) continue;
    try {
      if (std::optional<Value> v = option_value(def, it->second)) {
        values.set_config_file(def.name, std::move(*v));
      }
    } catch (const ValueError& e) {
      throw UserError(e.what());
    }
  }
}

std::vector<std::pair<std::string, OptionValue>> task_config(const ConfigFiles& files,
                                                             const std::string& name,
                                                             const std::vector<ParamDef>& params) {
  std::vector<std::pair<std::string, OptionValue>> out;
  const ConfigSection* section = files.find(std::string(kTaskSectionPrefix) + name);
  if (section == nullptr) return out;
  for (const ParamDef& p : params) {
    auto it = section->find(p.name);
    if (it == section->end()) continue;
    try {
      out.emplace_back(p.name, param_value(p, it->second));
    } catch (const ValueError& e) {
      throw UserError(e.what());
    } catch (const std::invalid_argument& e) {
      throw UserError(e.what());
    }
  }
  return out;
}

void apply_task_config(const ConfigFiles& files, TaskGraph& graph) {
  for (const auto& [section, values] : files.sections) {
    if (!section.starts_with(kTaskSectionPrefix)) continue;
    const int t = graph.find(std::string_view(section).substr(kTaskSectionPrefix.size()));
    if (t == TaskGraph::kNotFound) continue;
    Task& task = graph.task(t);
    for (auto& [name, value] : task_config(files, task.name, task.extras().params)) {
      set_option(task, name, std::move(value));
    }
  }
}

}  // namespace doit::cli
