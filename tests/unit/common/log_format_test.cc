// JSON log lines: valid JSON whatever the message holds, and the object a reconcile works on as
// fields of its own.
#include "common/log_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace ibo {
namespace {

class JsonLogFormatTest : public ::testing::Test {
 protected:
  JsonLogFormatTest() : sink_(std::make_shared<spdlog::sinks::ostream_sink_st>(out_)), logger_("test", sink_) {
    logger_.set_formatter(NewJsonLogFormatter());
  }
  // The lines written so far, each parsed (a line that is not JSON fails the test).
  std::vector<nlohmann::json> Lines() {
    std::vector<nlohmann::json> lines;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      auto parsed = nlohmann::json::parse(line, nullptr, false);
      EXPECT_FALSE(parsed.is_discarded()) << line;
      lines.push_back(parsed);
    }
    return lines;
  }
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_st> sink_;
  spdlog::logger logger_;
};

TEST_F(JsonLogFormatTest, EscapesWhateverTheMessageHolds) {
  logger_.warn("quote \" backslash \\ newline \n tab \t bell \a");
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "warning");
  EXPECT_EQ(lines[0]["msg"], "quote \" backslash \\ newline \n tab \t bell \a");
  EXPECT_FALSE(lines[0].contains("name"));
  EXPECT_TRUE(lines[0]["time"].get<std::string>().ends_with("Z"));
}

TEST_F(JsonLogFormatTest, NamesTheObjectOfTheReconcile) {
  {
    ScopedLogObject outer("ci/api");
    logger_.info("building");
    {
      ScopedLogObject inner("node-\"1\"");  // cluster-scoped: a name alone
      logger_.info("node");
    }
    logger_.info("after");
  }
  logger_.info("idle");
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["namespace"], "ci");
  EXPECT_EQ(lines[0]["name"], "api");
  EXPECT_FALSE(lines[1].contains("namespace"));
  EXPECT_EQ(lines[1]["name"], "node-\"1\"");
  EXPECT_EQ(lines[2]["name"], "api");
  EXPECT_FALSE(lines[3].contains("name"));
  EXPECT_FALSE(lines[3].contains("namespace"));
}

}  // namespace
}  // namespace ibo
