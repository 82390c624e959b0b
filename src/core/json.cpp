#include "doit/json.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

// Strings are byte strings, normally UTF-8. Any byte string (a file name, say)
// dumps as Python's json.dumps(os.fsdecode(bytes)) and parses back to the
// same bytes: a byte that is not part of valid UTF-8 is dumped as \udcXX
// (Python's "surrogateescape"), and \udc80 to \udcff standing alone parse
// back to that raw byte. Other lone surrogates (\ud800 alone, which Python
// allows) parse to their 3-byte form (as Python's "surrogatepass" encodes
// them); those bytes dump as three \udcXX.
// The parser also accepts NaN, Infinity and -Infinity as numbers, as Python's
// json.loads does (and json.dumps writes).

namespace doit {

namespace {

/// Nesting deeper than this is rejected (protects the stack).
constexpr int kMaxDepth = 512;

constexpr char32_t kMaxAscii = 0x7F;
constexpr char32_t kFirstPrintable = 0x20;
constexpr char32_t kDelete = 0x7F;
constexpr char32_t kMaxTwoByte = 0x7FF;
constexpr char32_t kMaxBmp = 0xFFFF;
constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr char32_t kHighSurrogateFirst = 0xD800;
constexpr char32_t kHighSurrogateLast = 0xDBFF;
constexpr char32_t kLowSurrogateFirst = 0xDC00;
constexpr char32_t kLowSurrogateLast = 0xDFFF;
constexpr char32_t kSurrogateOffset = 0x10000;
constexpr int kSurrogateBits = 10;
constexpr char32_t kSurrogateMask = 0x3FF;
/// surrogateescape: a raw byte B in 0x80..0xFF is the lone surrogate 0xDC00 + B.
constexpr char32_t kEscapedByteFirst = 0xDC80;
constexpr char32_t kEscapedByteLast = 0xDCFF;

constexpr unsigned char kContinuationMask = 0xC0;
constexpr unsigned char kContinuationTag = 0x80;
constexpr unsigned char kContinuationPayload = 0x3F;
constexpr int kContinuationBits = 6;
constexpr unsigned char kTwoByteTag = 0xC0;
constexpr unsigned char kThreeByteTag = 0xE0;
constexpr unsigned char kFourByteTag = 0xF0;
constexpr unsigned char kTwoBytePayload = 0x1F;
constexpr unsigned char kThreeBytePayload = 0x0F;
constexpr unsigned char kFourBytePayload = 0x07;
/// Lead bytes of valid sequences: C2..DF (2 bytes), E0..EF (3), F0..F4 (4).
constexpr unsigned char kMinTwoByteLead = 0xC2;
constexpr unsigned char kMaxFourByteLead = 0xF4;

constexpr int kHexDigitsInEscape = 4;
constexpr int kBitsPerHexDigit = 4;
constexpr char kHexDigits[] = "0123456789abcdef";
/// The value of the hex digit 'a'.
constexpr int kFirstHexLetterValue = 10;

/// Escapes with a one-letter form: the letter after the backslash, and the
/// character it stands for.
struct ShortEscape {
  char letter;
  char value;
};
constexpr ShortEscape kShortEscapes[] = {{'"', '"'},  {'\\', '\\'}, {'b', '\b'}, {'f', '\f'},
                                         {'n', '\n'}, {'r', '\r'},  {'t', '\t'}};

/// The short escape whose `field` is `c`, or nullptr.
const ShortEscape* find_short_escape(char ShortEscape::*field, char c) {
  for (const ShortEscape& e : kShortEscapes) {
    if (e.*field == c) return &e;
  }
  return nullptr;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp <= kMaxAscii) {
    out.push_back(static_cast<char>(cp));
  } else if (cp <= kMaxTwoByte) {
    out.push_back(static_cast<char>(kTwoByteTag | (cp >> kContinuationBits)));
    out.push_back(static_cast<char>(kContinuationTag | (cp & kContinuationPayload)));
  } else if (cp <= kMaxBmp) {
    out.push_back(static_cast<char>(kThreeByteTag | (cp >> (2 * kContinuationBits))));
    out.push_back(
        static_cast<char>(kContinuationTag | ((cp >> kContinuationBits) & kContinuationPayload)));
    out.push_back(static_cast<char>(kContinuationTag | (cp & kContinuationPayload)));
  } else {
    out.push_back(static_cast<char>(kFourByteTag | (cp >> (3 * kContinuationBits))));
    out.push_back(static_cast<char>(kContinuationTag |
                                    ((cp >> (2 * kContinuationBits)) & kContinuationPayload)));
    out.push_back(
        static_cast<char>(kContinuationTag | ((cp >> kContinuationBits) & kContinuationPayload)));
    out.push_back(static_cast<char>(kContinuationTag | (cp & kContinuationPayload)));
  }
}

void append_u_escape(std::string& out, char32_t unit) {
  out += "\\u";
  for (int shift = (kHexDigitsInEscape - 1) * kBitsPerHexDigit; shift >= 0;
       shift -= kBitsPerHexDigit) {
    out.push_back(kHexDigits[(unit >> shift) & 0xF]);
  }
}

bool is_continuation(unsigned char c) { return (c & kContinuationMask) == kContinuationTag; }

/// Decodes one UTF-8 sequence starting at s[i]; returns its length, or 0 if
/// the bytes there are not valid UTF-8 (as Python's strict decoder judges).
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t* cp) {
  const auto lead = static_cast<unsigned char>(s[i]);
  if (lead < kMinTwoByteLead || lead > kMaxFourByteLead) return 0;
  std::size_t length;
  char32_t value;
  if (lead < kThreeByteTag) {
    length = 2;
    value = lead & kTwoBytePayload;
  } else if (lead < kFourByteTag) {
    length = 3;
    value = lead & kThreeBytePayload;
  } else {
    length = 4;
    value = lead & kFourBytePayload;
  }
  if (s.size() - i < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (!is_continuation(c)) return 0;
    value = (value << kContinuationBits) | (c & kContinuationPayload);
  }
  // Reject overlong forms, encoded surrogates and code points past Unicode.
  const char32_t min_value = length == 2   ? kMaxAscii + 1
                             : length == 3 ? kMaxTwoByte + 1
                                           : kMaxBmp + 1;
  if (value < min_value || value > kMaxCodePoint) return 0;
  if (value >= kHighSurrogateFirst && value <= kLowSurrogateLast) return 0;
  *cp = value;
  return length;
}

