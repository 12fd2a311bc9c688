#include "common/shell_quote.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace ibo {
namespace {

TEST(ShellQuoteTest, QuotesEveryCharacterAndClosesAroundSingleQuotes) {
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("plain"), "'plain'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("$(x) `y` \"z\" ;"), "'$(x) `y` \"z\" ;'");
}

// sh reads the word back as the one argument it was, with nothing in it run.
TEST(ShellQuoteTest, ShReadsItBackUnchanged) {
  const std::string hostile = "a b 'c' \"d\" $(echo run) `echo run` ;x\\y\ttab";
  FILE* sh = popen(("printf '%s' " + ShellQuote(hostile)).c_str(), "r");
  ASSERT_NE(sh, nullptr);
  std::string out;
  char buf[256];
  for (size_t n; (n = fread(buf, 1, sizeof buf, sh)) > 0;) out.append(buf, n);
  EXPECT_EQ(pclose(sh), 0);
  EXPECT_EQ(out, hostile);
}

}  // namespace
}  // namespace ibo
