# cvc_tests.cmake — unit tests of CV certificate encoding and the device identity.
# Included by firmware/CMakeLists.txt after the hsm_core target exists. The test carries its own
# fake platform (unique ID, entropy). `test_cvc --dump HEXID` prints a device's C_DevAut in hex
# for the Go cross-check (host/cvc, PICO_HSM_BUILD_DIR).
add_executable(test_cvc ${CMAKE_CURRENT_LIST_DIR}/test_cvc.c)
target_include_directories(test_cvc PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(test_cvc PRIVATE hsm_core)
target_compile_options(test_cvc PRIVATE -Wall -Wextra -Wshadow)
add_test(NAME cvc COMMAND test_cvc)
