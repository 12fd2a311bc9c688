#include "common/flag_table.h"

#include <gtest/gtest.h>

namespace ibo::flags {
namespace {

struct Fields {
  std::string name;
  std::vector<std::string> items;
  bool on = false;
  int count = 0;
  double rate = 0;
  std::string format;
};

FlagTable Table(Fields& f, ParseStyle style = {" (see cmd --help)", "flag ", false, true}) {
  return FlagTable({{"--name", "NAME", "who (default {default})", "anon", Text(&f.name), false, "First:"},
                    {"--item", "X", "one item (repeatable)", "", Append(&f.items), true, "First:"},
                    {"--on", "", "a switch", "", Switch(&f.on), false, "Second:"},
                    {"--count", "N", "", "3", WholeNumber(0, 9, &f.count), false, "Second:"},
                    {"--rate", "R", "first line\nsecond line", "", Number(0, 1.5, &f.rate), false, "Second:"},
                    {"--a-very-long-flag-name", "VALUE", "help below", "", OneOf({"a", "b", "c"}, &f.format),
                     false, "Second:"}},
                   std::move(style));
}

TEST(FlagTable, DefaultsThenBothSpellings) {
  Fields f;
  bool help = true;
  ASSERT_TRUE(Table(f).Parse({}, &help).ok());
  EXPECT_FALSE(help);
  EXPECT_EQ(f.name, "anon");
  EXPECT_EQ(f.count, 3);
  ASSERT_TRUE(Table(f).Parse({"--name=x", "--item", "1", "--item=2", "--on", "--count", "9", "--rate=1.5",
                              "--a-very-long-flag-name", "c", "--name", "y"},
                             &help)
                  .ok());
  EXPECT_EQ(f.name, "y");  // the last one wins
  EXPECT_EQ(f.items, (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(f.on);
  EXPECT_EQ(f.count, 9);
  EXPECT_EQ(f.rate, 1.5);
  EXPECT_EQ(f.format, "c");
  ASSERT_TRUE(Table(f).Parse({"--on=false"}, &help).ok());
  EXPECT_FALSE(f.on);
}

TEST(FlagTable, Errors) {
  Fields f;
  bool help = false;
  auto error = [&](std::vector<std::string> args) { return Table(f).Parse(args, &help).message(); };
  EXPECT_EQ(error({"--nope"}), "unknown flag --nope (see cmd --help)");
  EXPECT_EQ(error({"--name"}), "flag --name needs a value");
  EXPECT_EQ(error({"--on=maybe"}), "flag --on: must be true or false, not \"maybe\"");
  EXPECT_EQ(error({"--count=10"}), "flag --count: \"10\" is not a whole number from 0 to 9");
  EXPECT_EQ(error({"--count=1x"}), "flag --count: \"1x\" is not a whole number from 0 to 9");
  EXPECT_EQ(error({"--rate=2"}), "flag --rate: \"2\" is not a number from 0 to 1.5");
  EXPECT_EQ(error({"--a-very-long-flag-name=d"}), "flag --a-very-long-flag-name: must be a, b or c, not \"d\"");
}

TEST(FlagTable, HelpStopsOrReadsOn) {
  Fields f;
  bool help = false;
  EXPECT_TRUE(Table(f).Parse({"--help", "--nope"}, &help).ok());
  EXPECT_TRUE(help);
  const ParseStyle reads_on{"", "", true, false};
  EXPECT_EQ(Table(f, reads_on).Parse({"-h", "--nope"}, &help).message(), "unknown flag --nope");
  EXPECT_TRUE(help);
  EXPECT_TRUE(Table(f, reads_on).Parse({"--help", "--name", "x"}, &help).ok());
  EXPECT_EQ(f.name, "x");
  EXPECT_EQ(Table(f, reads_on).Parse({"stray"}, &help).message(), "unexpected argument \"stray\"");
  EXPECT_EQ(Table(f, reads_on).Parse({"--name"}, &help).message(), "--name needs a value");
}

TEST(FlagTable, Help) {
  Fields f;
  EXPECT_EQ(Table(f).Help({.column = 20}),
            "First:\n"
            "  --name NAME       who (default anon)\n"
            "  --item X          one item (repeatable)\n"
            "Second:\n"
            "  --on              a switch\n"
            "  --count N\n"
            "  --rate R          first line\n"
            "                    second line\n"
            "  --a-very-long-flag-name VALUE\n"
            "                    help below\n");
  EXPECT_EQ(Table(f).Help({.column = 12, .placeholders = false, .undocumented = false}),
            "First:\n"
            "  --name    who (default anon)\n"
            "  --item    one item (repeatable)\n"
            "Second:\n"
            "  --on      a switch\n"
            "  --rate    first line\n"
            "            second line\n"
            "  --a-very-long-flag-name\n"
            "            help below\n");
}

}  // namespace
}  // namespace ibo::flags
