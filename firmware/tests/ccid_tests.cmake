# ccid_tests.cmake — host tests of the CCID message layer and of the CCID descriptor bytes.
# Included by tests/tests.cmake. Needs only the core's public headers (a fake card is in the
# test), so it runs without the core library.
set(HSM_CCID_DIR ${CMAKE_CURRENT_LIST_DIR}/../ccid)

add_executable(test_ccid ${CMAKE_CURRENT_LIST_DIR}/test_ccid.c ${HSM_CCID_DIR}/ccid.c)
target_include_directories(test_ccid PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${HSM_CCID_DIR}
                           ${CMAKE_CURRENT_LIST_DIR}/../core/include)
target_compile_options(test_ccid PRIVATE -Wall -Wextra -Wshadow -Wstrict-prototypes)
add_test(NAME ccid COMMAND test_ccid)

add_executable(test_descriptors ${CMAKE_CURRENT_LIST_DIR}/test_descriptors.c)
target_include_directories(test_descriptors PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${HSM_CCID_DIR}
                           ${CMAKE_CURRENT_LIST_DIR}/../core/include)
target_compile_options(test_descriptors PRIVATE -Wall -Wextra -Wshadow -Wstrict-prototypes)
add_test(NAME ccid_descriptors COMMAND test_descriptors)
