// Task params on the command line (SPEC §6.3, §10.1): the words after a task
// name (or a @task_params creator's name) are its options.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cli/options.h"
#include "doit/task.h"

namespace doit::cli {

/// Params as command-line options.
std::vector<OptionDef> param_options(const std::vector<ParamDef>& params);

struct ParamValues {
  /// Values given on the command line or in the params' env_var.
  std::vector<std::pair<std::string, OptionValue>> values;
  /// Words left after the options (positional words).
  std::vector<std::string> rest;
};

/// Parses `words` as options of `params` (getopt rules: stops at the first
/// non-option word) and converts them with each param's type. Throws UserError.
ParamValues parse_params(const std::vector<ParamDef>& params,
                         const std::vector<std::string>& words);

/// Sets (or adds) the option `name` of `task`.
void set_option(Task& task, const std::string& name, OptionValue value);

}  // namespace doit::cli
