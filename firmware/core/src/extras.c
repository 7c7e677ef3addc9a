/*
 * extras.c — options, PHY record, clock and press-to-confirm; see extras.h.
 */
#include "extras.h"

#include <string.h>

#include "device.h"
#include "hsm/err.h"
#include "hsm/phy.h"
#include "hsm/port/device.h"
#include "hsm/port/presence.h"
#include "hsm/port/system.h"
#include "hsm/store.h"
#include "ids.h"

#define CLOCK_EPOCH 1577836800 /* 2020-01-01 00:00:00 UTC */

int hsm_options_get(uint16_t *opt)
{
    hsm_device d;
    int rc = hsm_device_load(&d);
    if (rc == HSM_ERR_REF_NOT_FOUND) {
        *opt = 0;
        return HSM_OK;
    }
    *opt = rc == HSM_OK ? d.options : 0;
    return rc;
}

int hsm_options_set_dynamic(uint8_t dyn)
{
    hsm_device d;
    int rc = hsm_device_load(&d);
    if (rc == HSM_ERR_REF_NOT_FOUND) {
        return HSM_ERR_CONDITIONS; /* nothing to keep options in before INITIALIZE */
    }
    if (rc != HSM_OK) {
        return rc;
    }
    uint16_t lock = d.options & HSM_OPT_SECURE_LOCK;
    d.options = (uint16_t)(((uint16_t)dyn << 8) | (d.options & 0x00FFu));
    d.options = (uint16_t)((d.options & ~HSM_OPT_SECURE_LOCK) | lock);
    rc = hsm_device_save(&d, false);
    memset(&d, 0, sizeof(d));
    return rc;
}

/* ---- PHY record ----------------------------------------------------------------------- */

static bool phy_well_formed(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (len - i < 2 || p[i + 1] > len - i - 2) {
            return false;
        }
        i += 2u + p[i + 1];
    }
    return true;
}

int hsm_phy_read(uint8_t *buf, size_t cap, size_t *len)
{
    int rc = hsm_store_read(HSM_ID_PHY, 0, buf, cap, len);
    if (rc == HSM_ERR_NOT_FOUND) {
        *len = 0;
        return HSM_OK;
    }
    return rc;
}

_Static_assert(HSM_ID_PHY == HSM_PHY_FILE_ID, "the boot reader and the writers share one object");

/* Every writer stores only what the boot-time reader accepts (hsm_phy_validate): a record
 * that would send the next boot to rescue is refused here instead. */
int hsm_phy_write(const uint8_t *rec, size_t len)
{
    int rc = hsm_phy_validate(rec, len);
    if (rc != HSM_OK) {
        return rc;
    }
    return hsm_store_write(HSM_ID_PHY, rec, len, 0);
}

int hsm_phy_set_field(uint8_t tag, const uint8_t *v, size_t len)
{
    uint8_t old[HSM_PHY_MAX], rec[HSM_PHY_MAX];
    size_t n = 0, m = 0;
    int rc = hsm_phy_read(old, sizeof(old), &n);
    if (rc != HSM_OK) {
        return rc;
    }
    if (!phy_well_formed(old, n)) {
        n = 0; /* a damaged record is replaced */
    }
    for (size_t i = 0; i < n; i += 2u + old[i + 1]) {
        if (old[i] != tag) {
            memcpy(rec + m, old + i, 2u + old[i + 1]);
            m += 2u + old[i + 1];
        }
    }
    if (len > 255 || m + 2 + len > sizeof(rec)) {
        return HSM_ERR_WRONG_LENGTH;
    }
    rec[m] = tag;
    rec[m + 1] = (uint8_t)len;
    memcpy(rec + m + 2, v, len);
    return hsm_phy_write(rec, m + 2 + len);
}

