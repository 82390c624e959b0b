// INI text as doit reads `doit.cfg` (SPEC §3.3): what Python's
// `configparser.ConfigParser(allow_no_value=True, delimiters=('=',))` with
// case-preserving keys gives. Only `=` separates key and value; a line
// without `=` is a key without value; `#` and `;` start comment lines (not
// inline comments); lines indented deeper than their key continue its value;
// `[DEFAULT]` keys appear in every section; `%(key)s` and `%%` are
// interpolated. Duplicate sections or keys in one file are errors.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace doit {

/// A mistake in INI text, at a line (1-based). what() has no line number.
class IniError : public std::runtime_error {
 public:
  IniError(int line, const std::string& message) : std::runtime_error(message), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

struct IniEntry {
  std::string key;
  /// The value (continuation lines joined by '\n', interpolated); nullopt
  /// for a key without '='.
  std::optional<std::string> value;
  int line = 0;  ///< where the key is (for messages)
};

struct IniSection {
  std::string name;
  /// The section's keys in file order, then the `[DEFAULT]` keys it does not
  /// set itself.
  std::vector<IniEntry> entries;

  /// The entry for `key`, or nullptr.
  const IniEntry* find(std::string_view key) const;
};

struct IniFile {
  /// Sections in file order, without `[DEFAULT]` (merged into each).
  std::vector<IniSection> sections;

  /// The section named `name`, or nullptr.
  const IniSection* find(std::string_view name) const;
};

/// Parses INI text (lines end in "\n", "\r\n" or "\r"). Throws IniError for
/// a key before any section, a line starting with '=', a duplicate section
/// or key, a continuation of a key without value, or a bad interpolation.
IniFile parse_ini(std::string_view text);

}  // namespace doit
