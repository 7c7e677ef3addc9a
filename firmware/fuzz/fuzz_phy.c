/*
 * fuzz_phy.c — libFuzzer target over the PHY record readers (EF E020, hsm/phy.h), which face
 * whatever a host stored through the rescue applet: the lenient parser never fails on a record
 * the strict check accepts, what it reads serialises into a record that passes the strict
 * check and parses back to the same fields, and every product string is printable and
 * terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/err.h"
#include "hsm/phy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hsm_phy p, q;
    int rc = hsm_phy_parse(data, size, &p);
    int strict = hsm_phy_validate(data, size);
    if (strict == HSM_OK && rc != HSM_OK) {
        abort();
    }
    if (memchr(p.product, 0, sizeof(p.product)) == NULL || p.led_brightness > 15 ||
        p.vid == 0 || p.vid == 0xFFFF) {
        abort();
    }
    for (size_t i = 0; p.product[i] != 0; i++) {
        if (p.product[i] < 0x20 || p.product[i] > 0x7E) {
            abort();
        }
    }
    uint8_t out[HSM_PHY_MAX];
    size_t n = 0;
    if (hsm_phy_serialise(&p, out, sizeof(out), &n) != HSM_OK ||
        hsm_phy_validate(out, n) != HSM_OK || hsm_phy_parse(out, n, &q) != HSM_OK) {
        abort();
    }
    p.present |= HSM_PHY_HAS_OPTS;
    if (memcmp(&p, &q, sizeof(p)) != 0) {
        abort();
    }
    return 0;
}
