// Version information baked in at build time (see cmake/WriteBuildInfo.cmake).
#pragma once

#include <string_view>

namespace wasimoff {

std::string_view build_version();   // semver, e.g. "0.1.0"
std::string_view build_revision();  // short git hash, "<hash>-dirty", or "devel"
std::string_view build_compiler();  // e.g. "GNU 12.2.0"

}  // namespace wasimoff
