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
# The PIN keys bound to the OTP root: EXTRAS F0, re-binding, dumps moved elsewhere, power cuts.
hsm_unit_test(otp)
# Asymmetric keys: generation, SIGN, DECIPHER (keys_common.h); RSA-4096 apart, it is slow.
hsm_unit_test(keys)
hsm_unit_test(keys_errors)
hsm_unit_test(keys_rsa4096)
# RSA key generation: trial division to 2^16, the FIPS 186-4 prime and key rules.
hsm_unit_test(rsa_gen)
# RSA primes from (n, e, d) for UNWRAP of type-05 blobs, in a bounded number of steps.
hsm_unit_test(rsa_factor)
# DKEK shares, key domains, WRAP and UNWRAP (core spec 2.10, 2.14, 2.15, 4.4).
hsm_unit_test(dkek)
# XKEK key domains: membership, the XKEK key, DKEK derivation (extensions spec 4.2, 4.3).
hsm_unit_test(xkek)
# Pico HSM extensions: HD keys (ext. spec 2); EXTRAS, press-to-confirm, rescue applet (3).
hsm_unit_test(hd)
hsm_unit_test(extras)
# PHY record EF E020 (extensions spec 3.6): parse, validate, serialise, VID/PID + rescue.
hsm_unit_test(phy)
# Symmetric keys, CIPHER SYMMETRIC, EC derivation (extensions spec 1).
hsm_unit_test(sym)
# Device identity, CE<id> attestations, 2F02 enrolment, MSE SET + PSO trust store (ext. spec 5).
hsm_unit_test(trust)
# Public key authentication, m of n (ext. spec 5.6).
hsm_unit_test(pka)
# Secure lock: envelope, key-level mask (ext. spec 3.8).
hsm_unit_test(lock)
# Secure messaging codec and chip authentication (ext. spec 5.7), session PIN (4.6).
hsm_unit_test(sm)
hsm_unit_test(vpcd ${CMAKE_CURRENT_LIST_DIR}/../platform/host/vpcd.c)
target_include_directories(test_vpcd PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../platform/host)

# Suites contributed by other parts of the tree.
foreach(suite ccid_tests entropy_tests cvc_tests board_tests)
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
add_executable(bench_rsa_gen ${CMAKE_CURRENT_LIST_DIR}/bench_rsa_gen.c)
target_include_directories(bench_rsa_gen PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${HSM_CORE_DIR}/src)
target_link_libraries(bench_rsa_gen PRIVATE -Wl,--start-group hsm_core hsm_ram_port hsm_mbedtls -Wl,--end-group)
target_compile_options(bench_rsa_gen PRIVATE -Wall -Wextra)
