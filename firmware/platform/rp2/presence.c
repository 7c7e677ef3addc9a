/*
 * presence.c — port/presence.h and port/system.h on RP2040/RP2350: the BOOTSEL button, the
 * platform byte, the image size and reboots.
 *
 * BOOTSEL is read by rp2_bootsel_pressed() (bootsel.c: the QSPI chip-select trick, from RAM,
 * the other core parked). Confirmation = press and release within the window (ext. spec 3.5);
 * the core shows the press-to-confirm LED state meanwhile (extras.c).
 * The card task (core 1) blocks here; the USB core keeps sending CCID time extensions.
 */
#include "hardware/watchdog.h"
#include "pico/bootrom.h"
#include "pico/time.h"

#include "hsm/port/presence.h"
#include "hsm/port/system.h"
#include "rp2.h"

int hsm_port_user_presence(uint32_t timeout_ms) {
    absolute_time_t end = make_timeout_time_ms(timeout_ms);
    bool down = false;
    while (!time_reached(end)) {
        bool now = rp2_bootsel_pressed();
        if (down && !now)
            return 1; /* released after a press */
        down = now;
        sleep_ms(20);
    }
    return 0;
}

uint8_t hsm_port_platform(void) {
#if PICO_RP2040
    return 0x00;
#else
    return 0x01;
#endif
}

bool hsm_port_wallclock(int64_t *unix_seconds) {
    (void)unix_seconds;
    return false; /* no battery-backed clock */
}

extern char __flash_binary_start, __flash_binary_end;

uint32_t hsm_port_firmware_size(void) {
    return (uint32_t)(&__flash_binary_end - &__flash_binary_start);
}

void hsm_port_reboot(bool bootsel) {
    if (bootsel) {
        sleep_ms(100); /* let the answer out */
        reset_usb_boot(0, 0);
    }
    watchdog_reboot(0, 0, 100);
}
