#include "common/flag_table.h"

#include <sstream>

namespace ibo::flags {
namespace {

std::string Quoted(const std::string& value) { return "\"" + value + "\""; }

std::string FormatNumber(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string ExpandDefault(std::string help, const std::string& default_value) {
  static constexpr std::string_view kToken = "{default}";
  for (auto at = help.find(kToken); at != std::string::npos; at = help.find(kToken, at + default_value.size())) {
    help.replace(at, kToken.size(), default_value);
  }
  return help;
}

}  // namespace

const Flag* FlagTable::Find(const std::string& name) const {
  for (const auto& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

Status FlagTable::ApplyDefaults() const {
  for (const auto& flag : flags_) {
    if (!flag.default_value.empty()) IBO_RETURN_IF_ERROR(flag.set(flag.name, flag.default_value));
  }
  return Status::Ok();
}

Status FlagTable::Parse(const std::vector<std::string>& args, bool* help) const {
  *help = false;
  IBO_RETURN_IF_ERROR(ApplyDefaults());
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (style_.reject_positional && !name.starts_with("--") && name != "-h") {
      return InvalidArgument("unexpected argument " + Quoted(name));
    }
    const auto eq = name.find('=');
    const bool has_value = eq != std::string::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "--help" || name == "-h") {
      *help = true;
      if (style_.help_ends_parsing) return Status::Ok();
      continue;
    }
    const Flag* flag = Find(name);
    if (!flag) return InvalidArgument("unknown flag " + name + style_.unknown_hint);
    if (flag->placeholder.empty()) {
      IBO_RETURN_IF_ERROR(flag->set(name, has_value ? value : "true"));
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return InvalidArgument(style_.needs_value_prefix + name + " needs a value");
      value = args[++i];
    }
    IBO_RETURN_IF_ERROR(flag->set(name, value));
  }
  return Status::Ok();
}

std::string FlagTable::HelpLine(const Flag& flag, const HelpStyle& style) const {
  std::string line = "  " + flag.name;
  if (style.placeholders && !flag.placeholder.empty()) line += " " + flag.placeholder;
  const std::string help = ExpandDefault(flag.help, flag.default_value);
  if (help.empty()) return line + "\n";
  const std::string indent(style.column, ' ');
  line += line.size() < style.column ? std::string(style.column - line.size(), ' ') : "\n" + indent;
  for (char c : help) {
    line += c;
    if (c == '\n') line += indent;
  }
  return line + "\n";
}

std::string FlagTable::Help(const HelpStyle& style) const {
  std::string out, section;
  for (const auto& flag : flags_) {
    if (!style.undocumented && flag.help.empty()) continue;
    if (flag.section != section) {
      section = flag.section;
      if (!section.empty()) out += section + "\n";
    }
    out += HelpLine(flag, style);
  }
  return out;
}

Setter Text(std::string* field) {
  return [field](const std::string&, const std::string& value) {
    *field = value;
    return Status::Ok();
  };
}

Setter Append(std::vector<std::string>* field) {
  return [field](const std::string&, const std::string& value) {
    field->push_back(value);
    return Status::Ok();
  };
}

Setter Switch(bool* field) {
  return [field](const std::string& name, const std::string& value) {
    if (value != "true" && value != "false") {
      return InvalidArgument("flag " + name + ": must be true or false, not " + Quoted(value));
    }
    *field = value == "true";
    return Status::Ok();
  };
}

Setter WholeNumber(int64_t min, int64_t max, std::function<void(int64_t)> store) {
  return [min, max, store = std::move(store)](const std::string& name, const std::string& value) {
    try {
      size_t used = 0;
      const long long v = std::stoll(value, &used);
      if (used == value.size() && v >= min && v <= max) {
        store(v);
        return Status::Ok();
      }
    } catch (const std::exception&) {
    }
    return InvalidArgument("flag " + name + ": " + Quoted(value) + " is not a whole number from " +
                           std::to_string(min) + " to " + std::to_string(max));
  };
}

Setter WholeNumber(int64_t min, int64_t max, int* field) {
  return WholeNumber(min, max, [field](int64_t v) { *field = static_cast<int>(v); });
}

Setter Number(double min, double max, double* field) {
  return [min, max, field](const std::string& name, const std::string& value) {
    try {
      size_t used = 0;
      const double v = std::stod(value, &used);
      if (used == value.size() && !(v < min) && !(v > max)) {
        *field = v;
        return Status::Ok();
      }
    } catch (const std::exception&) {
    }
    return InvalidArgument("flag " + name + ": " + Quoted(value) + " is not a number from " + FormatNumber(min) +
                           " to " + FormatNumber(max));
  };
}

Setter OneOf(std::vector<std::string> words, std::string* field) {
  return [words = std::move(words), field](const std::string& name, const std::string& value) {
    for (const auto& word : words) {
      if (word == value) {
        *field = value;
        return Status::Ok();
      }
    }
    std::string listed;
    for (size_t i = 0; i < words.size(); ++i) {
      listed += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + words[i];
    }
    return InvalidArgument("flag " + name + ": must be " + listed + ", not " + Quoted(value));
  };
}

}  // namespace ibo::flags
