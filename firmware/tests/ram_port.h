/* ram_port.h — controls of the unit-test platform (see ram_port.c). */
#ifndef HSM_TEST_RAM_PORT_H
#define HSM_TEST_RAM_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Erases the RAM flash, restarts the entropy stream, sets the unique ID (NULL: keep), zeroes
 * the operation counters, disarms any power cut and powers on. Keeps the region size. */
void ram_port_reset(const uint8_t id[8]);
/* Makes hsm_port_entropy fail, as a failing health test would. */
void ram_port_break_entropy(bool broken);

/* Sets the flash region size (a multiple of 4096, at most 1 MiB; default 256 KiB) and erases
 * it. HSM_OK or HSM_ERR_INTERNAL. */
int ram_port_set_size(uint32_t bytes);
/* Arms a power cut: the n-th program or erase from now (n >= 1) is torn, using `seed` for the
 * torn pattern, and every later flash call (reads too) fails with HSM_ERR_FLASH until
 * ram_port_power_on(). n == 0 disarms. */
void ram_port_cut_after(uint32_t n, uint64_t seed);
/* Ends the power cut: flash calls work again (what was torn stays torn). */
void ram_port_power_on(void);
/* Programs plus erases since the last reset (the torn one included), and erases alone. */
uint32_t ram_port_flash_ops(void);
uint32_t ram_port_flash_erases(void);

/* Copies the whole flash region into buf (cap >= its size); returns the size, or 0 when cap is
 * too small. ram_port_restore writes such a copy back (n must equal the region size; returns
 * HSM_OK or HSM_ERR_INTERNAL) and resets the counters like ram_port_reset, so a fuzz target can
 * start every input from one prepared card. */
size_t ram_port_snapshot(uint8_t *buf, size_t cap);
int ram_port_restore(const uint8_t *buf, size_t n);

/* User presence: every wait answers `answer` (1 confirmed, 0 timed out) at once; the calls
 * and the last timeout asked for are counted from here. */
void ram_port_set_presence(int answer);
uint32_t ram_port_presence_calls(void);
uint32_t ram_port_presence_timeout(void);
/* Wall clock: absent (the default, as on the devices) or fixed at unix_seconds. */
void ram_port_set_wallclock(bool have, int64_t unix_seconds);
/* Reboots requested since start. */
uint32_t ram_port_reboots(void);

/* OTP root (port/otp.h). ram_port_reset() makes it BLANK (present, not provisioned); provisioning
 * draws the root from the entropy stream. Faults are injected here, never in the core. */
void ram_port_otp_absent(void);                        /* no OTP on this chip (RP2040) */
void ram_port_otp_blank(void);                         /* present, not provisioned */
void ram_port_otp_set_root(const uint8_t root[32]);    /* provisioned with this root */
void ram_port_otp_fail_provision(bool fail);           /* the next provisioning's write fails:
                                                        * HSM_ERR_FLASH, page DAMAGED */
void ram_port_otp_unreadable(bool unreadable);         /* root not readable (PENDING) */
uint32_t ram_port_otp_provisions(void);                /* provisioning writes attempted */

#endif
