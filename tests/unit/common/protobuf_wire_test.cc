#include "common/protobuf_wire.h"

#include <gtest/gtest.h>

#include "proto_builder.h"

namespace ibo {
namespace {

using testing::BytesField;
using testing::VarintField;

TEST(ProtoReaderTest, ReadsEachWireTypeInOrder) {
  const std::string message = VarintField(1, 300) + BytesField(2, "hi") + VarintField(536870911, 1) +
                              std::string("\x19\x01\x02\x03\x04\x05\x06\x07\x08", 9) + std::string("\x25\xff\x00\x00\x00", 5);
  ProtoReader reader(message);
  ProtoField f;
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f.number, 1u);
  EXPECT_EQ(f.type, WireType::kVarint);
  EXPECT_EQ(f.varint, 300u);
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f.number, 2u);
  EXPECT_EQ(f.type, WireType::kBytes);
  EXPECT_EQ(f.bytes, "hi");
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f.number, 536870911u);  // the largest field number
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f.number, 3u);
  EXPECT_EQ(f.type, WireType::kFixed64);
  EXPECT_EQ(f.varint, 0x0807060504030201u);
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(f.number, 4u);
  EXPECT_EQ(f.type, WireType::kFixed32);
  EXPECT_EQ(f.varint, 0xffu);
  EXPECT_FALSE(reader.Next(f));
  EXPECT_EQ(reader.error(), "");
}

TEST(ProtoReaderTest, ANegativeInt32IsTenBytesOfVarint) {
  const std::string message = VarintField(1, static_cast<uint64_t>(int64_t{-1}));
  EXPECT_EQ(message.size(), 11u);
  ProtoReader reader(message);
  ProtoField f;
  ASSERT_TRUE(reader.Next(f));
  EXPECT_EQ(static_cast<int32_t>(static_cast<uint32_t>(f.varint)), -1);
}

TEST(ProtoReaderTest, MalformedMessagesStopWithAReason) {
  const struct { std::string bytes, error; } cases[] = {
      {"\x08", "a varint runs past the end of the message"},
      {"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "a varint longer than 10 bytes"},
      {"\x12\x05hi", "a length-delimited field runs past the end of the message"},
      {"\x19\x01\x02", "a fixed-size field runs past the end of the message"},
      {"\x0b", "a group or an unknown wire type (3, 4, 6 or 7)"},
      {"\x0f", "a group or an unknown wire type (3, 4, 6 or 7)"},
      {std::string("\x00\x01", 2), "a field numbered 0 or above 2^29"},
  };
  for (const auto& c : cases) {
    ProtoReader reader(c.bytes);
    ProtoField f;
    EXPECT_FALSE(reader.Next(f)) << c.error;
    EXPECT_EQ(reader.error(), c.error);
    EXPECT_FALSE(reader.Next(f)) << "a failed reader stays failed";
  }
}

TEST(ProtoStringTest, ValidUtf8PassesAndEachInvalidByteBecomesAReplacement) {
  EXPECT_EQ(ProtoString("plain ünïcode ✓ 😀"), "plain ünïcode ✓ 😀");
  EXPECT_EQ(ProtoString("a\xff" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(ProtoString("\xe2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // a cut sequence: two bytes, two replacements
  EXPECT_EQ(ProtoString("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(ProtoString("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(ProtoString("\xf4\x90\x80\x80").size(), 12u);  // above U+10FFFF
  EXPECT_EQ(ProtoString(std::string("nul\0inside", 10)), std::string("nul\0inside", 10));
}

}  // namespace
}  // namespace ibo
