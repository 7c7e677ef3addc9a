/*
 * led.h — what the board LED shows, as a pure function of the device's state and the time.
 * Portable (host unit-tested in tests/test_led.c); the RP2040/RP2350 platform only drives
 * pins with the result (platform/rp2/led_drv.c).
 *
 * Modes, on/off times in ms and colours. The four card states follow issue 5 (item 6); the
 * colours and the two USB states come from extensions spec 3.7. Where the two differ, the
 * issue's timing wins (processing 25/25 = 20 blinks a second, not the reference's 50/50; the
 * button wait is off 100 ms in every second, 900/100, not 1000/100):
 *   UNMOUNTED   red     500 /  500   USB not configured by a host (spec 3.7)
 *   SUSPENDED   blue   1000 / 2000   bus suspended (spec 3.7)
 *   IDLE        green   500 /  500   configured, no card session: on 500 ms per second
 *   ACTIVE      green   125 /  125   card powered (ICC on): 4 blinks per second
 *   PROCESSING  green    25 /   25   an APDU runs: 20 blinks per second
 *   CONFIRM     yellow  900 /  100   waiting for the button: off 100 ms per second
 * A single-colour LED shows the timing only. The pattern restarts (on phase first) whenever
 * the mode changes, so a short state is always visible.
 *
 * Brightness (PHY tag 05, 0..15) scales the colour only on dimmable LEDs (PHY option 0002);
 * a dimmable LED also fades in and out over each on phase (a triangle) unless PHY option 0008
 * ("steady") is set. A non-dimmable LED is simply on at full level or off.
 *
 * State: a led_state per LED, owned by its single caller (core 0's main loop on the device).
 */
#ifndef HSM_BOARD_LED_H
#define HSM_BOARD_LED_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    LED_MODE_UNMOUNTED,
    LED_MODE_SUSPENDED,
    LED_MODE_IDLE,
    LED_MODE_ACTIVE,
    LED_MODE_PROCESSING,
    LED_MODE_CONFIRM,
    LED_MODE_COUNT
} led_mode;

typedef struct {
    uint8_t r, g, b;
} led_rgb;

typedef struct {
    uint8_t brightness; /* 0..15 (PHY tag 05); values above 15 count as 15 */
    bool dimmable;      /* PHY option 0002 */
    bool steady;        /* PHY option 0008: no fading */
} led_config;

typedef struct {
    led_mode mode;
    uint64_t since_ms; /* when mode started */
} led_state;

/* The mode for the transport's state. `card_request` is what the card asked for with
 * hsm_port_led() (an hsm_led_state, or -1 for none); it is shown only while an APDU runs
 * (`busy`), so a request left over from an earlier command never sticks. */
led_mode led_mode_select(bool mounted, bool suspended, bool icc_active, bool busy,
                         int card_request);

/* The pattern of a mode (the table above). */
void led_pattern(led_mode mode, uint16_t *on_ms, uint16_t *off_ms, led_rgb *colour);

/* Starts st in mode at now_ms. */
void led_init(led_state *st, led_mode mode, uint64_t now_ms);

/* The colour to show at now_ms for mode (restarting the pattern when mode changed). Black is
 * off. Channels are 0..255; a single-colour LED is lit when any channel is non-zero. */
led_rgb led_update(led_state *st, const led_config *cfg, led_mode mode, uint64_t now_ms);

/* Reorders r, g, b for an LED strip's wire order (PHY tag 0C second byte: 00 RGB, 01 RBG,
 * 02 GRB, 03 GBR, 04 BRG, 05 BGR; other values: RGB). */
void led_wire_order(led_rgb c, uint8_t order, uint8_t out[3]);

#endif
