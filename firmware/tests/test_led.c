/*
 * test_led.c — the LED state machine (firmware/board/led.c) against issue 5 item 6 and
 * extensions spec 3.7: blink rates and on-times measured by sampling every millisecond,
 * mode selection, pattern restart, brightness, fading and the strip colour order.
 */
#include "check.h"
#include "hsm/port/device.h"
#include "led.h"

static bool lit(led_rgb c)
{
    return c.r || c.g || c.b;
}

/* Samples mode for `ms` milliseconds from t0 and counts rising edges and lit milliseconds. */
static void measure(led_mode mode, const led_config *cfg, uint64_t t0, unsigned ms,
                    unsigned *rises, unsigned *lit_ms)
{
    led_state st;
    led_init(&st, mode, t0);
    bool prev = false;
    *rises = *lit_ms = 0;
    for (unsigned t = 0; t < ms; t++) {
        bool on = lit(led_update(&st, cfg, mode, t0 + t));
        *rises += on && !prev;
        *lit_ms += on;
        prev = on;
    }
}

static void test_rates(void)
{
    const led_config plain = {15, false, false};
    unsigned rises, on;

    /* idle: on 500 ms in every second */
    measure(LED_MODE_IDLE, &plain, 12345, 10000, &rises, &on);
    CHECK_EQ_INT(rises, 10);
    CHECK_EQ_INT(on, 5000);
    /* active: 4 blinks a second */
    measure(LED_MODE_ACTIVE, &plain, 7, 10000, &rises, &on);
    CHECK_EQ_INT(rises, 40);
    CHECK_EQ_INT(on, 5000);
    /* processing: 20 blinks a second */
    measure(LED_MODE_PROCESSING, &plain, 0, 10000, &rises, &on);
    CHECK_EQ_INT(rises, 200);
    /* press-to-confirm: off 100 ms in every second */
    measure(LED_MODE_CONFIRM, &plain, 999, 10000, &rises, &on);
    CHECK_EQ_INT(rises, 10);
    CHECK_EQ_INT(10000 - on, 1000);
    /* spec 3.7: not mounted 500/500, suspended 1000 on / 2000 off */
    measure(LED_MODE_UNMOUNTED, &plain, 0, 10000, &rises, &on);
    CHECK_EQ_INT(rises, 10);
    CHECK_EQ_INT(on, 5000);
    measure(LED_MODE_SUSPENDED, &plain, 0, 9000, &rises, &on);
    CHECK_EQ_INT(rises, 3);
    CHECK_EQ_INT(on, 3000);

    /* colours (spec 3.7) */
    uint16_t a, b;
    led_rgb c;
    led_pattern(LED_MODE_CONFIRM, &a, &b, &c);
    CHECK(c.r > 0 && c.g == c.r && c.b == 0); /* yellow */
    led_pattern(LED_MODE_IDLE, &a, &b, &c);
    CHECK(c.r == 0 && c.g > 0 && c.b == 0); /* green */
    led_pattern(LED_MODE_UNMOUNTED, &a, &b, &c);
    CHECK(c.r > 0 && c.g == 0 && c.b == 0); /* red */
    led_pattern(LED_MODE_SUSPENDED, &a, &b, &c);
    CHECK(c.r == 0 && c.g == 0 && c.b > 0); /* blue */
    led_pattern((led_mode)99, &a, &b, &c); /* out of range: idle */
    CHECK_EQ_INT(a, 500);
}

static void test_select(void)
{
    /* USB states first */
    CHECK_EQ_INT(led_mode_select(true, true, true, true, HSM_LED_CONFIRM), LED_MODE_SUSPENDED);
    CHECK_EQ_INT(led_mode_select(false, false, false, false, -1), LED_MODE_UNMOUNTED);
    /* card session */
    CHECK_EQ_INT(led_mode_select(true, false, false, false, -1), LED_MODE_IDLE);
    CHECK_EQ_INT(led_mode_select(true, false, true, false, -1), LED_MODE_ACTIVE);
    CHECK_EQ_INT(led_mode_select(true, false, true, true, -1), LED_MODE_PROCESSING);
    /* the card's request wins only while an APDU runs */
    CHECK_EQ_INT(led_mode_select(true, false, true, true, HSM_LED_CONFIRM), LED_MODE_CONFIRM);
    CHECK_EQ_INT(led_mode_select(true, false, true, false, HSM_LED_CONFIRM), LED_MODE_ACTIVE);
    CHECK_EQ_INT(led_mode_select(true, false, true, true, HSM_LED_PROCESSING), LED_MODE_PROCESSING);
    CHECK_EQ_INT(led_mode_select(true, false, true, true, HSM_LED_IDLE), LED_MODE_IDLE);
    CHECK_EQ_INT(led_mode_select(true, false, true, true, 42), LED_MODE_PROCESSING);
}

