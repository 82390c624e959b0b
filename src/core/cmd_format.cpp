#include "doit/cmd_format.h"

namespace doit {
namespace {

const std::string* lookup(const FormatMapping& mapping, std::string_view key) {
  for (const auto& [k, v] : mapping) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<std::string> format_old(std::string_view text, const FormatMapping& mapping) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '%') {
      out += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '(') return std::nullopt;
    const size_t close = text.find(')', i + 2);
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != 's') {
      return std::nullopt;
    }
    const std::string* value = lookup(mapping, text.substr(i + 2, close - i - 2));
    if (value == nullptr) return std::nullopt;
    out += *value;
    i = close + 1;
  }
  return out;
}

std::optional<std::string> format_new(std::string_view text, const FormatMapping& mapping) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      return std::nullopt;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = text.find('}', i + 1);
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view key = text.substr(i + 1, close - i - 1);
    if (key.find_first_of("{:!.[") != std::string_view::npos) return std::nullopt;
    const std::string* value = lookup(mapping, key);
    if (value == nullptr) return std::nullopt;
    out += *value;
    i = close;
  }
  return out;
}

}  // namespace

bool parse_format_style(std::string_view text, FormatStyle* out) {
  if (text == "old") {
    *out = FormatStyle::kOld;
  } else if (text == "new") {
    *out = FormatStyle::kNew;
  } else if (text == "both") {
    *out = FormatStyle::kBoth;
  } else {
    return false;
  }
  return true;
}

std::string_view format_style_name(FormatStyle style) {
  switch (style) {
    case FormatStyle::kOld:
      return "old";
    case FormatStyle::kNew:
      return "new";
    case FormatStyle::kBoth:
      return "both";
  }
  return "old";
}

std::optional<std::string> format_simple(std::string_view text, const FormatMapping& mapping,
                                         FormatStyle style) {
  switch (style) {
    case FormatStyle::kOld:
      return format_old(text, mapping);
    case FormatStyle::kNew:
      return format_new(text, mapping);
    case FormatStyle::kBoth: {
      std::optional<std::string> first = format_new(text, mapping);
      if (!first) return std::nullopt;
      return format_old(*first, mapping);
    }
  }
  return std::nullopt;
}

}  // namespace doit
