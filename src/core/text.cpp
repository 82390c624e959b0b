#include "doit/text.h"

#include <fmt/format.h>

#include <ctime>

#include "doit/json.h"

namespace doit {

std::string python_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += quote;
  return out;
}

std::string python_list_repr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += python_repr(items[i]);
  }
  out += "]";
  return out;
}

std::string python_value_repr(const Json& value) {
  switch (value.type()) {
    case Json::Type::kNull:
      return "None";
    case Json::Type::kBool:
      return value.as_bool() ? "True" : "False";
    case Json::Type::kNumber:
      return value.text();
    case Json::Type::kString:
      return python_repr(value.text());
    case Json::Type::kArray: {
      std::string out = "[";
      bool first = true;
      for (const Json& item : value.items()) {
        if (!first) out += ", ";
        first = false;
        out += python_value_repr(item);
      }
      return out + "]";
    }
    case Json::Type::kObject: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : value.members()) {
        if (!first) out += ", ";
        first = false;
        out += python_repr(k) + ": " + python_value_repr(v);
      }
      return out + "}";
    }
  }
  return "None";
}

std::string python_str(const Json& value) {
  return value.type() == Json::Type::kString ? value.text() : python_value_repr(value);
}

std::string utc_timestamp(std::int64_t nanoseconds_since_epoch, int digits) {
  constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
  std::int64_t seconds = nanoseconds_since_epoch / kNanosPerSecond;
  std::int64_t nanos = nanoseconds_since_epoch % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    seconds -= 1;
  }
  std::int64_t fraction = nanos;
  for (int d = 9; d > digits; --d) fraction /= 10;
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return fmt::format("{} ns", nanoseconds_since_epoch);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
  if (digits <= 0) return date;
  return fmt::format("{}.{:0{}}", date, fraction, digits);
}

}  // namespace doit