bool needs_escape(unsigned char c) {
  return c < kFirstPrintable || c >= kDelete || c == '"' || c == '\\';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + kFirstHexLetterValue;
  if (c >= 'A' && c <= 'F') return c - 'A' + kFirstHexLetterValue;
  return -1;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Drops earlier members whose key appears again; the last value wins, at
/// the position of the first (as a Python dict built from the same text).
void merge_duplicate_keys(Json::Object& members) {
  if (members.size() < 2) return;
  std::unordered_map<std::string_view, std::size_t> first_index;
  first_index.reserve(members.size());
  std::vector<bool> dropped(members.size(), false);
  bool any_dropped = false;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto [it, inserted] = first_index.emplace(members[i].first, i);
    if (!inserted) {
      members[it->second].second = std::move(members[i].second);
      dropped[i] = true;
      any_dropped = true;
    }
  }
  if (!any_dropped) return;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (dropped[i]) continue;
    if (kept != i) members[kept] = std::move(members[i]);
    ++kept;
  }
  members.erase(members.begin() + static_cast<std::ptrdiff_t>(kept), members.end());
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Json parse_document() {
    skip_space();
    Json value = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected data after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("invalid JSON: " + what + " at offset " + std::to_string(pos_));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_space() {
    while (!at_end() && is_json_space(peek())) ++pos_;
  }

  bool consume_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  void expect(char c) {
    if (at_end()) fail(std::string("expected '") + c + "' but the text ends");
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  Json parse_value(int depth) {
    if (at_end()) fail("unexpected end of input");
    switch (peek()) {
      case '{':
        return parse_object(depth + 1);
      case '[':
        return parse_array(depth + 1);
      case '"':
        return Json::string(parse_string());
      case 't':
        if (consume_word("true")) return Json::boolean(true);
        break;
      case 'f':
        if (consume_word("false")) return Json::boolean(false);
        break;
      case 'n':
        if (consume_word("null")) return Json();
        break;
      case 'N':
        if (consume_word("NaN")) return Json::number("NaN");
        break;
      case 'I':
        if (consume_word("Infinity")) return Json::number("Infinity");
        break;
      default:
        if (peek() == '-' || is_digit(peek())) return parse_number();
        break;
    }
    fail("unexpected character");
  }

  void check_depth(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
  }

  Json parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Json::Object members;
    skip_space();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return Json::object();
    }
    for (;;) {
      skip_space();
      if (at_end() || peek() != '"') fail("expected a string key");
      std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      members.emplace_back(std::move(key), parse_value(depth));
      skip_space();
      if (at_end()) fail("expected ',' or '}' but the text ends");
      const char c = peek();
      ++pos_;
      if (c == '}') break;
      if (c != ',') {
        --pos_;
        fail("expected ',' or '}'");
      }
    }
    merge_duplicate_keys(members);
    return Json::object(std::move(members));
  }

  Json parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    Json::Array items;
    skip_space();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return Json::array();
    }
    for (;;) {
      skip_space();
      items.push_back(parse_value(depth));
      skip_space();
      if (at_end()) fail("expected ',' or ']' but the text ends");
      const char c = peek();
      ++pos_;
      if (c == ']') break;
      if (c != ',') {
        --pos_;
        fail("expected ',' or ']'");
      }
    }
    return Json::array(std::move(items));
  }

  Json parse_number() {
    const std::size_t start = pos_;
    if (peek() == '-') {
      ++pos_;
      if (consume_word("Infinity")) return Json::number("-Infinity");
    }
    if (at_end() || !is_digit(peek())) fail("invalid number");
    if (peek() == '0') {
      ++pos_;
    } else {
      skip_digits();
    }
    if (!at_end() && peek() == '.') {
      ++pos_;
      if (at_end() || !is_digit(peek())) fail("expected a digit after '.'");
      skip_digits();
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (at_end() || !is_digit(peek())) fail("expected a digit in the exponent");
      skip_digits();
    }
    return Json::number(std::string(text_.substr(start, pos_ - start)));
  }

  void skip_digits() {
    while (!at_end() && is_digit(peek())) ++pos_;
  }

  /// Reads the 4 hex digits of a \u escape (pos_ is after "\u").
  char32_t parse_hex4() {
    if (text_.size() - pos_ < kHexDigitsInEscape) fail("incomplete \\u escape");
    char32_t unit = 0;
    for (int k = 0; k < kHexDigitsInEscape; ++k) {
      const int digit = hex_value(peek());
      if (digit < 0) fail("invalid hex digit in \\u escape");
      unit = (unit << kBitsPerHexDigit) | static_cast<char32_t>(digit);
      ++pos_;
    }
    return unit;
  }

  void parse_u_escape(std::string& out) {
    const char32_t unit = parse_hex4();
    if (unit >= kHighSurrogateFirst && unit <= kHighSurrogateLast &&
        text_.substr(pos_, 2) == "\\u") {
      const std::size_t before_low = pos_;
      pos_ += 2;
      const char32_t low = parse_hex4();
      if (low >= kLowSurrogateFirst && low <= kLowSurrogateLast) {
        append_utf8(out, kSurrogateOffset + ((unit - kHighSurrogateFirst) << kSurrogateBits) +
                             (low - kLowSurrogateFirst));
        return;
      }
      pos_ = before_low;  // not a pair: the next escape stands alone
    }
    if (unit >= kEscapedByteFirst && unit <= kEscapedByteLast) {
      out.push_back(static_cast<char>(unit - kLowSurrogateFirst));
      return;
    }
    append_utf8(out, unit);
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      const std::size_t run_start = pos_;
      while (!at_end()) {
        const auto c = static_cast<unsigned char>(peek());
        if (c == '"' || c == '\\' || c < kFirstPrintable) break;
        ++pos_;
      }
      out.append(text_.substr(run_start, pos_ - run_start));
      if (at_end()) fail("unterminated string");
      const char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c != '\\') fail("control character in string");
      ++pos_;
      if (at_end()) fail("unterminated string");
      const char escape = peek();
      ++pos_;
      if (escape == 'u') {
        parse_u_escape(out);
      } else if (escape == '/') {  // accepted, never written
        out.push_back('/');
      } else if (const ShortEscape* e = find_short_escape(&ShortEscape::letter, escape)) {
        out.push_back(e->value);
      } else {
        --pos_;
        fail("invalid escape");
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

void dump_to(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::Type::kNull:
      out += "null";
      return;
    case Json::Type::kBool:
      out += value.as_bool() ? "true" : "false";
      return;
    case Json::Type::kNumber:
      out += value.text();
      return;
    case Json::Type::kString:
      append_json_string(out, value.text());
      return;
    case Json::Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const Json& item : value.items()) {
        if (!first) out += ", ";
        first = false;
        dump_to(out, item);
      }
      out.push_back(']');
      return;
    }
    case Json::Type::kObject: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, member] : value.members()) {
        if (!first) out += ", ";
        first = false;
        append_json_string(out, key);
        out += ": ";
        dump_to(out, member);
      }
      out.push_back('}');
      return;
    }
  }
}

