// Edit distance between names, for did-you-mean suggestions (as ninja's
// edit_distance.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace doit {

/// Edit distance counting insertions, deletions, replacements and swaps of
/// two neighbouring characters as one edit each (optimal string alignment).
size_t edit_distance(std::string_view a, std::string_view b);

/// Farther than this, a name is never taken for a typo of another (ninja's limit).
constexpr size_t kMaxSuggestionDistance = 3;
/// One edit allowed per this many characters of the word (at least one).
constexpr size_t kCharactersPerEdit = 3;

/// The candidate closest to `word` (the first of equals), or "" when none is
/// within min(kMaxSuggestionDistance, max(1, |word| / kCharactersPerEdit))
/// edits. Neither `word` itself nor anything for an empty word is suggested.
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace doit
