// Command-line flags as one table. Each entry names a flag, parses and validates its value into a
// typed field, carries its default and its line of --help, so the three cannot drift apart.
// `imagebuild-operator run` and `imagebuild-operator merge` both parse with it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace ibo::flags {

// Stores a flag's value in its field. An error's message is the whole line the command prints.
// `name` is the flag as the table spells it ("--kube-api-qps").
using Setter = std::function<Status(const std::string& name, const std::string& value)>;

struct Flag {
  std::string name;         // "--namespace"
  std::string placeholder;  // "NS" in --help; empty: a switch, given bare or as =true / =false
  // The --help text. "{default}" stands for default_value; "\n" goes on at the help column.
  std::string help;
  // Set through `set` before the arguments are read; empty: none (the field starts empty).
  std::string default_value;
  Setter set;
  bool repeatable = false;  // every occurrence adds a value; otherwise the last one wins
  std::string section;      // a heading ("Builds:") printed above this flag and those after it
};

// How a command words the errors the table itself finds (a flag's own value errors come from its
// setter). `run` and `merge` have worded them differently since their first release.
struct ParseStyle {
  std::string unknown_hint;        // after "unknown flag --x", e.g. " (see imagebuild-operator run --help)"
  std::string needs_value_prefix;  // before "--x needs a value", e.g. "flag "
  // A word that does not start with "--" is `unexpected argument "word"`; else an unknown flag.
  bool reject_positional = false;
  // --help or -h stops reading at once; else the rest is still read and its errors reported.
  bool help_ends_parsing = true;
};

struct HelpStyle {
  size_t column = 37;         // where the help text starts
  bool placeholders = true;   // "--namespace NS", or the name alone
  bool undocumented = true;   // list the flags that have no help text
};

class FlagTable {
 public:
  FlagTable(std::vector<Flag> flags, ParseStyle style) : flags_(std::move(flags)), style_(std::move(style)) {}

  // Sets every default, then reads `args` (--flag value or --flag=value); `*help` says whether
  // --help or -h was given. The first error ends the parse.
  Status Parse(const std::vector<std::string>& args, bool* help) const;
  // Sets every default value, as Parse does first.
  Status ApplyDefaults() const;
  // The flag lines of --help, with section headings.
  std::string Help(const HelpStyle& style = {}) const;

  const std::vector<Flag>& flags() const { return flags_; }

 private:
  const Flag* Find(const std::string& name) const;
  std::string HelpLine(const Flag& flag, const HelpStyle& style) const;

  std::vector<Flag> flags_;
  ParseStyle style_;
};

// Setters for the common kinds of field. Their errors read "flag --name: ...".
Setter Text(std::string* field);
Setter Append(std::vector<std::string>* field);  // for a repeatable flag
Setter Switch(bool* field);                      // "true" or "false"
// A whole number from min to max.
Setter WholeNumber(int64_t min, int64_t max, std::function<void(int64_t)> store);
Setter WholeNumber(int64_t min, int64_t max, int* field);
// A decimal number from min to max.
Setter Number(double min, double max, double* field);
// One of the words listed, e.g. {"json", "text"}.
Setter OneOf(std::vector<std::string> words, std::string* field);

}  // namespace ibo::flags
