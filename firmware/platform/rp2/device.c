/*
 * device.c — port/device.h on RP2040/RP2350: unique id, milliseconds, the board LED.
 *
 * Unique id: pico_get_unique_board_id() (RP2040: the flash chip's 64-bit unique id, read once at
 * start-up before core 1 runs; RP2350: the chip id in OTP). Safe from either core.
 * LED patterns (period / on time, ms): idle 1000/500, active 250/125 (4 blinks a second),
 * processing 50/25 (20 a second), confirm 1000/900 (off 100 ms a second). The LED pin is
 * driven only by core 0's main loop (rp2_led_update); hsm_port_led(), called by the card on
 * core 1, just records a request that the loop shows while the APDU runs.
 */
#include <string.h>

#include "hardware/gpio.h"
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

void rp2_led_init(void) {
#ifdef PICO_DEFAULT_LED_PIN
    gpio_init(PICO_DEFAULT_LED_PIN);
    gpio_set_dir(PICO_DEFAULT_LED_PIN, GPIO_OUT);
#endif
}

void rp2_led_update(hsm_led_state base, uint64_t now_ms, bool busy) {
    static const struct {
        uint16_t period, on;
    } pattern[] = {
        [HSM_LED_IDLE] = {1000, 500},
        [HSM_LED_ACTIVE] = {250, 125},
        [HSM_LED_PROCESSING] = {50, 25},
        [HSM_LED_CONFIRM] = {1000, 900},
    };
    int req = led_request;
    hsm_led_state s = base;
    if (busy && req >= 0 && req < (int)(sizeof pattern / sizeof pattern[0]))
        s = (hsm_led_state)req;
    bool on = now_ms % pattern[s].period < pattern[s].on;
#ifdef PICO_DEFAULT_LED_PIN
    gpio_put(PICO_DEFAULT_LED_PIN, on);
#else
    (void)on;
#endif
}
