// The protobuf fixtures in tests/unit/kube/testdata/protobuf: objects kube-apiserver 1.20 served
// in protobuf and in JSON (see that folder's tests). A test defines IBO_PROTOBUF_FIXTURES.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace ibo::testing {

inline std::string ReadProtobufFixture(const std::string& name) {
  std::ifstream in(std::string(IBO_PROTOBUF_FIXTURES) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "no fixture " << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ibo::testing
