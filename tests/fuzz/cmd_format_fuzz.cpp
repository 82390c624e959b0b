// Fuzzes the substitution in cmd-action strings (`%(targets)s`,
// `{dependencies}`...), which dodo.py files hand to the C++ core: for each
// style, the text is formatted or left to Python (nullopt); text without
// any '%', '{' or '}' comes back unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "doit/cmd_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace doit;
  static const FormatMapping mapping = {
      {"targets", "a.o b.o"}, {"dependencies", "a.c"}, {"changed", ""}, {"name", "{x} %(y)s"}};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool plain = text.find_first_of("%{}") == std::string_view::npos;
  for (const FormatStyle style : {FormatStyle::kOld, FormatStyle::kNew, FormatStyle::kBoth}) {
    const std::optional<std::string> out = format_simple(text, mapping, style);
    if (plain && (!out || *out != text)) __builtin_trap();
  }
  return 0;
}
