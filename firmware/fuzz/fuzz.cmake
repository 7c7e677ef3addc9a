# libFuzzer targets (clang, -DHSM_FUZZ=ON; ASan and UBSan are on for the whole build).
foreach(target apdu apdu_user tlv ccid store key_import vpcd phy cvc sm)
  add_executable(fuzz_${target} ${CMAKE_CURRENT_LIST_DIR}/fuzz_${target}.c ${CMAKE_CURRENT_LIST_DIR}/../platform/host/vpcd.c ${CMAKE_CURRENT_LIST_DIR}/../ccid/ccid.c)
  target_include_directories(fuzz_${target} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../platform/host ${CMAKE_CURRENT_LIST_DIR}/../tests ${CMAKE_CURRENT_LIST_DIR}/../ccid ${HSM_CORE_DIR}/src)
  target_compile_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_${target} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_${target} PRIVATE -Wl,--start-group hsm_core hsm_ram_port hsm_mbedtls -Wl,--end-group)
endforeach()
