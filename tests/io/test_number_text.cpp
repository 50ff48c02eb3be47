// io/number_text: printf-style formats ("nan", never "-nan"), and checked
// parsing of flag values whose errors read "FLAG: 'TEXT' is not WHAT".
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/number_text.hpp"

using namespace xg;

TEST_CASE("number text: format_number is %g with the digits asked for, format_fixed is %.Nf, NaN is 'nan'") {
  CHECK(format_number(2.302585093) == "2.30259");
  CHECK(format_number(1e4) == "10000");
  CHECK(format_number(1e-5) == "1e-05");
  CHECK(format_number(0.1, 3) == "0.1");
  CHECK(format_number(std::nan("")) == "nan");
  CHECK(format_number(-std::nan("")) == "nan");
  CHECK(format_number(INFINITY) == "inf");
  CHECK(format_fixed(0.89544, 4) == "0.8954");
  CHECK(format_fixed(2.0, 2) == "2.00");
  CHECK(format_fixed(-std::nan(""), 3) == "nan");
}

TEST_CASE("number text: format_fixed_or_scientific switches to 3-digit scientific below 1e-4, never prints 0.000000 for a tiny value") {
  CHECK(format_fixed_or_scientific(0.912345678, 6) == "0.912346");
  CHECK(format_fixed_or_scientific(4.45e-08, 6) == "4.450e-08");
  CHECK(format_fixed_or_scientific(1e-4, 6) == "0.000100");
  CHECK(format_fixed_or_scientific(9.99e-5, 6) == "9.990e-05");
  CHECK(format_fixed_or_scientific(0.0, 6) == "0.000000");
  CHECK(format_fixed_or_scientific(-4.45e-08, 6, true) == "-4.450e-08");
  CHECK(format_fixed_or_scientific(4.45e-08, 6, true) == "+4.450e-08");
  CHECK(format_fixed_or_scientific(-0.5, 6, true) == "-0.500000");
  CHECK(format_fixed_or_scientific(0.5, 4, true) == "+0.5000");
  CHECK(format_fixed_or_scientific(-std::nan(""), 6) == "nan");
}

TEST_CASE("number text: parse_number reads the whole text as one finite number") {
  CHECK(parse_number("--lr", "0.05") == 0.05);
  CHECK(parse_number("--lr", "1e-3") == 1e-3);
  CHECK(parse_number("--lr", "-2") == -2.0);
  for (const char* bad : {"", "abc", "0.1x", " 1", "1 ", "nan", "inf", "1e999", "0,1"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_number("--lr", bad), ("--lr: '" + std::string(bad) + "' is not a number").c_str(), InputError);
  }
  CHECK_THROWS_WITH_AS(parse_number("--gamma", "x", "a rate in (0, 1)"), "--gamma: 'x' is not a rate in (0, 1)", InputError);
}

TEST_CASE("number text: parse_count takes digits only, up to max, a sign never wraps") {
  CHECK(parse_count("--epochs", "12", 100) == 12);
  CHECK(parse_count("--epochs", "0", 100) == 0);
  CHECK(parse_count("--epochs", "100", 100) == 100);
  for (const char* bad : {"-1", "+1", "101", "1.5", "", "12a", "18446744073709551616"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_count("--epochs", bad, 100), ("--epochs: '" + std::string(bad) + "' is not a whole number ≥ 0").c_str(),
                         InputError);
  }
}

TEST_CASE("number text: lists have no empty item, trailing comma or bad item, and the error quotes the whole list") {
  CHECK(parse_number_list("--betas", "0.9,0.999") == std::vector<double>{0.9, 0.999});
  CHECK(parse_number_list("--betas", "3") == std::vector<double>{3.0});
  CHECK(parse_count_list("--milestones", "5,8") == std::vector<std::size_t>{5, 8});
  for (const char* bad : {"", ",", "0.9,", ",0.9", "0.9,,0.99", "0.9,x"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_number_list("--betas", bad),
                         ("--betas: '" + std::string(bad) + "' is not a comma-separated list of numbers").c_str(), InputError);
  }
  for (const char* bad : {"5,-8", "5,8.5", "5,", "a"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(parse_count_list("--milestones", bad),
                         ("--milestones: '" + std::string(bad) + "' is not a comma-separated list of whole numbers ≥ 0").c_str(),
                         InputError);
  }
}
