// Fuzzes doit.cfg: INI text parsed as doit reads it, then every value
// converted as the config layer converts it for an option of each type.
// Bad text must be an IniError, a bad value a ValueError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cli/options.h"
#include "doit/ini.h"

namespace {

using namespace doit;
using namespace doit::cli;

std::vector<OptionDef> option_kinds() {
  std::vector<OptionDef> defs;
  for (const OptType type : {OptType::kBool, OptType::kInt, OptType::kString, OptType::kList}) {
    OptionDef d;
    d.name = "option";
    d.type = type;
    defs.push_back(d);
  }
  defs.back().choices = {"a", "b"};
  defs.back().type = OptType::kString;
  return defs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<OptionDef> defs = option_kinds();
  IniFile ini;
  try {
    ini = parse_ini(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const IniError& e) {
    return 0;
  }
  for (const IniSection& section : ini.sections) {
    if (ini.find(section.name) == nullptr) __builtin_trap();
    for (const IniEntry& entry : section.entries) {
      if (section.find(entry.key) == nullptr) __builtin_trap();
      if (!entry.value) continue;
      for (const OptionDef& def : defs) {
        try {
          convert_value(def, *entry.value);
        } catch (const ValueError&) {
        }
      }
    }
  }
  return 0;
}
