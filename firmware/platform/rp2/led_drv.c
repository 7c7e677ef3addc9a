/*
 * led_drv.c — drives the board LED with what firmware/board/led.c computes.
 *
 * Drivers (PHY tag 0C): 01 GPIO — a single LED on one pin (PHY tag 04, else the board's
 * PICO_DEFAULT_LED_PIN), switched on/off, or through PWM (8-bit, gamma 2) when PHY option 0002
 * "dimmable" is set, so brightness (tag 05) and fading apply. The RGB drivers (02 Pimoroni,
 * 03 WS2812, 04 CYW43, 05 NeoPixel) are not implemented: with them the LED stays dark (the
 * colour logic and the strip colour order are ready in led.c for a driver to use). FF: none.
 * Rescue boots (rp2_led_configure(NULL)) use the board's pin as a plain GPIO LED.
 *
 * Core 0 only (the main loop); never blocks.
 */
#include "hardware/gpio.h"
#include "hardware/pwm.h"

#include "hsm/phy.h"
#include "led.h"
#include "rp2.h"

#ifdef PICO_DEFAULT_LED_PIN
#define BOARD_LED_PIN PICO_DEFAULT_LED_PIN
#else
#define BOARD_LED_PIN (-1)
#endif

static int pin = -1;
static bool use_pwm;
static led_config cfg = {HSM_PHY_DEFAULT_BRIGHTNESS, false, false};
static led_state st;

void rp2_led_configure(const hsm_phy *phy)
{
    int p = BOARD_LED_PIN;
    uint8_t driver = HSM_PHY_LED_GPIO;
    cfg = (led_config){HSM_PHY_DEFAULT_BRIGHTNESS, false, false};
    if (phy != NULL) {
        if (phy->present & HSM_PHY_HAS_LED_DRIVER) {
            driver = phy->led_driver;
        }
        if ((phy->present & HSM_PHY_HAS_LED_GPIO) && phy->led_gpio < NUM_BANK0_GPIOS) {
            p = phy->led_gpio;
        }
        cfg.brightness = phy->led_brightness;
        cfg.dimmable = (phy->opts & HSM_PHY_OPT_LED_DIMMABLE) != 0;
        cfg.steady = (phy->opts & HSM_PHY_OPT_LED_STEADY) != 0;
    }
    if (driver != HSM_PHY_LED_GPIO) {
        p = -1;
    }
    if (pin >= 0) {
        gpio_deinit((unsigned)pin);
    }
    pin = p;
    use_pwm = cfg.dimmable;
    if (pin < 0) {
        return;
    }
    if (use_pwm) {
        unsigned slice = pwm_gpio_to_slice_num((unsigned)pin);
        pwm_config c = pwm_get_default_config();
        pwm_config_set_wrap(&c, 255);
        pwm_init(slice, &c, true);
        pwm_set_gpio_level((unsigned)pin, 0);
        gpio_set_function((unsigned)pin, GPIO_FUNC_PWM);
    } else {
        gpio_init((unsigned)pin);
        gpio_set_dir((unsigned)pin, GPIO_OUT);
    }
}

void rp2_led_show(led_mode mode, uint64_t now_ms)
{
    led_rgb c = led_update(&st, &cfg, mode, now_ms);
    unsigned level = c.r > c.g ? c.r : c.g;
    level = c.b > level ? c.b : level;
    if (pin < 0) {
        return;
    }
    if (use_pwm) {
        pwm_set_gpio_level((unsigned)pin, (uint16_t)(level * level / 255u));
    } else {
        gpio_put((unsigned)pin, level != 0);
    }
}
