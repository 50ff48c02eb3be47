#pragma once
// Untrusted text files (CSV tables, classes.txt) read one line at a time.
//
// LineReader holds one line in memory, never the whole file, and refuses at
// once, naming the file and the line:
//   - a line longer than the limit it is given (a 200 MB "line" costs no more
//     than the limit before it is refused);
//   - a NUL byte (a binary file);
//   - bytes that are not UTF-8 (e.g. Latin-1 "caf\xE9"): names and labels end
//     up in JSON metadata, which must be UTF-8, so they are checked here, when
//     the file is loaded, not after an epoch of training.
// Lines end in \n or \r\n; a UTF-8 byte-order mark at the start is skipped.
#include <cstddef>
#include <istream>
#include <string>
#include <string_view>

namespace xg {

// The offset of the first byte of `text` that does not belong to a well-formed
// UTF-8 sequence (overlong forms, surrogates and code points above U+10FFFF are
// not well-formed), or std::string_view::npos when all of it is UTF-8.
std::size_t first_invalid_utf8(std::string_view text);

// Throws InputError "`what`: not valid UTF-8 text (byte 0xE9 at offset 3)" unless
// `text` is UTF-8.
void require_utf8(std::string_view text, const std::string& what);

class LineReader {
 public:
  // `source` names the stream in messages ("iris.csv").
  LineReader(std::istream& in, std::string source, std::size_t max_line_bytes);

  // The next line, without its line end; false at the end of the text. Throws
  // InputError for a read error or a line that is too long, holds a NUL byte
  // or is not UTF-8.
  bool next(std::string& line);

  // The 1-based number of the line that next() returned last.
  std::size_t line_number() const { return line_number_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  bool fill();  // refills buffer_; false at the end of the stream

  std::istream& in_;
  std::string source_;
  std::size_t max_line_bytes_;
  std::size_t line_number_ = 0;
  std::string buffer_;  // bytes read from in_ and not yet returned: [begin_, end_)
  std::size_t begin_ = 0, end_ = 0;
  bool at_end_ = false;
};

}  // namespace xg