/* The value of PHY field tag, or -1 when absent (1-byte fields only). */
static int phy_byte(uint8_t tag)
{
    uint8_t rec[HSM_PHY_MAX];
    size_t n = 0;
    if (hsm_phy_read(rec, sizeof(rec), &n) != HSM_OK || !phy_well_formed(rec, n)) {
        return -1;
    }
    for (size_t i = 0; i < n; i += 2u + rec[i + 1]) {
        if (rec[i] == tag && rec[i + 1] == 1) {
            return rec[i + 2];
        }
    }
    return -1;
}

/* ---- clock ------------------------------------------------------------------------------ */

static bool clock_set;
static int64_t clock_offset; /* seconds added to the wall clock, or to the uptime base */

void hsm_clock_forget(void)
{
    clock_set = false;
    clock_offset = 0;
}

bool hsm_clock_get(int64_t *t)
{
    int64_t wall;
    if (hsm_port_wallclock(&wall)) {
        *t = wall + clock_offset;
        return true;
    }
    *t = CLOCK_EPOCH + clock_offset + (int64_t)(hsm_port_millis() / 1000u);
    return clock_set;
}

void hsm_clock_set(int64_t t)
{
    int64_t wall;
    if (hsm_port_wallclock(&wall)) {
        clock_offset = t - wall;
    } else {
        clock_offset = t - CLOCK_EPOCH - (int64_t)(hsm_port_millis() / 1000u);
    }
    clock_set = true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12), H. Hinnant's algorithm. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int64_t hsm_clock_from_tm(const uint8_t tm[8])
{
    /* As mktime normalises a struct tm: month 12 is January of the next year, day 0 the last
     * day of the previous month, and so on. */
    int64_t year = ((int64_t)tm[0] << 8) | tm[1];
    year += tm[2] / 12;
    const unsigned mon = tm[2] % 12u;
    const int64_t days = days_from_civil(year, mon + 1, 1) + (int64_t)tm[3] - 1;
    return days * 86400 + (int64_t)tm[5] * 3600 + (int64_t)tm[6] * 60 + tm[7];
}

void hsm_clock_to_tm(int64_t t, uint8_t tm[8])
{
    int64_t z = (t >= 0 ? t : t - 86399) / 86400;
    const int64_t secs = t - z * 86400;
    const uint8_t wday = (uint8_t)(((z % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    tm[0] = (uint8_t)(y >> 8);
    tm[1] = (uint8_t)y;
    tm[2] = (uint8_t)(m - 1);
    tm[3] = (uint8_t)d;
    tm[4] = wday;
    tm[5] = (uint8_t)(secs / 3600);
    tm[6] = (uint8_t)(secs / 60 % 60);
    tm[7] = (uint8_t)(secs % 60);
}

/* ---- press-to-confirm ------------------------------------------------------------------- */

static bool wait_user(uint32_t seconds)
{
    hsm_port_led(HSM_LED_CONFIRM);
    int ok = hsm_port_user_presence(seconds * 1000u);
    hsm_port_led(HSM_LED_PROCESSING);
    return ok == 1;
}

int hsm_presence_confirm(void)
{
    uint16_t opt = 0;
    int rc = hsm_options_get(&opt);
    if (rc != HSM_OK) {
        return rc; /* fail closed: an unreadable option word does not switch the wait off */
    }
    if (!(opt & HSM_OPT_BUTTON)) {
        return HSM_OK;
    }
    int t = phy_byte(HSM_PHY_BUTTON_TIMEOUT);
    if (t == 0) {
        return HSM_OK; /* PHY field 08 = 0: no wait (3.5) */
    }
    return wait_user(t < 0 ? HSM_PRESENCE_DEFAULT_S : (uint32_t)t) ? HSM_OK : HSM_ERR_PRESENCE;
}

bool hsm_presence_rescue(void)
{
    int t = phy_byte(HSM_PHY_BUTTON_TIMEOUT);
    return wait_user(t <= 0 ? HSM_PRESENCE_RESCUE_DEFAULT_S : (uint32_t)t);
}
