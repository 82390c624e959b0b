// Fuzzes the command line: argv (words separated by NUL bytes in the input)
// split into the command and its options as main() does, then the task
// params after a task name. The only way out for bad words is a user error
// (OptionError, ValueError, UserError); anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/command_line.h"
#include "cli/options.h"
#include "cli/task_options.h"

namespace {

using namespace doit;
using namespace doit::cli;

/// A param type that refuses text starting with '!' (as int('x') would).
class FuzzConverter : public ParamConverter {
 public:
  OptionValue default_value() override { return OptionValue{nullptr, Json(), std::nullopt}; }
  OptionValue from_bool(bool value) override {
    return OptionValue{nullptr, Json::boolean(value), std::nullopt};
  }
  OptionValue from_list(const std::vector<std::string>& items) override {
    Json::Array array;
    for (const std::string& item : items) array.push_back(Json::string(item));
    return OptionValue{nullptr, Json::array(std::move(array)), std::nullopt};
  }
  OptionValue from_text(const std::string& text) override {
    if (text.starts_with("!")) throw std::invalid_argument("Error parsing parameter: " + text);
    return OptionValue{nullptr, Json::string(text), std::nullopt};
  }
};

std::vector<ParamDef> fuzz_params() {
  const auto converter = std::make_shared<FuzzConverter>();
  std::vector<ParamDef> params(4);
  params[0].name = "flag";
  params[0].short_name = 'f';
  params[0].long_name = "flag";
  params[0].inverse = "no-flag";
  params[0].kind = ParamDef::Kind::kBool;
  params[1].name = "items";
  params[1].short_name = 'i';
  params[1].long_name = "item";
  params[1].kind = ParamDef::Kind::kList;
  params[2].name = "mode";
  params[2].long_name = "mode";
  params[2].choices = {"fast", "slow"};
  params[3].name = "text";
  params[3].short_name = 't';
  params[3].long_name = "text";
  params[3].env_var = "DOIT_FUZZ_UNSET_VARIABLE";
  for (ParamDef& p : params) p.converter = converter;
  return params;
}

std::optional<std::vector<OptionDef>> options_of(const std::string& name) {
  std::vector<OptionDef> defs;
  if (name == "run") {
    defs = run_options();
  } else if (name == "list") {
    defs = list_options();
  } else if (name == "clean") {
    defs = clean_options();
  } else if (name == "dumpdb") {
    return dumpdb_options();
  } else if (name == "strace") {
    defs = strace_options();
  } else if (name == "tabcompletion") {
    defs = tabcompletion_options();
  } else if (name == "help") {
    return no_options();
  } else {
    return std::nullopt;
  }
  std::vector<OptionDef> extra = dodo_options();
  defs.insert(defs.end(), extra.begin(), extra.end());
  return defs;
}

/// Reads every value as each getter would.
void read_back(const std::vector<OptionDef>& defs, const Parsed& parsed) {
  OptionValues values;
  for (const auto& [name, value] : parsed.values) values.set_explicit(name, value);
  for (const OptionDef& d : defs) {
    values.get_bool(d.name);
    values.get_int(d.name);
    values.get_string(d.name);
    values.get_list(d.name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.emplace_back();
    } else {
      args.back() += static_cast<char>(data[i]);
    }
  }
  static const std::vector<OptionDef> early = early_loader_options();
  const CommandLine line = split_command_line(args, early, options_of);
  const std::vector<OptionDef> defs = *options_of(line.command);
  Parsed parsed;
  try {
    parsed = parse_options(defs, line.words);
  } catch (const OptionError& e) {
    parse_error_message("Command", defs, e);
    return 0;
  } catch (const ValueError&) {
    return 0;
  }
  read_back(defs, parsed);
  // The words after a task name are its params.
  static const std::vector<ParamDef> params = fuzz_params();
  std::vector<std::string> rest = parsed.rest;
  while (!rest.empty()) {
    rest.erase(rest.begin());  // the task name
    try {
      rest = parse_params(params, rest).rest;
    } catch (const UserError&) {
      return 0;
    }
  }
  return 0;
}
