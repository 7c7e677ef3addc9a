/*
 * port/system.h — platform service: what the rescue applet and the clock need to know about
 * the machine (pico-hsm-extensions.md 3.4, 3.9).
 */
#ifndef HSM_PORT_SYSTEM_H
#define HSM_PORT_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

/* Platform byte of the rescue SELECT answer: 00 RP2040, 01 RP2350, 03 emulation. */
uint8_t hsm_port_platform(void);

/* Wall-clock time at this moment in Unix seconds when the platform has a real clock (the
 * emulator: the host's); false when it has none (RP2040/RP2350: the core counts from
 * 2020-01-01 until a host sets the clock). */
bool hsm_port_wallclock(int64_t *unix_seconds);

/* Size of the firmware image in bytes (rescue flash info; 0 when not meaningful). */
uint32_t hsm_port_firmware_size(void);

/* Reboots shortly after the current response went out (to the ROM loader when bootsel);
 * the emulator resets the card state instead. */
void hsm_port_reboot(bool bootsel);

#endif
