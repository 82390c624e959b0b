// A task's list of paths (file_dep, targets): all their text in one block,
// not one std::string each. A 10,000-task project has 110,000 of them; as
// std::strings they took 64 bytes each before their text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace doit {

class PathList {
 public:
  /// Reads the paths in order, as std::string_view (valid while the list is
  /// not changed). Each is followed by a NUL in memory: c_str() gives it to
  /// the C library.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = std::string_view;

    const_iterator() = default;
    std::string_view operator*() const { return {at_ + kLengthBytes, length()}; }
    /// The path as a NUL-terminated string.
    const char* c_str() const { return at_ + kLengthBytes; }
    const_iterator& operator++() {
      at_ += kLengthBytes + length() + 1;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    friend class PathList;
    explicit const_iterator(const char* at) : at_(at) {}
    std::size_t length() const {
      std::uint32_t n;
      std::memcpy(&n, at_, kLengthBytes);
      return n;
    }
    const char* at_ = nullptr;
  };
  using iterator = const_iterator;
  using value_type = std::string_view;

  PathList() = default;
  PathList(std::initializer_list<std::string_view> paths) {
    for (const std::string_view p : paths) push_back(p);
  }
  // Implicit, as the std::vector<std::string> it replaces took them.
  PathList(const std::vector<std::string>& paths) {  // NOLINT(google-explicit-constructor)
    for (const std::string& p : paths) push_back(p);
  }
  PathList& operator=(std::initializer_list<std::string_view> paths) {
    clear();
    for (const std::string_view p : paths) push_back(p);
    return *this;
  }

  /// Counts them (the list does not keep its size: one word less per list).
  std::size_t size() const { return static_cast<std::size_t>(std::distance(begin(), end())); }
  bool empty() const { return text_.empty(); }
  const_iterator begin() const { return const_iterator(text_.data()); }
  const_iterator end() const { return const_iterator(text_.data() + text_.size()); }

  void push_back(std::string_view path) {
    const auto n = static_cast<std::uint32_t>(path.size());
    char length[kLengthBytes];
    std::memcpy(length, &n, kLengthBytes);
    text_.append(length, kLengthBytes).append(path).push_back('\0');
  }
  void emplace_back(std::string_view path) { push_back(path); }
  /// Room for `count` more paths of `text_bytes` characters in all.
  void reserve(std::size_t count, std::size_t text_bytes) {
    text_.reserve(text_.size() + count * (kLengthBytes + 1) + text_bytes);
  }
  void clear() { text_.clear(); }
  bool contains(std::string_view path) const {
    for (const std::string_view p : *this) {
      if (p == path) return true;
    }
    return false;
  }
  std::vector<std::string> to_vector() const { return {begin(), end()}; }

  friend bool operator==(const PathList&, const PathList&) = default;

 private:
  static constexpr std::size_t kLengthBytes = sizeof(std::uint32_t);
  /// Each path as its length (4 bytes, native order), its text, a NUL.
  std::string text_;
};

}  // namespace doit
