#include "cli/options.h"

#include <fmt/format.h>
#include <algorithm>
#include <cctype>

#include "doit/text.h"

namespace doit::cli {
namespace {

const OptionDef* find_short(const std::vector<OptionDef>& defs, char c) {
  for (const OptionDef& d : defs) {
    if (d.short_name == c) return &d;
  }
  return nullptr;
}

/// A long option by exact name or unique prefix (also inverse names).
/// Sets *inverse when the inverse name matched.
const OptionDef* find_long(const std::vector<OptionDef>& defs, const std::string& name,
                           bool* inverse) {
  std::vector<std::pair<const OptionDef*, bool>> prefixed;
  for (const OptionDef& d : defs) {
    if (!d.long_name.empty() && d.long_name == name) {
      *inverse = false;
      return &d;
    }
    if (!d.inverse.empty() && d.inverse == name) {
      *inverse = true;
      return &d;
    }
    if (!d.long_name.empty() && d.long_name.starts_with(name)) prefixed.emplace_back(&d, false);
    if (!d.inverse.empty() && d.inverse.starts_with(name)) prefixed.emplace_back(&d, true);
  }
  if (prefixed.size() == 1) {
    *inverse = prefixed[0].second;
    return prefixed[0].first;
  }
  if (prefixed.size() > 1) throw OptionError("option --" + name + " not a unique prefix", {});
  return nullptr;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string type_name(OptType t) {
  switch (t) {
    case OptType::kBool:
      return "<class 'bool'>";
    case OptType::kInt:
      return "<class 'int'>";
    case OptType::kList:
      return "<class 'list'>";
    case OptType::kString:
      return "<class 'str'>";
  }
  return "<class 'str'>";
}

void store(std::map<std::string, Value>& values, const OptionDef& def, Value v) {
  if (def.type == OptType::kList) {
    auto it = values.find(def.name);
    if (it == values.end()) {
      values[def.name] = std::vector<std::string>{};
      it = values.find(def.name);
    }
    auto& list = std::get<std::vector<std::string>>(it->second);
    list.push_back(std::get<std::string>(v));
    return;
  }
  values[def.name] = std::move(v);
}

Value typed(const OptionDef& def, const std::string& text) {
  if (def.type == OptType::kList) return text;  // appended by store()
  return convert_value(def, text);
}

}  // namespace

Value convert_value(const OptionDef& def, const std::string& text) {
  switch (def.type) {
    case OptType::kBool: {
      const std::string t = lower(text);
      if (t == "1" || t == "yes" || t == "true" || t == "on") return true;
      if (t == "0" || t == "no" || t == "false" || t == "off") return false;
      throw ValueError(fmt::format("Error parsing parameter '{}' {}.\nNot a boolean: {}\n",
                                   def.name, type_name(def.type), text));
    }
    case OptType::kInt: {
      size_t used = 0;
      std::string trimmed = text;
      trimmed.erase(0, trimmed.find_first_not_of(" \t"));
      trimmed.erase(trimmed.find_last_not_of(" \t") + 1);
      try {
        const long long n = std::stoll(trimmed, &used, 10);
        if (used == trimmed.size() && !trimmed.empty()) return n;
      } catch (const std::exception&) {
      }
      throw ValueError(fmt::format(
          "Error parsing parameter '{}' {}.\ninvalid literal for int() with base 10: {}\n",
          def.name, type_name(def.type), python_repr(text)));
    }
    case OptType::kList: {
      std::vector<std::string> items;
      size_t start = 0;
      while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(start, comma - start);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) items.push_back(item);
        start = comma + 1;
      }
      return items;
    }
    case OptType::kString:
      if (!def.choices.empty() &&
          std::find(def.choices.begin(), def.choices.end(), text) == def.choices.end()) {
        std::vector<std::string> quoted;
        for (const std::string& c : def.choices) quoted.push_back("'" + c + "'");
        throw ValueError(fmt::format(
            "Error parsing parameter '{}'. Provided '{}' but available choices are: {}.", def.name,
            text, join(quoted, ", ")));
      }
      return text;
  }
  return text;
}

OptionDef option_flag(std::string name, char short_name, std::string long_name, std::string help,
                      std::string section) {
  return option_value(std::move(name), short_name, std::move(long_name), OptType::kBool,
                      std::move(help), "False", std::move(section));
}

