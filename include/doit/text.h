// Text helpers for messages that must read like pydoit's (Python reprs).
#pragma once

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

/// Joins with a separator.
std::string join(const std::vector<std::string>& items, std::string_view sep);

}  // namespace doit
