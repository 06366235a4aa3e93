# Compiler settings shared by all of our own targets (not by generated or third-party code).

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

set(WASIMOFF_SANITIZE "" CACHE STRING "Sanitizers, e.g. address,undefined")
if(WASIMOFF_SANITIZE)
  add_compile_options(-fsanitize=${WASIMOFF_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=${WASIMOFF_SANITIZE})
  add_compile_definitions(WASIMOFF_SANITIZED=1)
endif()

# Asio: coroutines, no deprecated names, no implicit io_context executor.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_CONCEPTS)

# wasimoff_defaults(<target>): warnings and include root for our code.
function(wasimoff_defaults target)
  # GCC 12 false positives we silence (each verified on our code):
  #  -Wmismatched-new-delete  Asio's awaitable frame allocator, for every coroutine at -O1+
  #  -Wrestrict               `"literal" + std::string` at -O2 (GCC PR 105329)
  # (GCC-only flags are passed to GCC only: the clang and fuzz presets use clang-14.)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-missing-field-initializers
                                           -Wno-mismatched-new-delete
                                           $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
endfunction()

# wasimoff_library(<name> [RECURSE] [DEPS <targets...>] [SOURCES <extra files...>]
#                  [EXCLUDE <files...>]): a static library from every *.cc in the calling folder
# (sub-folders too with RECURSE), with our defaults. Folders without sources become INTERFACE
# libraries, so dependents can link them before any source exists.
function(wasimoff_library name)
  cmake_parse_arguments(ARG "RECURSE" "" "DEPS;SOURCES;EXCLUDE" ${ARGN})
  if(ARG_RECURSE)
    file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  else()
    file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  endif()
  foreach(ex ${ARG_EXCLUDE})
    list(REMOVE_ITEM srcs ${CMAKE_CURRENT_SOURCE_DIR}/${ex})
  endforeach()
  list(APPEND srcs ${ARG_SOURCES})
  if(srcs)
    add_library(${name} STATIC ${srcs})
    wasimoff_defaults(${name})
    target_link_libraries(${name} PUBLIC ${ARG_DEPS})
    set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()
