/*
 * presence.c — port/presence.h and port/system.h on RP2040/RP2350: the BOOTSEL button, the
 * platform byte, the image size and reboots.
 *
 * BOOTSEL is wired to the QSPI flash chip select: to read it, the CS output is disabled for a
 * moment and the pin's level sampled (low = pressed). Flash is unusable meanwhile, so the read
 * runs from RAM inside flash_safe_execute() (interrupts off here, the other core parked in RAM,
 * as for flash writes). Confirmation = press and release within the window (ext. spec 3.5).
 * The card task (core 1) blocks here; the USB core keeps sending CCID time extensions.
 */
#include "hardware/gpio.h"
#include "hardware/structs/ioqspi.h"
#include "hardware/structs/sio.h"
#include "hardware/sync.h"
#include "hardware/watchdog.h"
#include "pico/bootrom.h"
#include "pico/flash.h"
#include "pico/time.h"

#include "hsm/port/presence.h"
#include "hsm/port/system.h"

#if PICO_RP2040
#define CS_BIT (1u << 1)
#else
#define CS_BIT SIO_GPIO_HI_IN_QSPI_CSN_BITS
#endif

static void __no_inline_not_in_flash_func(sample_bootsel)(void *param) {
    const uint cs = 1; /* QSPI SS is io[1] */
    hw_write_masked(&ioqspi_hw->io[cs].ctrl, GPIO_OVERRIDE_LOW << IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_LSB,
                    IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_BITS);
    for (volatile int i = 0; i < 1000; ++i) {
    }
    *(bool *)param = !(sio_hw->gpio_hi_in & CS_BIT);
    hw_write_masked(&ioqspi_hw->io[cs].ctrl, GPIO_OVERRIDE_NORMAL << IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_LSB,
                    IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_BITS);
}

static bool bootsel_pressed(void) {
    bool pressed = false;
    if (flash_safe_execute(sample_bootsel, &pressed, 100) != PICO_OK)
        return false;
    return pressed;
}

int hsm_port_user_presence(uint32_t timeout_ms) {
    absolute_time_t end = make_timeout_time_ms(timeout_ms);
    bool down = false;
    while (!time_reached(end)) {
        bool now = bootsel_pressed();
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