OptionDef option_value(std::string name, char short_name, std::string long_name, OptType type,
                       std::string help, std::string default_text, std::string section) {
  OptionDef d;
  d.name = std::move(name);
  d.short_name = short_name;
  d.long_name = std::move(long_name);
  d.type = type;
  d.help = std::move(help);
  d.default_text = std::move(default_text);
  d.section = std::move(section);
  return d;
}

Parsed parse_options(const std::vector<OptionDef>& defs, const std::vector<std::string>& args) {
  Parsed parsed;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    if (arg.starts_with("--")) {
      const size_t eq = arg.find('=');
      const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      bool inverse = false;
      const OptionDef* def = nullptr;
      try {
        def = find_long(defs, name, &inverse);
      } catch (const OptionError& e) {
        throw OptionError(e.what(), {arg});
      }
      if (def == nullptr) throw OptionError("option --" + name + " not recognized", {arg});
      if (def->type == OptType::kBool) {
        if (eq != std::string::npos) {
          throw OptionError("option --" + name + " must not have an argument", {arg});
        }
        store(parsed.values, *def, !inverse);
        continue;
      }
      std::string value;
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        throw OptionError("option --" + name + " requires argument", {arg});
      }
      store(parsed.values, *def, typed(*def, value));
      continue;
    }
    // A cluster of short options: -ac, -p4, -p 4.
    for (size_t k = 1; k < arg.size(); ++k) {
      const char c = arg[k];
      const OptionDef* def = find_short(defs, c);
      if (def == nullptr) throw OptionError(fmt::format("option -{} not recognized", c), {arg});
      if (def->type == OptType::kBool) {
        store(parsed.values, *def, true);
        continue;
      }
      std::string value;
      if (k + 1 < arg.size()) {
        value = arg.substr(k + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        throw OptionError(fmt::format("option -{} requires argument", c), {arg});
      }
      store(parsed.values, *def, typed(*def, value));
      break;
    }
  }
  parsed.rest.assign(args.begin() + static_cast<long>(std::min(i, args.size())), args.end());
  return parsed;
}

std::string option_repr(const OptionDef& def) {
  const std::string short_text = def.short_name ? std::string(1, def.short_name) : "";
  return fmt::format("CmdOption({{'name':'{}', 'short':'{}','long':'{}' }})", def.name, short_text,
                     def.long_name);
}

std::string parse_error_message(const std::string& what, const std::vector<OptionDef>& defs,
                                const OptionError& error) {
  std::vector<std::string> reprs;
  for (const OptionDef& d : defs) reprs.push_back(option_repr(d));
  return fmt::format("Error parsing {}: {} (parsing options: [{}]). Got: {}", what, error.what(),
                     join(reprs, ", "), python_list_repr(error.got()));
}

bool OptionValues::has(const std::string& name) const { return get(name) != nullptr; }

const Value* OptionValues::get(const std::string& name) const {
  for (const auto* layer : {&explicit_, &config_, &config_file_, &defaults_}) {
    auto it = layer->find(name);
    if (it != layer->end()) return &it->second;
  }
  return nullptr;
}

bool OptionValues::get_bool(const std::string& name, bool fallback) const {
  const Value* v = get(name);
  if (v == nullptr) return fallback;
  if (const bool* b = std::get_if<bool>(v)) return *b;
  if (const long long* n = std::get_if<long long>(v)) return *n != 0;
  if (const std::string* s = std::get_if<std::string>(v)) return !s->empty();
  return fallback;
}

long long OptionValues::get_int(const std::string& name, long long fallback) const {
  const Value* v = get(name);
  if (v == nullptr) return fallback;
  if (const long long* n = std::get_if<long long>(v)) return *n;
  if (const bool* b = std::get_if<bool>(v)) return *b ? 1 : 0;
  if (const std::string* s = std::get_if<std::string>(v)) {
    try {
      return std::stoll(*s);
    } catch (const std::exception&) {
    }
  }
  return fallback;
}

std::string OptionValues::get_string(const std::string& name, const std::string& fallback) const {
  const Value* v = get(name);
  if (v == nullptr) return fallback;
  if (const std::string* s = std::get_if<std::string>(v)) return *s;
  if (const long long* n = std::get_if<long long>(v)) return std::to_string(*n);
  return fallback;
}

std::vector<std::string> OptionValues::get_list(const std::string& name) const {
  const Value* v = get(name);
  if (v == nullptr) return {};
  if (const auto* l = std::get_if<std::vector<std::string>>(v)) return *l;
  if (const std::string* s = std::get_if<std::string>(v)) return {*s};
  return {};
}

}  // namespace doit::cli
