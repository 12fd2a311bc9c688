// A word for a POSIX shell command line: whatever it holds, sh reads it back as exactly that one
// argument, with nothing in it expanded or run.
#pragma once

#include <string>

namespace ibo {

// 'it'\''s' style: single quotes around the text, each single quote closed, escaped and reopened.
std::string ShellQuote(const std::string& s);

}  // namespace ibo
