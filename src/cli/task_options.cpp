#include "cli/task_options.h"

#include <cstdlib>
#include <stdexcept>

#include "cli/command.h"

namespace doit::cli {

std::vector<OptionDef> param_options(const std::vector<ParamDef>& params) {
  std::vector<OptionDef> defs;
  for (const ParamDef& p : params) {
    OptionDef d;
    d.name = p.name;
    d.short_name = p.short_name;
    d.long_name = p.long_name;
    d.type = p.kind == ParamDef::Kind::kBool   ? OptType::kBool
             : p.kind == ParamDef::Kind::kList ? OptType::kList
                                               : OptType::kString;
    d.inverse = p.inverse;
    d.choices = p.choices;
    d.help = p.help;
    d.env_var = p.env_var;
    d.metavar = p.metavar;
    d.section = p.section;
    defs.push_back(std::move(d));
  }
  return defs;
}

ParamValues parse_params(const std::vector<ParamDef>& params,
                         const std::vector<std::string>& words) {
  const std::vector<OptionDef> defs = param_options(params);
  Parsed parsed;
  try {
    parsed = parse_options(defs, words);
  } catch (const OptionError& e) {
    throw UserError(parse_error_message("Task", defs, e));
  } catch (const ValueError& e) {
    throw UserError(e.what());
  }
  ParamValues out;
  out.rest = std::move(parsed.rest);
  for (const ParamDef& p : params) {
    auto it = parsed.values.find(p.name);
    try {
      if (it == parsed.values.end()) {
        const char* env = p.env_var.empty() ? nullptr : std::getenv(p.env_var.c_str());
        if (env == nullptr) continue;
        out.values.emplace_back(p.name, p.kind == ParamDef::Kind::kList
                                            ? p.converter->from_list({env})
                                            : p.converter->from_text(env));
      } else if (const bool* b = std::get_if<bool>(&it->second)) {
        out.values.emplace_back(p.name, p.converter->from_bool(*b));
      } else if (const auto* l = std::get_if<std::vector<std::string>>(&it->second)) {
        out.values.emplace_back(p.name, p.converter->from_list(*l));
      } else {
        out.values.emplace_back(p.name, p.converter->from_text(std::get<std::string>(it->second)));
      }
    } catch (const std::invalid_argument& e) {
      throw UserError(e.what());
    }
  }
  return out;
}

void set_option(Task& task, const std::string& name, OptionValue value) {
  std::vector<std::pair<std::string, OptionValue>>& options = task.set_extras().options;
  for (auto& [n, v] : options) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  options.emplace_back(name, std::move(value));
}

}  // namespace doit::cli
