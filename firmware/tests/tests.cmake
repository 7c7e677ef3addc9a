# C unit tests, one executable per file, each registered with ctest.
add_library(hsm_ram_port STATIC ${CMAKE_CURRENT_LIST_DIR}/ram_port.c)
target_include_directories(hsm_ram_port PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(hsm_ram_port PUBLIC hsm_core)

function(hsm_unit_test name)
  add_executable(test_${name} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/test_${name}.c ${ARGN})
  target_include_directories(test_${name} PRIVATE ${CMAKE_CURRENT_FUNCTION_LIST_DIR} ${HSM_CORE_DIR}/src)
  target_link_libraries(test_${name} PRIVATE -Wl,--start-group hsm_core hsm_ram_port hsm_mbedtls -Wl,--end-group)
  target_compile_options(test_${name} PRIVATE -Wall -Wextra)
  add_test(NAME ${name} COMMAND test_${name})
endfunction()

hsm_unit_test(apdu)
hsm_unit_test(tlv)
hsm_unit_test(card)
hsm_unit_test(pin)
# Asymmetric keys: generation, SIGN, DECIPHER (keys_common.h); RSA-4096 apart, it is slow.
hsm_unit_test(keys)
hsm_unit_test(keys_errors)
hsm_unit_test(keys_rsa4096)
# DKEK shares, key domains, WRAP and UNWRAP (core spec 2.10, 2.14, 2.15, 4.4).
hsm_unit_test(dkek)
# Device identity, CE<id> attestations, 2F02 enrolment, MSE SET + PSO trust store (ext. spec 5).
hsm_unit_test(trust)
# Secure messaging codec and chip authentication (ext. spec 5.7), session PIN (4.6).
hsm_unit_test(sm)
hsm_unit_test(vpcd ${CMAKE_CURRENT_LIST_DIR}/../platform/host/vpcd.c)
target_include_directories(test_vpcd PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../platform/host)

# Suites contributed by other parts of the tree.
foreach(suite ccid_tests entropy_tests cvc_tests)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${suite}.cmake)
    include(${CMAKE_CURRENT_LIST_DIR}/${suite}.cmake)
  endif()
endforeach()

# The object store: functional tests, power cuts at every flash operation, and a benchmark.
hsm_unit_test(store)
hsm_unit_test(store_powercut)
add_executable(bench_store ${CMAKE_CURRENT_LIST_DIR}/bench_store.c)
target_include_directories(bench_store PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(bench_store PRIVATE -Wl,--start-group hsm_core hsm_ram_port hsm_mbedtls -Wl,--end-group)
target_compile_options(bench_store PRIVATE -Wall -Wextra)
