// datasets/text_lines: the UTF-8 check and LineReader, which reads untrusted
// text one bounded line at a time.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "datasets/text_lines.hpp"
#include "tests/support/idx_files.hpp"

using namespace xg;
using namespace std::string_literals;
using xg::testing::contains;
using xg::testing::input_error;

namespace {

std::vector<std::string> all_lines(const std::string& text, std::size_t max_line_bytes = 100) {
  std::istringstream in(text);
  LineReader lines(in, "t.txt", max_line_bytes);
  std::vector<std::string> out;
  std::string line;
  while (lines.next(line)) {
    out.push_back(line);
    CHECK(lines.line_number() == out.size());
  }
  return out;
}

}  // namespace

TEST_CASE("first_invalid_utf8 accepts well-formed UTF-8 only") {
  const std::size_t ok = std::string_view::npos;
  CHECK(first_invalid_utf8("") == ok);
  CHECK(first_invalid_utf8("plain ASCII, 0-9") == ok);
  CHECK(first_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF") == ok);  // é € 😀 U+10FFFF
  CHECK(first_invalid_utf8("caf\xE9") == 3);                 // Latin-1 é
  CHECK(first_invalid_utf8("caf\xE9 au lait") == 3);
  CHECK(first_invalid_utf8("a\x80") == 1);                   // a lone continuation byte
  CHECK(first_invalid_utf8("\xC0\x80") == 0);                // overlong NUL
  CHECK(first_invalid_utf8("\xE0\x80\xAF") == 0);            // overlong '/'
  CHECK(first_invalid_utf8("\xED\xA0\x80") == 0);            // a surrogate, U+D800
  CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == 0);        // above U+10FFFF
  CHECK(first_invalid_utf8("\xF5\x80\x80\x80") == 0);
  CHECK(first_invalid_utf8("ok\xE2\x82") == 2);              // cut short
  CHECK(first_invalid_utf8("ok\xE2\x28\xA1") == 2);          // a bad second byte
  const std::string message = input_error([] { require_utf8("caf\xE9", "names.txt:2"); });
  CHECK(message == "names.txt:2: not valid UTF-8 text (byte 0xE9 at offset 3); hint: save the file as UTF-8");
}

TEST_CASE("LineReader: line ends, a last line without one, blank lines, a byte-order mark") {
  CHECK(all_lines("").empty());
  CHECK(all_lines("a\nb\r\n\nc") == std::vector<std::string>{"a", "b", "", "c"});
  CHECK(all_lines("a\n") == std::vector<std::string>{"a"});
  CHECK(all_lines("\xEF\xBB\xBFx,y\n1,2\n") == std::vector<std::string>{"x,y", "1,2"});
  // Lines longer than the reader's buffer come back whole.
  const std::string long_line(200000, 'z');
  CHECK(all_lines(long_line + "\nend\n", 200000) == std::vector<std::string>{long_line, "end"});
}

TEST_CASE("LineReader refuses a line over the limit, a NUL byte and bytes that are not UTF-8, naming the line") {
  CHECK(all_lines(std::string(100, 'a') + "\r\n") == std::vector<std::string>{std::string(100, 'a')});  // at the limit
  std::string message = input_error([] { all_lines("ok\n" + std::string(101, 'a') + "\n"); });
  CHECK(message == "t.txt:2: line longer than 100 bytes; is this a text file with one row per line?");
  message = input_error([] { all_lines("ok\n" + std::string(5000, 'a')); });  // no line end, far over
  CHECK(contains(message, "t.txt:2: line longer than 100 bytes"));
  CHECK(input_error([] { all_lines("a\nb\0c\n"s); }) == "t.txt:2: holds a NUL byte; this is not a text file");
  message = input_error([] { all_lines("name\ncaf\xE9\n"); });
  CHECK(message == "t.txt:2: not valid UTF-8 text (byte 0xE9 at offset 3); hint: save the file as UTF-8");
}
