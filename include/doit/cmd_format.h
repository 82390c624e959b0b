// Substitution of %(targets)s, {dependencies}... in cmd-action strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace doit {

/// `action_string_formatting`.
enum class FormatStyle { kOld, kNew, kBoth };

/// Parses "old"/"new"/"both"; false if unknown.
bool parse_format_style(std::string_view text, FormatStyle* out);
std::string_view format_style_name(FormatStyle style);

using FormatMapping = std::vector<std::pair<std::string, std::string>>;

/// Formats `text` with `mapping` when only the simple forms are used
/// (`%(key)s` and `%%` in old style; `{key}`, `{{` and `}}` in new style) and
/// every key exists. nullopt means "not simple": ask Python.
std::optional<std::string> format_simple(std::string_view text, const FormatMapping& mapping,
                                         FormatStyle style);

}  // namespace doit
