// A small JSON value: task values and results are kept as JSON in the state
// database and handed between tasks. Objects keep their key order.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace doit {

class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;
  static Json boolean(bool b);
  /// A number kept as its JSON text, so integers and floats round-trip exactly.
  static Json number(std::string text);
  static Json string(std::string s);
  static Json array(Array items = {});
  static Json object(Object members = {});

  /// Parses JSON text; throws std::invalid_argument ("... at offset N") on bad
  /// input, trailing data included. Duplicate keys: the last value wins, at
  /// the first key's position (as Python). Also accepts NaN and [-]Infinity.
  static Json parse(std::string_view text);
  /// Compact JSON with ", " and ": " separators (as Python's json.dumps).
  std::string dump() const;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_object() const { return type_ == Type::kObject; }
  bool as_bool() const { return bool_; }
  const std::string& text() const { return text_; }  ///< string value or number text
  const Array& items() const { return *array_; }
  const Object& members() const { return *object_; }
  /// Mutable members (objects only; throws std::logic_error otherwise). Copies
  /// of a Json share their contents until one of them is changed this way.
  Object& members();

  /// The member named `key`, or nullptr (objects only).
  const Json* find(std::string_view key) const;
  /// Sets or replaces a member, keeping the first position (objects only;
  /// throws std::logic_error otherwise).
  void set(std::string key, Json value);

  /// Deep equality: numbers compare by their text, objects by their members
  /// in any order (as Python dicts).
  friend bool operator==(const Json& a, const Json& b);

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::shared_ptr<Array> array_;
  std::shared_ptr<Object> object_;
};

/// Appends `s` as a quoted JSON string (non-ASCII escaped as \uXXXX, as Python does).
void append_json_string(std::string& out, std::string_view s);

}  // namespace doit