static void test_restart(void)
{
    const led_config plain = {15, false, false};
    led_state st;
    led_init(&st, LED_MODE_IDLE, 0);
    CHECK(lit(led_update(&st, &plain, LED_MODE_IDLE, 100)));
    CHECK(!lit(led_update(&st, &plain, LED_MODE_IDLE, 700))); /* idle's off phase */
    /* a new mode starts lit, whatever the clock */
    CHECK(lit(led_update(&st, &plain, LED_MODE_CONFIRM, 701)));
    CHECK(lit(led_update(&st, &plain, LED_MODE_CONFIRM, 1600)));
    CHECK(!lit(led_update(&st, &plain, LED_MODE_CONFIRM, 1650))); /* 949 ms in: the 100 ms off */
    /* the clock going backwards restarts too, never divides by a wrapped difference */
    CHECK(lit(led_update(&st, &plain, LED_MODE_CONFIRM, 5)));
}

static void test_brightness(void)
{
    led_state st;
    /* non-dimmable: full level whatever the brightness */
    const led_config fixed = {3, false, false};
    led_init(&st, LED_MODE_IDLE, 0);
    led_rgb c = led_update(&st, &fixed, LED_MODE_IDLE, 10);
    CHECK_EQ_INT(c.g, 255);

    /* dimmable, steady: level = brightness / 15 for the whole on phase */
    const led_config steady7 = {7, true, true};
    for (unsigned t = 0; t < 500; t += 50) {
        c = led_update(&st, &steady7, LED_MODE_IDLE, t);
        CHECK_EQ_INT(c.g, (255 * 7 + 7) / 15);
        CHECK_EQ_INT(c.r, 0);
    }
    const led_config steady15 = {15, true, true};
    CHECK_EQ_INT(led_update(&st, &steady15, LED_MODE_IDLE, 20).g, 255);
    const led_config over = {200, true, true};
    CHECK_EQ_INT(led_update(&st, &over, LED_MODE_IDLE, 20).g, 255);
    const led_config zero = {0, true, true};
    CHECK(!lit(led_update(&st, &zero, LED_MODE_IDLE, 20)));

    /* dimmable, fading: rises to the peak in the middle of the on phase, then falls; lit
     * during the whole on phase */
    const led_config fade = {15, true, false};
    led_init(&st, LED_MODE_IDLE, 0);
    unsigned prev = 0, peak = 0, peak_t = 0;
    bool rising_ok = true, falling_ok = true;
    for (unsigned t = 0; t < 500; t++) {
        unsigned g = led_update(&st, &fade, LED_MODE_IDLE, t).g;
        CHECK(g > 0);
        if (t > 0 && t <= 245 && g < prev) {
            rising_ok = false;
        }
        if (t >= 255 && g > prev) {
            falling_ok = false;
        }
        if (g > peak) {
            peak = g;
            peak_t = t;
        }
        prev = g;
    }
    CHECK(rising_ok);
    CHECK(falling_ok);
    CHECK(peak >= 250);
    CHECK(peak_t >= 240 && peak_t <= 260);
    CHECK(!lit(led_update(&st, &fade, LED_MODE_IDLE, 600)));
}

static void test_wire_order(void)
{
    const led_rgb c = {1, 2, 3};
    static const uint8_t want[6][3] = {{1, 2, 3}, {1, 3, 2}, {2, 1, 3},
                                       {2, 3, 1}, {3, 1, 2}, {3, 2, 1}};
    uint8_t out[3];
    for (uint8_t o = 0; o < 6; o++) {
        led_wire_order(c, o, out);
        CHECK_MEM(out, want[o], 3);
    }
    led_wire_order(c, 9, out);
    CHECK_MEM(out, want[0], 3);
}

int main(void)
{
    test_rates();
    test_select();
    test_restart();
    test_brightness();
    test_wire_order();
    return CHECK_DONE();
}
