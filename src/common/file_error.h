// The error for a file that cannot be read, worded for a person: missing, or not readable by
// the user this process runs as (in a pod: its runAsUser), with what to do about it.
#pragma once

#include <string>

#include "common/status.h"

namespace ibo {

// `what` names the file's role ("registry config"); `error_number` is the errno of the failure.
Status FileReadError(const std::string& what, const std::string& path, int error_number);

}  // namespace ibo
