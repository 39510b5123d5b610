# Links gRPC, protobuf and abseil from Debian's static archives (option
# SK_STATIC_GRPC, default ON), and gRPC in its "unsecure" build: the device
# plugin speaks only over unix sockets, so TLS (libssl/libcrypto) is never
# needed. Measured on the 2048-VF fixture (bench/deviceplugin_bench): the
# plugin maps 8 libraries instead of 60, its resident set drops from 21 MiB
# to 14 MiB and it starts faster (no relocation of 60 shared objects).
#
# Provides sk::grpcpp (gRPC C++ with its dependencies) and re-points the
# imported abseil and protobuf targets at their .a archives, so that every
# binary, tests included, links one consistent static copy of each.
option(SK_STATIC_GRPC "Link gRPC, protobuf and abseil statically" ON)

if(NOT SK_STATIC_GRPC)
  add_library(sk_grpcpp INTERFACE)
  target_link_libraries(sk_grpcpp INTERFACE PkgConfig::GRPCPP)
  add_library(sk::grpcpp ALIAS sk_grpcpp)
  return()
endif()

# The static archive beside a shared library path, or "" when there is none.
function(_sk_static_of so out)
  string(REGEX REPLACE "\\.so(\\.[0-9.]+)?$" ".a" a "${so}")
  if(NOT a STREQUAL so AND EXISTS "${a}")
    set(${out} "${a}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# abseil: every imported shared target -> its archive.
get_property(_sk_imported DIRECTORY PROPERTY IMPORTED_TARGETS)
foreach(t IN LISTS _sk_imported)
  if(NOT t MATCHES "^absl::")
    continue()
  endif()
  get_target_property(_type ${t} TYPE)
  if(NOT _type STREQUAL "SHARED_LIBRARY")
    continue()
  endif()
  get_target_property(_configs ${t} IMPORTED_CONFIGURATIONS)
  foreach(c IN LISTS _configs)
    get_target_property(_loc ${t} IMPORTED_LOCATION_${c})
    _sk_static_of("${_loc}" _a)
    if(NOT _a)
      message(FATAL_ERROR "SK_STATIC_GRPC: no static archive for ${_loc}")
    endif()
    set_target_properties(${t} PROPERTIES IMPORTED_LOCATION_${c} "${_a}"
                                          IMPORTED_NO_SONAME_${c} TRUE)
  endforeach()
endforeach()

# protobuf (FindProtobuf's imported target).
foreach(p IN ITEMS IMPORTED_LOCATION IMPORTED_LOCATION_RELEASE
                   IMPORTED_LOCATION_DEBUG)
  get_target_property(_loc protobuf::libprotobuf ${p})
  if(_loc)
    _sk_static_of("${_loc}" _a)
    if(NOT _a)
      message(FATAL_ERROR "SK_STATIC_GRPC: no static archive for ${_loc}")
    endif()
    set_target_properties(protobuf::libprotobuf PROPERTIES ${p} "${_a}")
  endif()
endforeach()

# gRPC C++ "unsecure", in link order. Debian's grpc_unsecure.pc omits the
# private dependencies that its archive needs (upb, re2, c-ares, zlib,
# address_sorting), so the list is spelled out here.
set(_sk_grpc_archives grpc++_unsecure grpc_unsecure upb address_sorting re2
                      cares z gpr)
set(_sk_grpc_paths)
foreach(n IN LISTS _sk_grpc_archives)
  find_library(SK_LIB_${n} NAMES lib${n}.a REQUIRED)
  list(APPEND _sk_grpc_paths ${SK_LIB_${n}})
endforeach()
add_library(sk_grpcpp INTERFACE)
target_include_directories(sk_grpcpp INTERFACE ${GRPCPP_INCLUDE_DIRS})
target_link_libraries(
  sk_grpcpp INTERFACE
  ${_sk_grpc_paths}
  # gpr and grpc's own abseil needs (pkg-config --static grpc++_unsecure).
  absl::statusor absl::status absl::cord absl::str_format absl::synchronization
  absl::time absl::strings absl::hash absl::raw_hash_set absl::random_random
  absl::bad_optional_access absl::bad_variant_access absl::throw_delegate
  Threads::Threads atomic rt)
add_library(sk::grpcpp ALIAS sk_grpcpp)
