#include "doit/cmd_format.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace doit {
namespace {

const FormatMapping kMapping = {
    {"targets", "out.txt log.txt"}, {"dependencies", "in.c"}, {"changed", ""}, {"pct", "50%"}};

std::optional<std::string> old_style(std::string_view text) {
  return format_simple(text, kMapping, FormatStyle::kOld);
}
std::optional<std::string> new_style(std::string_view text) {
  return format_simple(text, kMapping, FormatStyle::kNew);
}
std::optional<std::string> both_styles(std::string_view text) {
  return format_simple(text, kMapping, FormatStyle::kBoth);
}

// --- style names ---------------------------------------------------------------

TEST(FormatStyleTest, ParsesAndNamesTheThreeStyles) {
  for (const char* name : {"old", "new", "both"}) {
    FormatStyle style = FormatStyle::kOld;
    ASSERT_TRUE(parse_format_style(name, &style)) << name;
    EXPECT_EQ(format_style_name(style), name);
  }
}

TEST(FormatStyleTest, RejectsUnknownStyleNamesLeavingTheValue) {
  FormatStyle style = FormatStyle::kNew;
  EXPECT_FALSE(parse_format_style("Old", &style));
  EXPECT_FALSE(parse_format_style("", &style));
  EXPECT_EQ(style, FormatStyle::kNew);
}

// --- old style: %(key)s --------------------------------------------------------------

TEST(FormatOldStyleTest, SubstitutesNamedKeys) {
  EXPECT_EQ(old_style("cc -o %(targets)s %(dependencies)s"),
            std::optional<std::string>("cc -o out.txt log.txt in.c"));
  EXPECT_EQ(old_style("[%(changed)s]"), std::optional<std::string>("[]"));
}

TEST(FormatOldStyleTest, TextWithoutPlaceholdersIsKeptAsIs) {
  EXPECT_EQ(old_style(""), std::optional<std::string>(""));
  EXPECT_EQ(old_style("echo {targets} $HOME"), std::optional<std::string>("echo {targets} $HOME"));
}

TEST(FormatOldStyleTest, DoublePercentIsALiteralPercent) {
  EXPECT_EQ(old_style("date +%%s; echo 100%%"), std::optional<std::string>("date +%s; echo 100%"));
  EXPECT_EQ(old_style("%%(targets)s"), std::optional<std::string>("%(targets)s"));
}

TEST(FormatOldStyleTest, SubstitutedValuesAreNotFormattedAgain) {
  const FormatMapping mapping = {{"a", "%(b)s %%"}, {"b", "no"}};
  EXPECT_EQ(format_simple("%(a)s", mapping, FormatStyle::kOld),
            std::optional<std::string>("%(b)s %%"));
}

TEST(FormatOldStyleTest, AnythingButSimpleFormsAsksPython) {
  EXPECT_EQ(old_style("date +%s"), std::nullopt);  // a lone %s formats the whole mapping
  EXPECT_EQ(old_style("%d"), std::nullopt);
  EXPECT_EQ(old_style("%(targets)r"), std::nullopt);
  EXPECT_EQ(old_style("%(targets)-5s"), std::nullopt);
  EXPECT_EQ(old_style("%(targets)"), std::nullopt);
  EXPECT_EQ(old_style("%(targets"), std::nullopt);
  EXPECT_EQ(old_style("trailing %"), std::nullopt);
}

TEST(FormatOldStyleTest, MissingKeyAsksPython) {
  EXPECT_EQ(old_style("%(nokey)s"), std::nullopt);
  EXPECT_EQ(old_style("%(targets)s %(nokey)s"), std::nullopt);
}

// --- new style: {key} -----------------------------------------------------------------

TEST(FormatNewStyleTest, SubstitutesNamedKeys) {
  EXPECT_EQ(new_style("cc -o {targets} {dependencies}"),
            std::optional<std::string>("cc -o out.txt log.txt in.c"));
}

TEST(FormatNewStyleTest, DoubledBracesAreLiteralBraces) {
  EXPECT_EQ(new_style("awk '{{print $1}}' {dependencies}"),
            std::optional<std::string>("awk '{print $1}' in.c"));
  EXPECT_EQ(new_style("{{targets}}"), std::optional<std::string>("{targets}"));
}

TEST(FormatNewStyleTest, PercentSignsAreLeftAlone) {
  EXPECT_EQ(new_style("date +%s %(targets)s"), std::optional<std::string>("date +%s %(targets)s"));
}

TEST(FormatNewStyleTest, AnythingButSimpleFormsAsksPython) {
  EXPECT_EQ(new_style("{targets!r}"), std::nullopt);
  EXPECT_EQ(new_style("{targets:>20}"), std::nullopt);
  EXPECT_EQ(new_style("{targets.upper}"), std::nullopt);
  EXPECT_EQ(new_style("{targets[0]}"), std::nullopt);
  EXPECT_EQ(new_style("{}"), std::nullopt);
  EXPECT_EQ(new_style("{0}"), std::nullopt);
  EXPECT_EQ(new_style("a } b"), std::nullopt);
  EXPECT_EQ(new_style("{targets"), std::nullopt);
}

TEST(FormatNewStyleTest, MissingKeyAsksPython) { EXPECT_EQ(new_style("{nokey}"), std::nullopt); }

// --- both: new style first, then old style on the result ---------------------------------

TEST(FormatBothStylesTest, AppliesNewThenOld) {
  EXPECT_EQ(both_styles("{targets} %(dependencies)s"),
            std::optional<std::string>("out.txt log.txt in.c"));
  EXPECT_EQ(both_styles("{{x}} 100%%"), std::optional<std::string>("{x} 100%"));
}

TEST(FormatBothStylesTest, ValuesFromTheFirstPassAreSeenByTheSecond) {
  // Python: "{pct}".format(...) gives "50%", then "50%" % mapping fails.
  EXPECT_EQ(both_styles("{pct}"), std::nullopt);
}

TEST(FormatBothStylesTest, EitherPassNotSimpleAsksPython) {
  EXPECT_EQ(both_styles("{nokey} %(targets)s"), std::nullopt);
  EXPECT_EQ(both_styles("{targets} %(nokey)s"), std::nullopt);
}

}  // namespace
}  // namespace doit
