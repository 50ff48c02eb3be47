#pragma once
// Comparing program output with a sample in the docs when the figures in it
// may differ in their last digits from one CPU to another (-march=native
// picks the vector width, and so the order of a sum's roundings).
#include <string>

namespace xg::testing {

// "" when `got` and `want` are the same text once each number in them is
// allowed a relative difference of `rel`; otherwise the first place they part,
// as a line for the test's message.
std::string text_difference(const std::string& got, const std::string& want, double rel);

}  // namespace xg::testing
