#include "doit/json.h"

#include <string>

#include <gtest/gtest.h>

namespace doit {
namespace {

/// The message of the std::invalid_argument that parse() throws, or "" if none.
std::string parse_error(std::string_view text) {
  try {
    Json::parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(JsonTest, ParsesScalars) {
  EXPECT_TRUE(Json::parse("null").is_null());
  EXPECT_EQ(Json::parse("true"), Json::boolean(true));
  EXPECT_EQ(Json::parse(" false "), Json::boolean(false));
  EXPECT_EQ(Json::parse("\"hi\""), Json::string("hi"));
  EXPECT_EQ(Json::parse("12").type(), Json::Type::kNumber);
}

TEST(JsonTest, KeepsNumbersAsTheirText) {
  for (const char* number :
       {"0", "-0", "12", "1.50", "-3.25e+10", "1E5", "123456789012345678901234567890"}) {
    const Json value = Json::parse(number);
    EXPECT_EQ(value.type(), Json::Type::kNumber);
    EXPECT_EQ(value.text(), number);
    EXPECT_EQ(value.dump(), number);
  }
}

TEST(JsonTest, AcceptsPythonsNonFiniteNumbers) {
  EXPECT_EQ(Json::parse("[NaN, Infinity, -Infinity]").dump(), "[NaN, Infinity, -Infinity]");
}

TEST(JsonTest, NumbersCompareByText) {
  EXPECT_EQ(Json::number("1"), Json::parse("1"));
  EXPECT_FALSE(Json::number("1") == Json::number("1.0"));
}

TEST(JsonTest, ObjectsKeepKeyOrder) {
  const Json value = Json::parse(R"({"z": 1, "a": 2, "m": 3})");
  ASSERT_EQ(value.members().size(), 3u);
  EXPECT_EQ(value.members()[0].first, "z");
  EXPECT_EQ(value.members()[1].first, "a");
  EXPECT_EQ(value.members()[2].first, "m");
  EXPECT_EQ(value.dump(), R"({"z": 1, "a": 2, "m": 3})");
}

TEST(JsonTest, DuplicateKeyKeepsLastValueAtFirstPosition) {
  // As Python's json.loads('{"a":1,"b":2,"a":3}') == {'a': 3, 'b': 2}.
  EXPECT_EQ(Json::parse(R"({"a":1,"b":2,"a":3})").dump(), R"({"a": 3, "b": 2})");
}

TEST(JsonTest, DumpsLikePythonJsonDumps) {
  // Python: json.dumps({"a": [1, 2.5, None, True, False], "b": "é😀\x7f\x01\n\t\"\\/",
  //                     "c": {}, "d": []})
  const Json value = Json::parse(
      "{\"a\":[1,2.5,null,true,false],\"b\":\"\xC3\xA9\xF0\x9F\x98\x80\x7f\\u0001\\n\\t\\\"\\\\/\","
      "\"c\":{},\"d\":[]}");
  EXPECT_EQ(value.dump(),
            R"({"a": [1, 2.5, null, true, false], "b": "\u00e9\ud83d\ude00\u007f\u0001\n\t\"\\/", )"
            R"("c": {}, "d": []})");
}

TEST(JsonTest, DecodesEscapesToUtf8) {
  EXPECT_EQ(Json::parse(R"("\u00e9\u20ac\ud83d\ude00")").text(),
            "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(Json::parse(R"("\"\\\/\b\f\n\r\t")").text(), "\"\\/\b\f\n\r\t");
  EXPECT_EQ(Json::parse(R"("\u00E9")").text(), "\xC3\xA9");
}

TEST(JsonTest, EscapesControlCharactersAsPythonDoes) {
  std::string all_controls;
  for (char c = 0; c < 0x20; ++c) all_controls.push_back(c);
  EXPECT_EQ(Json::string(all_controls).dump(),
            R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f)"
            R"(\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c)"
            R"(\u001d\u001e\u001f")");
}

TEST(JsonTest, RoundTripsUnicodeThroughDumpAndParse) {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF end";
  const Json value = Json::string(text);
  EXPECT_EQ(Json::parse(value.dump()).text(), text);
}

TEST(JsonTest, InvalidUtf8BytesSurviveAsSurrogateEscapes) {
  // Python's os.fsdecode(b"a\xffb") dumps as "a\udcffb".
  const std::string raw =
      "a\xFF"
      "b\xC3";
  EXPECT_EQ(Json::string(raw).dump(), R"("a\udcffb\udcc3")");
  EXPECT_EQ(Json::parse(Json::string(raw).dump()).text(), raw);
}

TEST(JsonTest, BytesDumpAsPythonDumpsTheirFsdecodedString) {
  // Python: json.dumps(os.fsdecode(b"\xed\xba\x83")) == '"\\udced\\udcba\\udc83"' (an
  // encoded surrogate is not valid UTF-8).
  EXPECT_EQ(Json::string("\xED\xBA\x83").dump(), R"("\udced\udcba\udc83")");
  EXPECT_EQ(Json::parse(R"("\udced\udcba\udc83")").text(), "\xED\xBA\x83");
}

TEST(JsonTest, LoneSurrogatesParseToTheirSurrogatepassBytes) {
  // Python: '\ud800x'.encode('utf-8', 'surrogatepass') == b'\xed\xa0\x80x'.
  EXPECT_EQ(Json::parse(R"("\ud800x")").text(), "\xED\xA0\x80x");
}

TEST(JsonTest, EscapesEachByteOfOverlongUtf8) {
  EXPECT_EQ(Json::string("\xC0\xAF").dump(), R"("\udcc0\udcaf")");
}

TEST(JsonTest, RoundTripsNestedValues) {
  const std::string text =
      R"({"x": 1, "y": [1, 2, {"deep": [[], {}]}], "s": "a\"b", "n": null, "t": true})";
  const Json value = Json::parse(text);
  EXPECT_EQ(value.dump(), text);
  EXPECT_EQ(Json::parse(value.dump()), value);
}

