#pragma once
// Numbers as text, one way each: the checked parsing of flag values (a
// negative count never wraps, trailing junk is an error) and the formats
// xgrad prints. Every error is an InputError that names the flag.
#include <cstddef>
#include <string>
#include <vector>

namespace xg {

// `significant` digits as printf's %g ("2.30259", "1e+04"); "nan", never "-nan".
std::string format_number(double value, int significant = 6);
// `decimals` digits after the point, as printf's %.Nf ("0.8954").
std::string format_fixed(double value, int decimals);
// For a column of values that may be tiny (probabilities, gradients): fixed with
// `decimals` digits ("0.912345"), but scientific with 3 after the point when
// 0 < |value| < 1e-4 ("4.450e-08"), where fixed would print 0.000000. With
// `sign`, a '+' before a positive value ("+0.087655", "+4.450e-08").
std::string format_fixed_or_scientific(double value, int decimals, bool sign = false);

// One finite number, the whole of `text`; else InputError "FLAG: 'TEXT' is not WHAT".
double parse_number(const std::string& flag, const std::string& text, const std::string& what = "a number");
// One whole number ≥ 0 (no sign, no fraction) at most `max`.
std::size_t parse_count(const std::string& flag, const std::string& text, std::size_t max,
                        const std::string& what = "a whole number ≥ 0");
// "a,b,c" -> the numbers; an empty item, a trailing comma or a non-number is an error.
std::vector<double> parse_number_list(const std::string& flag, const std::string& text,
                                      const std::string& what = "a comma-separated list of numbers");
// The same for whole numbers ≥ 0 ("5,8").
std::vector<std::size_t> parse_count_list(const std::string& flag, const std::string& text,
                                          const std::string& what = "a comma-separated list of whole numbers ≥ 0");

}  // namespace xg
