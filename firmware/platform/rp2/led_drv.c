/*
 * led_drv.c — drives the board LED with what firmware/board/led.c computes.
 *
 * Drivers (PHY tag 0C), pin = PHY tag 04, else the board's PICO_DEFAULT_LED_PIN:
 *   01 GPIO      one LED on `pin`, switched on/off, or through PWM (8-bit, gamma 2) when PHY
 *                option 0002 "dimmable" is set, so brightness (tag 05) and fading apply.
 *   02 Pimoroni  an RGB LED on three PWM pins, red = `pin`, green = pin + 1, blue = pin + 2,
 *                active low (the Tiny 2040 wiring: 18, 19, 20); always dimmable.
 *   03 WS2812    one addressable LED on `pin`, driven by a PIO state machine at 800 kbit/s,
 *                colour order from tag 0C's second byte (default GRB when the byte is absent
 *                is what the parts use; the record's order wins); always dimmable.
 *   04 CYW43, 05 NeoPixel (ESP32), FF none: no LED.
 * Dimmable drivers fade over each on phase unless PHY option 0008 "steady" (spec 3.7).
 * Rescue boots (rp2_led_configure(NULL)) use the board's pin as a plain GPIO LED.
 *
 * Core 0 only (the main loop); never blocks: the WS2812 frame is queued into the PIO FIFO only
 * when the colour changed and the FIFO has room.
 */
#include "hardware/clocks.h"
#include "hardware/gpio.h"
#include "hardware/pio.h"
#include "hardware/pwm.h"

#include "hsm/phy.h"
#include "led.h"
#include "rp2.h"

#ifdef PICO_DEFAULT_LED_PIN
#define BOARD_LED_PIN PICO_DEFAULT_LED_PIN
#else
#define BOARD_LED_PIN (-1)
#endif

/* WS2812 bit timing in PIO cycles: 2 high, then 5 high (1) or low (0), then 3 low; 10 cycles
 * a bit. Program (side-set 1 pin, no delay bits lost):
 *   0: out x, 1        side 0 [2]
 *   1: jmp !x, 3       side 1 [1]
 *   2: jmp 0           side 1 [4]
 *   3: nop (mov y, y)  side 0 [4]
 * Encoding (RP2040 datasheet 3.4): side-set bit 12, delay bits 11:8. */
#define WS2812_CYCLES_PER_BIT 10u
static const uint16_t ws2812_insns[] = {0x6221, 0x1123, 0x1400, 0xA442};
static const pio_program_t ws2812_prog = {
    .instructions = ws2812_insns,
    .length = 4,
    .origin = -1,
};

static uint8_t driver = HSM_PHY_LED_NONE;
static int pin = -1;
static uint8_t order;
static led_config cfg = {HSM_PHY_DEFAULT_BRIGHTNESS, false, false};
static led_state st;
static PIO ws_pio;
static int ws_sm = -1;
static int ws_offset = -1;
static uint32_t ws_last = UINT32_MAX;

static void pwm_pin(unsigned p, bool active_low) {
    pwm_config c = pwm_get_default_config();
    pwm_config_set_wrap(&c, 255);
    pwm_config_set_output_polarity(&c, active_low, active_low);
    pwm_init(pwm_gpio_to_slice_num(p), &c, true);
    pwm_set_gpio_level(p, 0);
    gpio_set_function(p, GPIO_FUNC_PWM);
}

static uint16_t gamma2(uint8_t v) { return (uint16_t)(v * v / 255u); }

static bool ws2812_start(unsigned p) {
    ws_pio = pio0;
    if (ws_sm < 0)
        ws_sm = pio_claim_unused_sm(ws_pio, false);
    if (ws_sm < 0)
        return false;
    if (ws_offset < 0) {
        if (!pio_can_add_program(ws_pio, &ws2812_prog))
            return false;
        ws_offset = pio_add_program(ws_pio, &ws2812_prog);
    }
    pio_gpio_init(ws_pio, p);
    pio_sm_set_consecutive_pindirs(ws_pio, (unsigned)ws_sm, p, 1, true);
    pio_sm_config c = pio_get_default_sm_config();
    sm_config_set_wrap(&c, (unsigned)ws_offset, (unsigned)ws_offset + 3);
    sm_config_set_sideset(&c, 1, false, false);
    sm_config_set_sideset_pins(&c, p);
    sm_config_set_out_shift(&c, false, true, 24); /* MSB first, autopull every 24 bits */
    sm_config_set_fifo_join(&c, PIO_FIFO_JOIN_TX);
    /* 800 kbit/s: clk_sys / (800 kHz * 10) in 24.8 fixed point (125 MHz -> 15 + 160/256) */
    uint64_t div256 = ((uint64_t)clock_get_hz(clk_sys) * 256u) / (800000u * WS2812_CYCLES_PER_BIT);
    sm_config_set_clkdiv_int_frac8(&c, (uint32_t)(div256 >> 8), (uint8_t)div256);
    pio_sm_init(ws_pio, (unsigned)ws_sm, (unsigned)ws_offset, &c);
    pio_sm_set_enabled(ws_pio, (unsigned)ws_sm, true);
    ws_last = UINT32_MAX;
    return true;
}

