# board_tests.cmake — host tests of the portable logic of the RP2040/RP2350 platform
# (firmware/board: LED patterns, USB identity, OTP root decisions). Included by tests.cmake.
set(HSM_BOARD_DIR ${CMAKE_CURRENT_LIST_DIR}/../board)

foreach(t led usbid otp_plan)
  hsm_unit_test(${t} ${HSM_BOARD_DIR}/${t}.c)
  target_include_directories(test_${t} PRIVATE ${HSM_BOARD_DIR})
endforeach()
