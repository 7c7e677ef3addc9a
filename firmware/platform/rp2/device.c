/*
 * device.c — port/device.h on RP2040/RP2350: unique id, milliseconds, the card's LED request.
 *
 * Unique id: pico_get_unique_board_id() (RP2040: the flash chip's 64-bit unique id, read once at
 * start-up before core 1 runs; RP2350: the chip id in OTP). Safe from either core.
 * The LED is driven only by core 0's main loop (led_drv.c, patterns in firmware/board/led.c);
 * hsm_port_led(), called by the card on core 1, just records a request that the loop shows
 * while the APDU runs.
 */
#include <string.h>

#include "pico/time.h"
#include "pico/unique_id.h"

#include "hsm/port/device.h"
#include "rp2.h"

_Static_assert(PICO_UNIQUE_BOARD_ID_SIZE_BYTES == 8, "port/device.h promises 8 bytes");

void hsm_port_unique_id(uint8_t id[8]) {
    pico_unique_board_id_t u;
    pico_get_unique_board_id(&u);
    memcpy(id, u.id, 8);
}

uint64_t hsm_port_millis(void) { return time_us_64() / 1000u; }

#define LED_NO_REQUEST (-1)
static volatile int led_request = LED_NO_REQUEST; /* written by core 1, read by core 0 */

void hsm_port_led(hsm_led_state s) { led_request = (int)s; }

void rp2_led_request_clear(void) { led_request = LED_NO_REQUEST; }

int rp2_led_request(void) { return led_request; }
