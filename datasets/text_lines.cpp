#include "datasets/text_lines.hpp"

#include <cstdio>
#include <cstring>
#include <utility>

#include "core/error.hpp"

namespace xg {

std::size_t first_invalid_utf8(std::string_view text) {
  // The well-formed sequences of the Unicode standard (table 3-7): the first
  // byte gives the length, and narrows the range of the second byte.
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;   // no overlong forms
      if (c == 0xED) high = 0x9F;  // no surrogates U+D800..U+DFFF
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;   // no overlong forms
      if (c == 0xF4) high = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;  // 0x80..0xC1 (a continuation byte or an overlong lead) or 0xF5..0xFF
    }
    if (n - i < length || s[i + 1] < low || s[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    i += length;
  }
  return std::string_view::npos;
}

void require_utf8(std::string_view text, const std::string& what) {
  const std::size_t bad = first_invalid_utf8(text);
  if (bad == std::string_view::npos) return;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", unsigned(static_cast<unsigned char>(text[bad])));
  throw InputError(what + ": not valid UTF-8 text (byte " + byte + " at offset " + std::to_string(bad) +
                   "); hint: save the file as UTF-8");
}

LineReader::LineReader(std::istream& in, std::string source, std::size_t max_line_bytes)
    : in_(in), source_(std::move(source)), max_line_bytes_(max_line_bytes), buffer_(std::size_t(1) << 16, '\0') {}

void LineReader::fail(const std::string& what) const {
  throw InputError(source_ + ":" + std::to_string(line_number_) + ": " + what);
}

bool LineReader::fill() {
  if (at_end_) return false;
  in_.read(buffer_.data(), std::streamsize(buffer_.size()));
  if (in_.bad()) fail("read error");
  begin_ = 0;
  end_ = std::size_t(in_.gcount());
  if (end_ == 0) at_end_ = true;
  return end_ > 0;
}

bool LineReader::next(std::string& line) {
  line.clear();
  if (begin_ == end_ && !fill()) return false;
  ++line_number_;
  // Copy up to the '\n', refilling the buffer as often as needed, but never
  // more than the limit (+1 for a '\r' before the '\n').
  while (true) {
    const char* start = buffer_.data() + begin_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    const std::size_t take = newline ? std::size_t(newline - start) : end_ - begin_;
    if (line.size() + take > max_line_bytes_ + 1) {
      fail("line longer than " + std::to_string(max_line_bytes_) + " bytes; is this a text file with one row per line?");
    }
    line.append(start, take);
    begin_ += take;
    if (newline) {
      ++begin_;
      break;
    }
    if (!fill()) break;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > max_line_bytes_) {
    fail("line longer than " + std::to_string(max_line_bytes_) + " bytes; is this a text file with one row per line?");
  }
  if (line_number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // a UTF-8 byte-order mark
  if (line.find('\0') != std::string::npos) fail("holds a NUL byte; this is not a text file");
  require_utf8(line, source_ + ":" + std::to_string(line_number_));
  return true;
}

}  // namespace xg
