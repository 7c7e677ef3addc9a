/*
 * led.c — LED modes, patterns and brightness; see led.h.
 */
#include "led.h"

#include "hsm/port/device.h"

typedef struct {
    uint16_t on, off;
    led_rgb colour;
} pattern;

#define RED {255, 0, 0}
#define GREEN {0, 255, 0}
#define BLUE {0, 0, 255}
#define YELLOW {255, 255, 0}

static const pattern patterns[LED_MODE_COUNT] = {
    [LED_MODE_UNMOUNTED] = {500, 500, RED},
    [LED_MODE_SUSPENDED] = {1000, 2000, BLUE},
    [LED_MODE_IDLE] = {500, 500, GREEN},
    [LED_MODE_ACTIVE] = {125, 125, GREEN},
    [LED_MODE_PROCESSING] = {25, 25, GREEN},
    [LED_MODE_CONFIRM] = {900, 100, YELLOW},
};

led_mode led_mode_select(bool mounted, bool suspended, bool icc_active, bool busy,
                         int card_request)
{
    if (suspended) {
        return LED_MODE_SUSPENDED;
    }
    if (!mounted) {
        return LED_MODE_UNMOUNTED;
    }
    if (busy) {
        switch (card_request) {
        case HSM_LED_IDLE:
            return LED_MODE_IDLE;
        case HSM_LED_ACTIVE:
            return LED_MODE_ACTIVE;
        case HSM_LED_CONFIRM:
            return LED_MODE_CONFIRM;
        default:
            return LED_MODE_PROCESSING;
        }
    }
    return icc_active ? LED_MODE_ACTIVE : LED_MODE_IDLE;
}

static led_mode valid(led_mode m)
{
    return (unsigned)m < LED_MODE_COUNT ? m : LED_MODE_IDLE;
}

void led_pattern(led_mode mode, uint16_t *on_ms, uint16_t *off_ms, led_rgb *colour)
{
    const pattern *p = &patterns[valid(mode)];
    *on_ms = p->on;
    *off_ms = p->off;
    *colour = p->colour;
}

void led_init(led_state *st, led_mode mode, uint64_t now_ms)
{
    st->mode = valid(mode);
    st->since_ms = now_ms;
}

static uint8_t scale(uint8_t c, unsigned level)
{
    return (uint8_t)((c * level + 127u) / 255u);
}

led_rgb led_update(led_state *st, const led_config *cfg, led_mode mode, uint64_t now_ms)
{
    mode = valid(mode);
    if (mode != st->mode || now_ms < st->since_ms) {
        led_init(st, mode, now_ms);
    }
    const pattern *p = &patterns[mode];
    uint32_t t = (uint32_t)((now_ms - st->since_ms) % (uint64_t)(p->on + p->off));
    led_rgb out = {0, 0, 0};
    if (t >= p->on) {
        return out;
    }
    unsigned level = 255;
    if (cfg != NULL && cfg->dimmable) {
        unsigned b = cfg->brightness > 15 ? 15 : cfg->brightness;
        level = (255u * b + 7u) / 15u;
        if (!cfg->steady) {
            /* triangle over the on phase: 0 -> peak at on/2 -> 0; at least 1/8 of the peak
             * at the ends so every on phase is visible */
            uint32_t x = (t * 512u + p->on / 2u) / p->on; /* 0..511 */
            uint32_t tri = x <= 256u ? x : 512u - x;      /* 0..256 */
            if (tri < 32u) {
                tri = 32u;
            }
            level = level * tri / 256u;
        }
    }
    out.r = scale(p->colour.r, level);
    out.g = scale(p->colour.g, level);
    out.b = scale(p->colour.b, level);
    return out;
}

void led_wire_order(led_rgb c, uint8_t order, uint8_t out[3])
{
    static const uint8_t idx[6][3] = {
        {0, 1, 2}, /* RGB */
        {0, 2, 1}, /* RBG */
        {1, 0, 2}, /* GRB */
        {1, 2, 0}, /* GBR */
        {2, 0, 1}, /* BRG */
        {2, 1, 0}, /* BGR */
    };
    const uint8_t ch[3] = {c.r, c.g, c.b};
    const uint8_t *o = idx[order < 6 ? order : 0];
    for (int i = 0; i < 3; i++) {
        out[i] = ch[o[i]];
    }
}
