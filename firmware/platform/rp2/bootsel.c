/*
 * bootsel.c — reading the BOOTSEL button.
 *
 * The button has no GPIO of its own: it pulls the flash chip's select line (QSPI SS) low. To
 * read it, the SS output driver is switched off for a few microseconds, the pad is sampled
 * through SIO, and the driver is switched back on. While the driver is off the flash cannot be
 * read, so nothing may execute from flash (XIP) on either core: the read runs from RAM, with
 * interrupts off, and the other core parked (flash_safe_execute(), which flash.c uses too; see
 * rp2.h for which core may call it when).
 * At power-up, before core 1 is launched, core 1 sleeps in the boot ROM, so disabling
 * interrupts is enough.
 *
 * Pad registers differ between the chips: SS is at its own offset in IO_QSPI on both, and its
 * input is bit 1 of SIO GPIO_HI_IN on RP2040, QSPI_CSN (bit 27) on RP2350.
 */
#include "hardware/address_mapped.h"
#include "hardware/regs/io_qspi.h"
#include "hardware/structs/sio.h"
#include "hardware/sync.h"
#include "pico/flash.h"
#include "pico/time.h"

#include "rp2.h"

#if PICO_RP2040
#define CS_BIT (1u << 1)
#else
#define CS_BIT SIO_GPIO_HI_IN_QSPI_CSN_BITS
#endif

static bool __no_inline_not_in_flash_func(cs_low)(void)
{
    io_rw_32 *ctrl = (io_rw_32 *)(IO_QSPI_BASE + IO_QSPI_GPIO_QSPI_SS_CTRL_OFFSET);
    hw_write_masked(ctrl,
                    IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_VALUE_DISABLE
                        << IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_LSB,
                    IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_BITS);
    /* let the board's pull-up (or the button) settle the line: a few microseconds */
    for (volatile int i = 0; i < 1000; i++) {
    }
    bool low = (sio_hw->gpio_hi_in & CS_BIT) == 0;
    hw_write_masked(ctrl,
                    IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_VALUE_NORMAL
                        << IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_LSB,
                    IO_QSPI_GPIO_QSPI_SS_CTRL_OEOVER_BITS);
    return low;
}

static void __no_inline_not_in_flash_func(cs_low_cb)(void *pressed)
{
    *(bool *)pressed = cs_low();
}

bool rp2_bootsel_pressed(void)
{
    bool pressed = false;
    if (flash_safe_execute(cs_low_cb, &pressed, 100) != PICO_OK) {
        return false; /* could not park the other core: count as not pressed */
    }
    return pressed;
}

bool rp2_bootsel_held_at_boot(void)
{
    /* pressed in three reads 2 ms apart: a bounce or noise does not start a rescue boot */
    for (int i = 0; i < 3; i++) {
        uint32_t irq = save_and_disable_interrupts();
        bool low = cs_low();
        restore_interrupts(irq);
        if (!low) {
            return false;
        }
        sleep_ms(2);
    }
    return true;
}
