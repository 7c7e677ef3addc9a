/*
 * usbid.c — USB identity strings; see usbid.h.
 */
#include "usbid.h"

#include <string.h>

#include "hsm/err.h"

int usbid_build(const uint8_t uid[8], const hsm_phy *phy, bool rescue, uint16_t build_vid,
                uint16_t build_pid, usbid *out)
{
    memset(out, 0, sizeof(*out));
    hsm_phy_usb_id(phy, rescue, build_vid, build_pid, &out->vid, &out->pid);
    if (rescue || phy == NULL || !(phy->present & HSM_PHY_HAS_PRODUCT)) {
        memcpy(out->product, HSM_PHY_DEFAULT_PRODUCT, sizeof(HSM_PHY_DEFAULT_PRODUCT));
        if (rescue) {
            strcat(out->product, USBID_RESCUE_SUFFIX);
        }
    } else {
        size_t n = strnlen(phy->product, HSM_PHY_PRODUCT_MAX);
        memcpy(out->product, phy->product, n);
    }
    return hsm_devid_serial_from_uid(uid, out->serial);
}

size_t usbid_string_desc(const char *s, uint16_t *desc, size_t cap)
{
    size_t n = 0;
    while (s != NULL && s[n] != '\0' && n + 1 < cap && n < 126) {
        unsigned char c = (unsigned char)s[n];
        desc[1 + n] = (c >= 0x20 && c <= 0x7E) ? c : '?';
        n++;
    }
    desc[0] = (uint16_t)((0x03u << 8) | (2u * n + 2u));
    return n;
}
