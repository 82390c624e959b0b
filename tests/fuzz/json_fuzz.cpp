// Fuzzes the JSON of the state file (task values and results): text that
// parses must dump to text that parses back to an equal value, and dumping
// that gives the same text. Anything else must be std::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "doit/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using doit::Json;
  Json value;
  try {
    value = Json::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  } catch (const std::invalid_argument&) {
    return 0;
  }
  const std::string text = value.dump();
  const Json again = Json::parse(text);  // throws (a crash here) if dump wrote bad JSON
  if (!(again == value)) __builtin_trap();
  if (again.dump() != text) __builtin_trap();
  if (value.is_object()) {
    for (const auto& [key, member] : value.members()) {
      if (value.find(key) == nullptr) __builtin_trap();
    }
  }
  return 0;
}