/// Objects are equal when they have the same keys with equal values, in any
/// order (as Python dicts); the common same-order case needs no lookups.
bool same_members(const Json::Object& a, const Json::Object& b) {
  if (a.size() != b.size()) return false;
  std::size_t i = 0;
  while (i < a.size() && a[i].first == b[i].first) {
    if (!(a[i].second == b[i].second)) return false;
    ++i;
  }
  for (; i < a.size(); ++i) {
    const auto match = std::find_if(b.begin(), b.end(),
                                    [&](const auto& member) { return member.first == a[i].first; });
    if (match == b.end() || !(match->second == a[i].second)) return false;
  }
  return true;
}

}  // namespace

Json Json::boolean(bool b) {
  Json j;
  j.type_ = Type::kBool;
  j.bool_ = b;
  return j;
}

Json Json::number(std::string text) {
  Json j;
  j.type_ = Type::kNumber;
  j.text_ = std::move(text);
  return j;
}

Json Json::string(std::string s) {
  Json j;
  j.type_ = Type::kString;
  j.text_ = std::move(s);
  return j;
}

Json Json::array(Array items) {
  Json j;
  j.type_ = Type::kArray;
  j.array_ = std::make_shared<Array>(std::move(items));
  return j;
}

Json Json::object(Object members) {
  Json j;
  j.type_ = Type::kObject;
  j.object_ = std::make_shared<Object>(std::move(members));
  return j;
}

