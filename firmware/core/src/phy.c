/*
 * phy.c — the PHY record (EF E020); format, the two readers and the defaults: see hsm/phy.h.
 *
 * One table gives each known tag its length rule, so parse, validate and serialise cannot
 * disagree about what a well-formed entry is. Values are checked by field_apply(), which both
 * readers use: the lenient reader drops an unusable field, the strict one refuses the record.
 */
#include "hsm/phy.h"

#include <string.h>

#include "hsm/err.h"

typedef struct {
    uint8_t tag;
    uint8_t min_len, max_len;
    uint16_t has;
} field_rule;

static const field_rule rules[] = {
    {HSM_PHY_TAG_VIDPID, 4, 4, HSM_PHY_HAS_VIDPID},
    {HSM_PHY_TAG_LED_GPIO, 1, 1, HSM_PHY_HAS_LED_GPIO},
    {HSM_PHY_TAG_LED_BRIGHTNESS, 1, 1, HSM_PHY_HAS_LED_BRIGHTNESS},
    {HSM_PHY_TAG_OPTS, 2, 2, HSM_PHY_HAS_OPTS},
    {HSM_PHY_TAG_BUTTON_TIMEOUT, 1, 1, HSM_PHY_HAS_BUTTON_TIMEOUT},
    {HSM_PHY_TAG_PRODUCT, 2, HSM_PHY_PRODUCT_MAX + 1, HSM_PHY_HAS_PRODUCT},
    {HSM_PHY_TAG_CURVES, 4, 4, HSM_PHY_HAS_CURVES},
    {HSM_PHY_TAG_USB_ITF, 1, 1, HSM_PHY_HAS_USB_ITF},
    {HSM_PHY_TAG_LED_DRIVER, 1, 2, HSM_PHY_HAS_LED_DRIVER},
};

static const field_rule *rule_for(uint8_t tag)
{
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (rules[i].tag == tag) {
            return &rules[i];
        }
    }
    return NULL;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static bool led_driver_known(uint8_t d)
{
    return (d >= HSM_PHY_LED_GPIO && d <= HSM_PHY_LED_NEOPIXEL) || d == HSM_PHY_LED_NONE;
}

/* Checks the value of a known tag whose length already matches its rule and, when it is
 * usable, stores it in phy. Returns false (phy untouched) for an unusable value. */
static bool field_apply(const field_rule *r, const uint8_t *v, size_t len, hsm_phy *phy)
{
    switch (r->tag) {
    case HSM_PHY_TAG_VIDPID: {
        uint16_t vid = be16(v);
        if (vid == 0x0000 || vid == 0xFFFF) {
            return false; /* no device enumerates usefully with these */
        }
        phy->vid = vid;
        phy->pid = be16(v + 2);
        break;
    }
    case HSM_PHY_TAG_LED_GPIO:
        if (v[0] > HSM_PHY_LED_GPIO_MAX) {
            return false;
        }
        phy->led_gpio = v[0];
        break;
    case HSM_PHY_TAG_LED_BRIGHTNESS:
        if (v[0] > 15) {
            return false;
        }
        phy->led_brightness = v[0];
        break;
    case HSM_PHY_TAG_OPTS:
        phy->opts = be16(v);
        break;
    case HSM_PHY_TAG_BUTTON_TIMEOUT:
        phy->button_timeout_s = v[0];
        break;
    case HSM_PHY_TAG_PRODUCT:
        if (v[len - 1] != 0) {
            return false;
        }
        for (size_t i = 0; i + 1 < len; i++) {
            if (v[i] < 0x20 || v[i] > 0x7E) {
                return false;
            }
        }
        memset(phy->product, 0, sizeof(phy->product));
        memcpy(phy->product, v, len); /* with its NUL; len <= HSM_PHY_PRODUCT_MAX + 1 */
        break;
    case HSM_PHY_TAG_CURVES:
        phy->curves = (uint32_t)be16(v) << 16 | be16(v + 2);
        break;
    case HSM_PHY_TAG_USB_ITF:
        if (v[0] == 0 || (v[0] & ~0x1Fu) != 0) {
            return false;
        }
        phy->usb_itf = v[0];
        break;
    case HSM_PHY_TAG_LED_DRIVER:
        if (!led_driver_known(v[0]) || (len == 2 && v[1] > HSM_PHY_LED_ORDER_MAX)) {
            return false;
        }
        phy->led_driver = v[0];
        phy->led_order = len == 2 ? v[1] : 0;
        break;
    default:
        return false;
    }
    phy->present |= r->has;
    return true;
}

void hsm_phy_defaults(hsm_phy *phy)
{
    memset(phy, 0, sizeof(*phy));
    phy->vid = HSM_PHY_DEFAULT_VID;
    phy->pid = HSM_PHY_DEFAULT_PID;
    phy->led_brightness = HSM_PHY_DEFAULT_BRIGHTNESS;
    phy->button_timeout_s = HSM_PHY_DEFAULT_BUTTON_S;
    memcpy(phy->product, HSM_PHY_DEFAULT_PRODUCT, sizeof(HSM_PHY_DEFAULT_PRODUCT));
    phy->usb_itf = 0x01; /* CCID */
    phy->led_driver = HSM_PHY_LED_GPIO;
}

/* Walks the entries; strict = the writer's rules. */
static int walk(const uint8_t *p, size_t n, bool strict, hsm_phy *phy)
{
    size_t off = 0;
    while (off < n) {
        if (n - off < 2 || p[off + 1] > n - off - 2) {
            return HSM_ERR_DATA; /* an entry runs past the end: torn or not a PHY record */
        }
        uint8_t tag = p[off];
        size_t len = p[off + 1];
        const uint8_t *v = p + off + 2;
        off += 2 + len;

        const field_rule *r = rule_for(tag);
        if (r == NULL) {
            continue; /* unknown tag: skipped by both readers */
        }
        bool ok = len >= r->min_len && len <= r->max_len;
        if (ok && strict && (phy->present & r->has)) {
            ok = false; /* a repeated tag */
        }
        if (ok) {
            ok = field_apply(r, v, len, phy);
        }
        if (!ok && strict) {
            return HSM_ERR_DATA;
        }
    }
    return HSM_OK;
}

