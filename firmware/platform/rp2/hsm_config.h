/*
 * hsm_config.h — build configuration of the RP2040/RP2350 firmware, included into every
 * pico-sdk compilation unit (and crt0.S) through PICO_CONFIG_HEADER_FILES. Plain #defines only:
 * the assembler reads this file too.
 *
 * Stack sizes, in one place:
 *   core 0  HSM_CORE0_STACK_SIZE in SCRATCH_Y (all of its 4 KiB): tud_task, the CCID layer, the
 *           flash-lockout handler. No crypto runs on core 0.
 *   core 1  HSM_CORE1_STACK_SIZE, a static array in main RAM (main.c): hsm_card_init and
 *           hsm_card_apdu, i.e. the command handlers, the store and mbedTLS.
 * Both stacks have an MPU guard at their bottom (PICO_USE_STACK_GUARDS): an overflow faults
 * instead of overwriting the CCID buffers or key material. scripts/size-report lists the
 * largest frames from -fstack-usage to keep these numbers honest.
 */
#ifndef HSM_RP2_CONFIG_H
#define HSM_RP2_CONFIG_H

#define HSM_CORE0_STACK_SIZE 0x1000
#define HSM_CORE1_STACK_SIZE 0x8000

#define PICO_STACK_SIZE HSM_CORE0_STACK_SIZE
#define PICO_CORE1_STACK_SIZE 0 /* core 1 runs on the array in main.c, not in SCRATCH_X */
#define PICO_USE_STACK_GUARDS 1

/* mbedTLS allocates bignums: an exhausted heap must come back as an mbedTLS error (and a
 * status word), not a panic. */
#define PICO_MALLOC_PANIC 0

#endif