static void release(void) {
    if (ws_sm >= 0)
        pio_sm_set_enabled(ws_pio, (unsigned)ws_sm, false);
    if (pin < 0)
        return;
    unsigned n = driver == HSM_PHY_LED_PIMORONI ? 3 : 1;
    for (unsigned i = 0; i < n; i++)
        gpio_deinit((unsigned)pin + i);
}

void rp2_led_configure(const hsm_phy *phy) {
    release();
    int p = BOARD_LED_PIN;
    uint8_t d = HSM_PHY_LED_GPIO;
    cfg = (led_config){HSM_PHY_DEFAULT_BRIGHTNESS, false, false};
    order = 0x02; /* GRB, what WS2812 parts expect */
    if (phy != NULL) {
        if (phy->present & HSM_PHY_HAS_LED_DRIVER) {
            d = phy->led_driver;
            order = phy->led_order;
        }
        if ((phy->present & HSM_PHY_HAS_LED_GPIO) && phy->led_gpio < NUM_BANK0_GPIOS)
            p = phy->led_gpio;
        cfg.brightness = phy->led_brightness;
        cfg.dimmable = (phy->opts & HSM_PHY_OPT_LED_DIMMABLE) != 0;
        cfg.steady = (phy->opts & HSM_PHY_OPT_LED_STEADY) != 0;
    }
    if (d == HSM_PHY_LED_PIMORONI && p + 2 >= (int)NUM_BANK0_GPIOS)
        p = -1;
    driver = p < 0 ? HSM_PHY_LED_NONE : d;
    pin = p;
    switch (driver) {
    case HSM_PHY_LED_GPIO:
        if (cfg.dimmable) {
            pwm_pin((unsigned)pin, false);
        } else {
            gpio_init((unsigned)pin);
            gpio_set_dir((unsigned)pin, GPIO_OUT);
        }
        break;
    case HSM_PHY_LED_PIMORONI:
        cfg.dimmable = true;
        for (unsigned i = 0; i < 3; i++)
            pwm_pin((unsigned)pin + i, true);
        break;
    case HSM_PHY_LED_WS2812:
        cfg.dimmable = true;
        if (!ws2812_start((unsigned)pin))
            driver = HSM_PHY_LED_NONE;
        break;
    default:
        driver = HSM_PHY_LED_NONE;
        pin = -1;
        break;
    }
}

void rp2_led_show(led_mode mode, uint64_t now_ms) {
    led_rgb c = led_update(&st, &cfg, mode, now_ms);
    switch (driver) {
    case HSM_PHY_LED_GPIO: {
        uint8_t level = c.r > c.g ? c.r : c.g;
        level = c.b > level ? c.b : level;
        if (cfg.dimmable)
            pwm_set_gpio_level((unsigned)pin, gamma2(level));
        else
            gpio_put((unsigned)pin, level != 0);
        break;
    }
    case HSM_PHY_LED_PIMORONI:
        pwm_set_gpio_level((unsigned)pin, gamma2(c.r));
        pwm_set_gpio_level((unsigned)pin + 1, gamma2(c.g));
        pwm_set_gpio_level((unsigned)pin + 2, gamma2(c.b));
        break;
    case HSM_PHY_LED_WS2812: {
        uint8_t w[3];
        led_wire_order(c, order, w);
        uint32_t frame = (uint32_t)w[0] << 24 | (uint32_t)w[1] << 16 | (uint32_t)w[2] << 8;
        if (frame != ws_last && !pio_sm_is_tx_fifo_full(ws_pio, (unsigned)ws_sm)) {
            pio_sm_put(ws_pio, (unsigned)ws_sm, frame);
            ws_last = frame;
        }
        break;
    }
    default:
        break;
    }
}
