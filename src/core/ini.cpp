#include "doit/ini.h"

#include <fmt/format.h>

#include "doit/text.h"

namespace doit {
namespace {

/// The section whose keys every other section inherits.
constexpr std::string_view kDefaultSection = "DEFAULT";
/// configparser's MAX_INTERPOLATION_DEPTH.
constexpr int kMaxInterpolationDepth = 10;

/// Python's str.isspace() for ASCII.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         (c >= '\x1c' && c <= '\x1f');
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// Splits text into lines as Python's universal newlines do.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    lines.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

/// A key while its value lines are still being collected.
struct RawEntry {
  std::string key;
  std::optional<std::vector<std::string>> lines;
  int line = 0;
};

struct RawSection {
  std::string name;
  std::vector<RawEntry> entries;

  RawEntry* find(std::string_view key) {
    for (RawEntry& e : entries) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }
};

/// Joins continuation lines; blank lines inside are kept, trailing ones dropped.
std::optional<std::string> joined(const RawEntry& e) {
  if (!e.lines) return std::nullopt;
  std::string value;
  for (size_t i = 0; i < e.lines->size(); ++i) {
    if (i > 0) value += '\n';
    value += (*e.lines)[i];
  }
  while (!value.empty() && is_space(value.back())) value.pop_back();
  return value;
}

/// configparser's BasicInterpolation of one value: `%%` and `%(key)s`,
/// where key is looked up among `entries` (raw values).
void interpolate(const IniSection& section, const IniEntry& entry, std::string_view rest, int depth,
                 std::string& out) {
  if (depth > kMaxInterpolationDepth) {
    throw IniError(entry.line, fmt::format("'{}' in [{}]: interpolation nested too deeply",
                                           entry.key, section.name));
  }
  while (!rest.empty()) {
    const size_t p = rest.find('%');
    if (p == std::string_view::npos) {
      out += rest;
      return;
    }
    out += rest.substr(0, p);
    rest.remove_prefix(p);
    const char next = rest.size() > 1 ? rest[1] : '\0';
    if (next == '%') {
      out += '%';
      rest.remove_prefix(2);
    } else if (next == '(') {
      const size_t close = rest.find(')');
      if (close == std::string_view::npos || close == 2 || close + 1 >= rest.size() ||
          rest[close + 1] != 's') {
        throw IniError(entry.line,
                       fmt::format("'{}' in [{}]: bad interpolation variable reference {}",
                                   entry.key, section.name, python_repr(rest)));
      }
      const std::string_view name = rest.substr(2, close - 2);
      rest.remove_prefix(close + 2);
      const IniEntry* target = section.find(name);
      if (target == nullptr || !target->value) {
        throw IniError(entry.line, fmt::format("'{}' in [{}] refers to '%({})s', but '{}' {}",
                                               entry.key, section.name, name, name,
                                               target == nullptr ? "is not set" : "has no value"));
      }
      if (target->value->find('%') != std::string::npos) {
        interpolate(section, entry, *target->value, depth + 1, out);
      } else {
        out += *target->value;
      }
    } else {
      throw IniError(entry.line,
                     fmt::format("'{}' in [{}]: '%' must be followed by '%' or '(', found: {}",
                                 entry.key, section.name, python_repr(rest)));
    }
  }
}

}  // namespace

const IniEntry* IniSection::find(std::string_view key) const {
  for (const IniEntry& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

const IniSection* IniFile::find(std::string_view name) const {
  for (const IniSection& s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

IniFile parse_ini(std::string_view text) {
  std::vector<RawSection> sections;
  RawSection defaults{std::string(kDefaultSection), {}};
  RawSection* current = nullptr;
  RawEntry* key = nullptr;  // the key continuation lines belong to
  size_t indent_level = 0;

  const std::vector<std::string_view> lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const int lineno = static_cast<int>(i) + 1;
    const std::string_view line = lines[i];
    const std::string_view value = strip(line);
    if (value.starts_with('#') || value.starts_with(';')) continue;
    if (value.empty()) {
      if (key != nullptr && key->lines) key->lines->emplace_back();
      continue;
    }
    size_t indent = 0;
    while (indent < line.size() && is_space(line[indent])) ++indent;
    if (current != nullptr && key != nullptr && indent > indent_level) {
      if (!key->lines) {
        throw IniError(lineno, fmt::format("a continuation line, but key '{}' has no value "
                                           "(it has no '=')",
                                           key->key));
      }
      key->lines->emplace_back(value);
      continue;
    }
    indent_level = indent;
    key = nullptr;

    const size_t close = value.rfind(']');
    if (value.starts_with('[') && close != std::string_view::npos && close >= 2) {
      const std::string name(value.substr(1, close - 1));
      if (name == kDefaultSection) {
        current = &defaults;
        continue;
      }
      for (const RawSection& s : sections) {
        if (s.name == name) {
          throw IniError(lineno, fmt::format("section [{}] appears twice", name));
        }
      }
      sections.push_back(RawSection{name, {}});
      current = &sections.back();
      continue;
    }
    if (current == nullptr) {
      throw IniError(lineno, fmt::format("{} is not in a section (the file must start with a "
                                         "[section] line)",
                                         python_repr(line)));
    }
    const size_t eq = value.find('=');
    RawEntry entry;
    entry.line = lineno;
    entry.key = std::string(strip(value.substr(0, eq)));
    if (eq != std::string_view::npos) {
      entry.lines = std::vector<std::string>{std::string(strip(value.substr(eq + 1)))};
    }
    if (entry.key.empty()) {
      throw IniError(lineno, fmt::format("a line without a key: {}", python_repr(line)));
    }
    if (current->find(entry.key) != nullptr) {
      throw IniError(lineno,
                     fmt::format("key '{}' appears twice in [{}]", entry.key, current->name));
    }
    current->entries.push_back(std::move(entry));
    key = &current->entries.back();
  }

  IniFile file;
  for (const RawSection& raw : sections) {
    IniSection section;
    section.name = raw.name;
    for (const RawEntry& e : raw.entries) section.entries.push_back({e.key, joined(e), e.line});
    for (const RawEntry& e : defaults.entries) {
      if (section.find(e.key) == nullptr) section.entries.push_back({e.key, joined(e), e.line});
    }
    // Interpolation reads the raw values, so expand into a copy.
    IniSection expanded = section;
    for (size_t k = 0; k < section.entries.size(); ++k) {
      const IniEntry& entry = section.entries[k];
      if (!entry.value || entry.value->find('%') == std::string::npos) continue;
      std::string out;
      interpolate(section, entry, *entry.value, 1, out);
      expanded.entries[k].value = std::move(out);
    }
    file.sections.push_back(std::move(expanded));
  }
  return file;
}

}  // namespace doit
