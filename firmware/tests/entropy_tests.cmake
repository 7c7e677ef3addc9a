# entropy_tests.cmake — host tests of the SP 800-90B health tests used by the device entropy
# ports. Included by tests/tests.cmake.
set(HSM_ENTROPY_DIR ${CMAKE_CURRENT_LIST_DIR}/../entropy)

add_executable(test_health ${CMAKE_CURRENT_LIST_DIR}/test_health.c ${HSM_ENTROPY_DIR}/health.c)
target_include_directories(test_health PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${HSM_ENTROPY_DIR}
                           ${CMAKE_CURRENT_LIST_DIR}/../core/include)
target_compile_options(test_health PRIVATE -Wall -Wextra -Wshadow -Wstrict-prototypes)
target_link_libraries(test_health PRIVATE m)
add_test(NAME entropy_health COMMAND test_health)
