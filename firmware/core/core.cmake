# core.cmake — the portable core as one static library, plus mbedTLS from the pinned source.
# Included by the host build (firmware/CMakeLists.txt) and the rp2 build
# (firmware/platform/rp2/CMakeLists.txt). Inputs: HSM_MBEDTLS_DIR (mbedTLS source tree).

set(HSM_CORE_DIR ${CMAKE_CURRENT_LIST_DIR})
if(NOT HSM_MBEDTLS_DIR)
  set(HSM_MBEDTLS_DIR ${HSM_CORE_DIR}/../../.deps/mbedtls)
endif()
get_filename_component(HSM_MBEDTLS_DIR ${HSM_MBEDTLS_DIR} ABSOLUTE)
if(NOT EXISTS ${HSM_MBEDTLS_DIR}/library/aes.c)
  message(FATAL_ERROR "mbedTLS not found at ${HSM_MBEDTLS_DIR}: run scripts/deps, or set HSM_MBEDTLS_DIR")
endif()

file(GLOB HSM_MBEDTLS_SOURCES ${HSM_MBEDTLS_DIR}/library/*.c)
add_library(hsm_mbedtls STATIC ${HSM_MBEDTLS_SOURCES})
target_include_directories(hsm_mbedtls PUBLIC ${HSM_MBEDTLS_DIR}/include ${HSM_CORE_DIR}
                           PRIVATE ${HSM_MBEDTLS_DIR}/library)
# Our configuration has a name of its own: mbedTLS ships include/mbedtls/mbedtls_config.h, which
# a bare "mbedtls_config.h" would resolve to (it sits next to build_info.h).
target_compile_definitions(hsm_mbedtls PUBLIC MBEDTLS_CONFIG_FILE="hsm_mbedtls_config.h")
# Third-party code: its warnings are not ours to fix.
target_compile_options(hsm_mbedtls PRIVATE -w)

file(GLOB HSM_CORE_SOURCES CONFIGURE_DEPENDS ${HSM_CORE_DIR}/src/*.c)
add_library(hsm_core STATIC ${HSM_CORE_SOURCES})
target_include_directories(hsm_core PUBLIC ${HSM_CORE_DIR}/include)
target_link_libraries(hsm_core PUBLIC hsm_mbedtls)
target_compile_features(hsm_core PUBLIC c_std_11)
target_compile_options(hsm_core PRIVATE -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror=implicit-function-declaration)