Json Json::parse(std::string_view text) { return Parser(text).parse_document(); }

std::string Json::dump() const {
  std::string out;
  dump_to(out, *this);
  return out;
}

Json::Object& Json::members() {
  if (type_ != Type::kObject) throw std::logic_error("Json::members: not an object");
  // Copies share their members until one of them is changed.
  if (object_.use_count() > 1) object_ = std::make_shared<Object>(*object_);
  return *object_;
}

const Json* Json::find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (const auto& [name, value] : *object_) {
    if (name == key) return &value;
  }
  return nullptr;
}

void Json::set(std::string key, Json value) {
  for (auto& [name, member] : members()) {
    if (name == key) {
      member = std::move(value);
      return;
    }
  }
  object_->emplace_back(std::move(key), std::move(value));
}

bool operator==(const Json& a, const Json& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Json::Type::kNull:
      return true;
    case Json::Type::kBool:
      return a.bool_ == b.bool_;
    case Json::Type::kNumber:
    case Json::Type::kString:
      return a.text_ == b.text_;
    case Json::Type::kArray:
      return a.array_ == b.array_ || *a.array_ == *b.array_;
    case Json::Type::kObject:
      return a.object_ == b.object_ || same_members(*a.object_, *b.object_);
  }
  return false;
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t run_start = i;
    while (i < s.size() && !needs_escape(static_cast<unsigned char>(s[i]))) ++i;
    out.append(s.substr(run_start, i - run_start));
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c <= kMaxAscii) {
      if (const ShortEscape* e = find_short_escape(&ShortEscape::value, static_cast<char>(c))) {
        out.push_back('\\');
        out.push_back(e->letter);
      } else {
        append_u_escape(out, c);
      }
      ++i;
      continue;
    }
    char32_t cp = 0;
    const std::size_t length = decode_utf8(s, i, &cp);
    if (length == 0) {
      append_u_escape(out, kLowSurrogateFirst + c);  // surrogateescape
      ++i;
      continue;
    }
    if (cp > kMaxBmp) {
      const char32_t offset = cp - kSurrogateOffset;
      append_u_escape(out, kHighSurrogateFirst + (offset >> kSurrogateBits));
      append_u_escape(out, kLowSurrogateFirst + (offset & kSurrogateMask));
    } else {
      append_u_escape(out, cp);
    }
    i += length;
  }
  out.push_back('"');
}

}  // namespace doit