int hsm_phy_parse(const uint8_t *p, size_t n, hsm_phy *out)
{
    hsm_phy_defaults(out);
    if (n == 0) {
        return HSM_OK;
    }
    if (p == NULL) {
        return HSM_ERR_DATA;
    }
    int rc = walk(p, n, false, out);
    if (rc != HSM_OK) {
        hsm_phy_defaults(out);
    }
    return rc;
}

bool hsm_phy_boot_record(int store_rc, const uint8_t *rec, size_t n, hsm_phy *out)
{
    hsm_phy_defaults(out);
    if (store_rc == HSM_ERR_NOT_FOUND) {
        return true;
    }
    if (store_rc != HSM_OK || n > HSM_PHY_MAX) {
        return false;
    }
    return hsm_phy_parse(rec, n, out) == HSM_OK;
}

int hsm_phy_validate(const uint8_t *p, size_t n)
{
    if (p == NULL || n == 0 || n > HSM_PHY_MAX) {
        return HSM_ERR_WRONG_LENGTH;
    }
    hsm_phy scratch;
    hsm_phy_defaults(&scratch);
    return walk(p, n, true, &scratch);
}

/* Appends tag | len | value when it fits. */
static bool put(uint8_t *out, size_t cap, size_t *off, uint8_t tag, const uint8_t *v, size_t len)
{
    if (cap - *off < 2 + len) {
        return false;
    }
    out[*off] = tag;
    out[*off + 1] = (uint8_t)len;
    memcpy(out + *off + 2, v, len);
    *off += 2 + len;
    return true;
}

int hsm_phy_serialise(const hsm_phy *phy, uint8_t *out, size_t cap, size_t *len)
{
    size_t off = 0;
    bool ok = true;
    uint16_t has = phy->present;

    *len = 0;
    if (has & HSM_PHY_HAS_VIDPID) {
        const uint8_t v[4] = {(uint8_t)(phy->vid >> 8), (uint8_t)phy->vid,
                              (uint8_t)(phy->pid >> 8), (uint8_t)phy->pid};
        ok = ok && put(out, cap, &off, HSM_PHY_TAG_VIDPID, v, 4);
    }
    if (has & HSM_PHY_HAS_LED_GPIO) {
        ok = ok && put(out, cap, &off, HSM_PHY_TAG_LED_GPIO, &phy->led_gpio, 1);
    }
    if (has & HSM_PHY_HAS_LED_BRIGHTNESS) {
        ok = ok && put(out, cap, &off, HSM_PHY_TAG_LED_BRIGHTNESS, &phy->led_brightness, 1);
    }
    const uint8_t opts[2] = {(uint8_t)(phy->opts >> 8), (uint8_t)phy->opts};
    ok = ok && put(out, cap, &off, HSM_PHY_TAG_OPTS, opts, 2); /* always, as the reference */
    if (has & HSM_PHY_HAS_BUTTON_TIMEOUT) {
        ok = ok && put(out, cap, &off, HSM_PHY_TAG_BUTTON_TIMEOUT, &phy->button_timeout_s, 1);
    }
    if (has & HSM_PHY_HAS_PRODUCT) {
        size_t n = strnlen(phy->product, HSM_PHY_PRODUCT_MAX);
        uint8_t v[HSM_PHY_PRODUCT_MAX + 1];
        memcpy(v, phy->product, n);
        v[n] = 0; /* the length counts the NUL */
        if (n > 0) {
            ok = ok && put(out, cap, &off, HSM_PHY_TAG_PRODUCT, v, n + 1);
        }
    }
    if (has & HSM_PHY_HAS_CURVES) {
        const uint8_t v[4] = {(uint8_t)(phy->curves >> 24), (uint8_t)(phy->curves >> 16),
                              (uint8_t)(phy->curves >> 8), (uint8_t)phy->curves};
        ok = ok && put(out, cap, &off, HSM_PHY_TAG_CURVES, v, 4);
    }
    if (has & HSM_PHY_HAS_USB_ITF) {
        ok = ok && put(out, cap, &off, HSM_PHY_TAG_USB_ITF, &phy->usb_itf, 1);
    }
    if (has & HSM_PHY_HAS_LED_DRIVER) {
        const uint8_t v[2] = {phy->led_driver, phy->led_order};
        ok = ok && put(out, cap, &off, HSM_PHY_TAG_LED_DRIVER, v, 2);
    }
    if (!ok) {
        return HSM_ERR_NO_SPACE;
    }
    *len = off;
    return HSM_OK;
}

void hsm_phy_usb_id(const hsm_phy *phy, bool rescue, uint16_t build_vid, uint16_t build_pid,
                    uint16_t *vid, uint16_t *pid)
{
    if (!rescue && phy != NULL && (phy->present & HSM_PHY_HAS_VIDPID)) {
        *vid = phy->vid;
        *pid = phy->pid;
    } else {
        *vid = build_vid;
        *pid = build_pid;
    }
}

uint32_t hsm_phy_button_timeout_ms(const hsm_phy *phy)
{
    if (!(phy->present & HSM_PHY_HAS_BUTTON_TIMEOUT)) {
        return HSM_PHY_DEFAULT_BUTTON_S * 1000u;
    }
    return (uint32_t)phy->button_timeout_s * 1000u;
}
