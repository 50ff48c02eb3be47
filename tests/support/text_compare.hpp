#pragma once
// Checking program output as text: comparing it with a sample in the docs
// when the figures in it may differ in their last digits from one CPU to
// another (-march=native picks the vector width, and so the order of a sum's
// roundings), and counting what it holds.
#include <cstddef>
#include <string>

namespace xg::testing {

// "" when `got` and `want` are the same text once each number in them is
// allowed a relative difference of `rel`; otherwise the first place they part,
// as a line for the test's message.
std::string text_difference(const std::string& got, const std::string& want, double rel);

// How many times `what` occurs in `text`, counting from the end of each match
// (so "aaaa" holds "aa" twice); 0 for an empty `what`.
std::size_t occurrences(const std::string& text, const std::string& what);

}  // namespace xg::testing