TEST(JsonTest, ObjectEqualityIgnoresKeyOrderLikeDicts) {
  EXPECT_EQ(Json::parse(R"({"a": 1, "b": [1, 2]})"), Json::parse(R"({"b": [1, 2], "a": 1})"));
  EXPECT_FALSE(Json::parse(R"({"a": 1})") == Json::parse(R"({"a": 2})"));
  EXPECT_FALSE(Json::parse(R"({"a": 1})") == Json::parse(R"({"b": 1})"));
  EXPECT_FALSE(Json::parse(R"({"a": 1})") == Json::parse(R"({"a": 1, "b": 1})"));
  EXPECT_FALSE(Json::parse("[1, 2]") == Json::parse("[2, 1]"));
  EXPECT_FALSE(Json::parse("\"1\"") == Json::parse("1"));
}

TEST(JsonTest, SetReplacesInPlaceOrAppends) {
  Json value = Json::parse(R"({"a": 1, "b": 2})");
  value.set("a", Json::string("x"));
  value.set("c", Json::boolean(true));
  EXPECT_EQ(value.dump(), R"({"a": "x", "b": 2, "c": true})");
}

TEST(JsonTest, FindsMembersByKey) {
  const Json value = Json::parse(R"({"a": 1})");
  ASSERT_NE(value.find("a"), nullptr);
  EXPECT_EQ(value.find("a")->text(), "1");
  EXPECT_EQ(value.find("b"), nullptr);
  EXPECT_EQ(Json::parse("[1]").find("a"), nullptr);
}

TEST(JsonTest, CopiesAreIndependentOnceChanged) {
  const Json original = Json::parse(R"({"a": {"b": 1}})");
  Json copy = original;
  copy.set("a", Json::number("2"));
  copy.members().emplace_back("z", Json());
  EXPECT_EQ(original.dump(), R"({"a": {"b": 1}})");
  EXPECT_EQ(copy.dump(), R"({"a": 2, "z": null})");
}

TEST(JsonTest, SetOnNonObjectThrows) {
  Json value = Json::parse("[]");
  EXPECT_THROW(value.set("a", Json()), std::logic_error);
}

TEST(JsonTest, BadInputThrowsWithTheOffset) {
  EXPECT_EQ(parse_error("[1, 2"),
            "invalid JSON: expected ',' or ']' but the text ends at offset 5");
  EXPECT_EQ(parse_error("{\"a\" 1}"), "invalid JSON: expected ':' at offset 5");
  EXPECT_EQ(parse_error("[1] x"), "invalid JSON: unexpected data after the value at offset 4");
  EXPECT_EQ(parse_error("\"a\\qb\""), "invalid JSON: invalid escape at offset 3");
}

TEST(JsonTest, RejectsMalformedInput) {
  for (const char* bad : {"",
                          " ",
                          "tru",
                          "nul",
                          "01",
                          "1.",
                          "-",
                          ".5",
                          "1e",
                          "+1",
                          "[1,]",
                          "{,}",
                          "{\"a\":1,}",
                          "{1: 2}",
                          "\"unterminated",
                          "\"tab\there\"",
                          "\"\\u12\"",
                          "\"\\u12g4\"",
                          "[1 2]",
                          "{\"a\":1 \"b\":2}",
                          "true false",
                          "'single'",
                          "[",
                          "{"}) {
    const std::string error = parse_error(bad);
    EXPECT_NE(error.find(" at offset "), std::string::npos) << "accepted: " << bad;
  }
}

TEST(JsonTest, RejectsTooDeepNesting) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_NE(parse_error(deep).find("nesting deeper than"), std::string::npos);
  const std::string fine = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(Json::parse(fine).dump(), fine);
}

TEST(JsonTest, AppendJsonStringQuotesAndEscapes) {
  std::string out = "x=";
  append_json_string(out, "say \"hi\"\n");
  EXPECT_EQ(out, R"(x="say \"hi\"\n")");
}

}  // namespace
}  // namespace doit
