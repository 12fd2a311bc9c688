#include "common/file_error.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ibo {

Status FileReadError(const std::string& what, const std::string& path, int error_number) {
  if (error_number == ENOENT) return NotFound(what + " " + path + ": does not exist");
  const std::string uid = std::to_string(getuid());
  if (error_number == EACCES || error_number == EPERM) {
    return {StatusCode::kFailedPrecondition, what + " " + path + ": uid " + uid +
                                                  " may not read it; make it readable by that user (a pod's runAsUser, "
                                                  "or a Secret volume's defaultMode)"};
  }
  return {StatusCode::kFailedPrecondition, what + " " + path + ": cannot be read as uid " + uid + " (" +
                                               std::strerror(error_number) + ")"};
}

}  // namespace ibo
