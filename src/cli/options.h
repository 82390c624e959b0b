// Command-line options with pydoit's getopt semantics (SPEC §1.3): short
// options with attached or separate values, clustered flags, long options
// with `=` or a separate value and unique prefixes, parsing stops at the
// first non-option word. Shared by commands and (later) task params.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace doit::cli {

enum class OptType { kBool, kInt, kString, kList };

struct OptionDef {
  std::string name;  ///< config name, e.g. "dep_file"
  char short_name = 0;
  std::string long_name;
  OptType type = OptType::kString;
  std::string help;
  std::string inverse;  ///< long name setting a bool option to false
  std::vector<std::string> choices;
  std::string env_var;
  std::string metavar = "ARG";
  std::string section;       ///< help section
  std::string default_text;  ///< the default as help shows it
  /// Internal: accepted but not shown by `help`.
  bool hidden = false;
};

using Value = std::variant<bool, long long, std::string, std::vector<std::string>>;

/// getopt's own message, e.g. "option --foo not recognized".
class OptionError : public std::runtime_error {
 public:
  OptionError(const std::string& message, std::vector<std::string> got)
      : std::runtime_error(message), got_(std::move(got)) {}
  /// The words that failed (for "Got: [...]").
  const std::vector<std::string>& got() const { return got_; }

 private:
  std::vector<std::string> got_;
};

/// A value that its type rejects; what() is the whole user message.
class ValueError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Parsed {
  std::map<std::string, Value> values;  ///< options given explicitly
  std::vector<std::string> rest;        ///< from the first non-option word on
};

/// A boolean option (default False).
OptionDef option_flag(std::string name, char short_name, std::string long_name, std::string help,
                      std::string section = "");
/// An option taking a value.
OptionDef option_value(std::string name, char short_name, std::string long_name, OptType type,
                       std::string help, std::string default_text, std::string section = "");

/// Parses `args` against `defs`. Throws OptionError or ValueError.
Parsed parse_options(const std::vector<OptionDef>& defs, const std::vector<std::string>& args);

/// Converts text to `def`'s type (int, bool words, list split on ','). Throws ValueError.
Value convert_value(const OptionDef& def, const std::string& text);

/// "CmdOption({'name':'dep_file', 'short':'','long':'db-file' })", as pydoit prints them.
std::string option_repr(const OptionDef& def);

/// The ERROR text for an OptionError ("Error parsing Command: ... Got: [...]").
std::string parse_error_message(const std::string& what, const std::vector<OptionDef>& defs,
                                const OptionError& error);

/// Values with their priority applied (SPEC §1.4): explicit (command line
/// and environment) > config (DOIT_CONFIG) > config files (doit.cfg,
/// pyproject.toml) > default.
class OptionValues {
 public:
  void set_default(const std::string& name, Value v) { defaults_[name] = std::move(v); }
  void set_config_file(const std::string& name, Value v) { config_file_[name] = std::move(v); }
  void set_config(const std::string& name, Value v) { config_[name] = std::move(v); }
  void set_explicit(const std::string& name, Value v) { explicit_[name] = std::move(v); }
  /// Set on the command line or by the environment (not by any config).
  bool is_explicit(const std::string& name) const { return explicit_.contains(name); }
  /// Set by anything but the built-in default.
  bool is_configured(const std::string& name) const {
    return explicit_.contains(name) || config_.contains(name) || config_file_.contains(name);
  }
  bool has(const std::string& name) const;
  const Value* get(const std::string& name) const;
  bool get_bool(const std::string& name, bool fallback = false) const;
  long long get_int(const std::string& name, long long fallback = 0) const;
  std::string get_string(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> get_list(const std::string& name) const;

 private:
  std::map<std::string, Value> defaults_, config_file_, config_, explicit_;
};

}  // namespace doit::cli
