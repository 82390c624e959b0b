// Text helpers for messages that must read like pydoit's (Python reprs).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace doit {

class Json;

/// Python's repr() of a str: 'abc', "it's", with \n, \t, \\ escaped.
std::string python_repr(std::string_view s);

/// Python's repr() of a list of str: ['a', 'b'].
std::string python_list_repr(const std::vector<std::string>& items);

/// What Python's str() prints for the value json.loads(json) gives:
/// strings as is, True/False/None, lists and dicts as their repr.
std::string python_str(const Json& value);
/// Python's repr() of that value.
std::string python_value_repr(const Json& value);

/// A time as UTC text with `digits` decimals of the second (6: micro-, 9:
/// nanoseconds): "2026-11-25 20:06:03.945081".
std::string utc_timestamp(std::int64_t nanoseconds_since_epoch, int digits);

/// Joins with a separator.
/// (Any range of strings or string_views: a std::vector, a PathList.)
template <typename Range>
std::string join(const Range& items, std::string_view sep) {
  std::string out;
  bool first = true;
  for (const std::string_view item : items) {
    if (!first) out += sep;
    first = false;
    out += item;
  }
  return out;
}

}  // namespace doit
