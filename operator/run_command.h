// `imagebuild-operator run`: flags, Kubernetes configuration, leader election, the controller,
// and a clean exit on SIGTERM.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace ibo::operator_main {

int RunOperatorCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ibo::operator_main
