# Generates build_info.cc at build time (not configure time), so the git revision in
# `--version` and /api/version never goes stale. The file is only rewritten when it changes.
set(WASIMOFF_BUILD_INFO_CC ${CMAKE_BINARY_DIR}/generated/build_info.cc)
add_custom_target(wasimoff_build_info_gen
  COMMAND ${CMAKE_COMMAND}
          -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DOUTPUT=${WASIMOFF_BUILD_INFO_CC}
          -DVERSION=${PROJECT_VERSION}
          "-DCOMPILER=${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}"
          -P ${PROJECT_SOURCE_DIR}/cmake/WriteBuildInfo.cmake
  BYPRODUCTS ${WASIMOFF_BUILD_INFO_CC}
  COMMENT "" VERBATIM)
