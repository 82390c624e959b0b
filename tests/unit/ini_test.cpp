#include "doit/ini.h"

#include <string>

#include <gtest/gtest.h>

namespace doit {
namespace {

/// The value of `key` in `section`; "<none>" for a key without value,
/// "<missing>" when absent.
std::string value_of(const IniFile& file, std::string_view section, std::string_view key) {
  const IniSection* s = file.find(section);
  if (s == nullptr) return "<missing>";
  const IniEntry* e = s->find(key);
  if (e == nullptr) return "<missing>";
  return e->value ? *e->value : "<none>";
}

/// The IniError of parsing `text` as "line N: message", or "" if none.
std::string parse_error(std::string_view text) {
  try {
    parse_ini(text);
  } catch (const IniError& e) {
    return "line " + std::to_string(e.line()) + ": " + e.what();
  }
  return "";
}

TEST(IniTest, ReadsSectionsAndKeysInFileOrder) {
  const IniFile file = parse_ini("[GLOBAL]\nverbosity = 2\n\n[list]\nstatus=True\n");
  ASSERT_EQ(file.sections.size(), 2u);
  EXPECT_EQ(file.sections[0].name, "GLOBAL");
  EXPECT_EQ(file.sections[1].name, "list");
  EXPECT_EQ(value_of(file, "GLOBAL", "verbosity"), "2");
  EXPECT_EQ(value_of(file, "list", "status"), "True");
  EXPECT_EQ(file.sections[1].entries[0].line, 5);
}

TEST(IniTest, OnlyEqualsSeparatesKeyAndValue) {
  const IniFile file = parse_ini("[run]\nkey : v\nurl = http://x:80/a=b\n");
  EXPECT_EQ(value_of(file, "run", "key : v"), "<none>");
  EXPECT_EQ(value_of(file, "run", "url"), "http://x:80/a=b");
}

TEST(IniTest, KeysAndSectionsAreCaseSensitive) {
  const IniFile file = parse_ini("[Run]\nK = 1\nk = 2\n");
  EXPECT_EQ(value_of(file, "Run", "K"), "1");
  EXPECT_EQ(value_of(file, "Run", "k"), "2");
  EXPECT_EQ(file.find("run"), nullptr);
}

TEST(IniTest, KeyWithoutEqualsHasNoValue) {
  const IniFile file = parse_ini("[run]\nflag\nempty =\n");
  EXPECT_EQ(value_of(file, "run", "flag"), "<none>");
  EXPECT_EQ(value_of(file, "run", "empty"), "");
}

TEST(IniTest, CommentLinesAreSkippedButInlineCommentsAreValue) {
  const IniFile file = parse_ini("# top\n[run]\n; c\n  # indented\nreporter = json # no\n");
  EXPECT_EQ(value_of(file, "run", "reporter"), "json # no");
  EXPECT_EQ(file.find("run")->entries.size(), 1u);
}

TEST(IniTest, DeeperIndentedLinesContinueTheValue) {
  const IniFile file = parse_ini("[run]\nx = a\n    b\n\n    c\n\n\ny = 1\n");
  EXPECT_EQ(value_of(file, "run", "x"), "a\nb\n\nc");
  EXPECT_EQ(value_of(file, "run", "y"), "1");
}

TEST(IniTest, CommentLinesInsideAValueAreDropped) {
  const IniFile file = parse_ini("[a]\nx = 1\n  # comment\n  y\n");
  EXPECT_EQ(value_of(file, "a", "x"), "1\ny");
}

TEST(IniTest, EquallyIndentedKeysAreKeys) {
  const IniFile file = parse_ini("[a]\n  x = 1\n  y = 2\n");
  EXPECT_EQ(value_of(file, "a", "x"), "1");
  EXPECT_EQ(value_of(file, "a", "y"), "2");
}

TEST(IniTest, SectionNameRunsToTheLastBracket) {
  const IniFile file = parse_ini("[a] trailing\nx=1\n[b]c]\ny=2\n[task:t]\nz=3\n");
  EXPECT_EQ(value_of(file, "a", "x"), "1");
  EXPECT_EQ(value_of(file, "b]c", "y"), "2");
  EXPECT_EQ(value_of(file, "task:t", "z"), "3");
}

TEST(IniTest, AcceptsEveryLineEnding) {
  const IniFile file = parse_ini("[a]\r\nx = 1\r\ny = 2\rz=3");
  EXPECT_EQ(value_of(file, "a", "x"), "1");
  EXPECT_EQ(value_of(file, "a", "y"), "2");
  EXPECT_EQ(value_of(file, "a", "z"), "3");
}

TEST(IniTest, DefaultKeysAppearInEverySection) {
  const IniFile file = parse_ini("[DEFAULT]\nd = dv\nr=%(x)s!\n[a]\nx=1\n[b]\nx=2\nd=own\n");
  EXPECT_EQ(file.find("DEFAULT"), nullptr);
  EXPECT_EQ(value_of(file, "a", "d"), "dv");
  EXPECT_EQ(value_of(file, "a", "r"), "1!");
  EXPECT_EQ(value_of(file, "b", "d"), "own");
  EXPECT_EQ(value_of(file, "b", "r"), "2!");
}

TEST(IniTest, InterpolatesReferencesAndDoublePercent) {
  const IniFile file = parse_ini("[a]\np = 100%%\nq = %(p)s and %(r)s\nr = x\n");
  EXPECT_EQ(value_of(file, "a", "p"), "100%");
  EXPECT_EQ(value_of(file, "a", "q"), "100% and x");
}

TEST(IniTest, RejectsAKeyBeforeAnySection) {
  EXPECT_EQ(parse_error("\nx=1\n"),
            "line 2: 'x=1' is not in a section (the file must start with a [section] line)");
}

TEST(IniTest, RejectsALineWithoutKey) {
  EXPECT_EQ(parse_error("[a]\n= 1\n"), "line 2: a line without a key: '= 1'");
}

TEST(IniTest, RejectsDuplicateSectionsAndKeys) {
  EXPECT_EQ(parse_error("[a]\nx=1\n[a]\n"), "line 3: section [a] appears twice");
  EXPECT_EQ(parse_error("[a]\nx=1\nx=2\n"), "line 3: key 'x' appears twice in [a]");
}

TEST(IniTest, RejectsContinuationOfAKeyWithoutValue) {
  EXPECT_EQ(parse_error("[a]\nx\n  y\n"),
            "line 3: a continuation line, but key 'x' has no value (it has no '=')");
}

TEST(IniTest, RejectsBadInterpolationAtTheKeysLine) {
  EXPECT_EQ(parse_error("[a]\n\np = 100%\n"),
            "line 3: 'p' in [a]: '%' must be followed by '%' or '(', found: '%'");
  EXPECT_EQ(parse_error("[a]\np = %(nope)s\n"),
            "line 2: 'p' in [a] refers to '%(nope)s', but 'nope' is not set");
  EXPECT_EQ(parse_error("[a]\np = %(x\n"),
            "line 2: 'p' in [a]: bad interpolation variable reference '%(x'");
  EXPECT_EQ(parse_error("[a]\np = %(p)s\n"), "line 2: 'p' in [a]: interpolation nested too deeply");
}

}  // namespace
}  // namespace doit
