/*
 * cmd_extras.c — EXTRAS (80 64), pico-hsm-extensions.md 3.1-3.4, with the legacy
 * sub-commands of 3.3 that pico-hsm-tool.py and pypicohsm still send.
 *
 * Order of checks (3.1): user authenticated (6982; not for 1B PHY, 05 memory, F0 OTP and 3A
 * secure lock, which have their own rules), the
 * press-to-confirm wait (6600), then the sub-command:
 *   06 options    read (no data) / write the dynamic byte (1 byte; more -> 6700); P2 != 00 -> 6A86
 *   0A date/time  read (no data) / set (8 bytes; other lengths -> 6700); P2 != 00 -> 6A86
 *   1B PHY        read the record (no data) / set field P2: 00 VID|PID (4), 04 LED GPIO (1),
 *                 05 LED brightness (1), 06 PHY options (2); other lengths 6700, fields 6A86
 *   05 memory     free, used, total, objects, flash size: five 4-byte big-endian words
 *   FB reboot     no data (else 6700); answers, then reboots (the emulator resets the card)
 *   F0 OTP root   Pico HSM's own (not in the reference firmware; docs/security.md), no user
 *                 PIN needed (it has its own authorisation):
 *                 F0 00, no data: status, 2 bytes: the platform's hsm_otp_status (00 no OTP,
 *                   01 blank, 02 ready, 03 pending, 04 damaged), then the device record's
 *                   binding bits (01 user PIN wrap, 02 SO-PIN wrap bound to the root; 00 before
 *                   initialisation)
 *                 F0 01 [SO-PIN (8)]: provision the root — explicit and irreversible. The
 *                   SO-PIN comes in the data (checked like VERIFY 88: counter first, 63Cx,
 *                   6983), or was verified earlier in this session (no data); otherwise 6982.
 *                   Other lengths 6700. Then 6A81 no OTP on this chip, 6985 already
 *                   provisioned, 6986 OTP damaged, 6581 an OTP write failed (status then says
 *                   damaged, or pending when only the lock is missing). With the SO-PIN in the data, its
 *                   wrap is re-bound at once; otherwise (and the user PIN's always) at its next
 *                   successful presentation (pin.h).
 *                 other P2 -> 6A86
 *   3A secure lock (3.8): see secure_lock() below
 *   4C OTP and anything else -> 6A86 (the reference's OTP must stay unavailable, 3.3)
 */
#include <string.h>

#include "cmd.h"
#include "device.h"
#include "extras.h"
#include "hsm/err.h"
#include "hsm/port/flash.h"
#include "hsm/port/otp.h"
#include "hsm/port/system.h"
#include "hsm/store.h"
#include "lock.h"
#include "mbedtls/platform_util.h"
#include "pin.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

void hsm_extras_memory(uint8_t out[20])
{
    hsm_store_stats st;
    hsm_store_get_stats(&st);
    uint32_t used = st.live_bytes < st.capacity ? st.live_bytes : st.capacity;
    put32(out, st.capacity - used);
    put32(out + 4, used);
    put32(out + 8, st.capacity);
    put32(out + 12, st.live_objects);
    put32(out + 16, hsm_port_flash_size());
}

static int options(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p2 != 0x00) return HSM_ERR_P1P2;
    if (a->nc > 1) return HSM_ERR_WRONG_LENGTH;
    if (a->nc == 1) return hsm_options_set_dynamic(a->data[0]);
    uint16_t opt;
    int rc = hsm_options_get(&opt);
    const uint8_t b[2] = {(uint8_t)(opt >> 8), (uint8_t)opt};
    return rc == HSM_OK ? hsm_cmd_out(c, b, sizeof(b)) : rc;
}

static int datetime(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p2 != 0x00) return HSM_ERR_P1P2;
    if (a->nc == 8) {
        hsm_clock_set(hsm_clock_from_tm(a->data));
        return HSM_OK;
    }
    if (a->nc != 0) return HSM_ERR_WRONG_LENGTH;
    int64_t t;
    uint8_t tm[8];
    (void)hsm_clock_get(&t); /* legacy: answers even before a host set the clock */
    hsm_clock_to_tm(t, tm);
    return hsm_cmd_out(c, tm, sizeof(tm));
}

static int phy(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->nc == 0) {
        uint8_t rec[HSM_PHY_MAX];
        size_t n = 0;
        int rc = hsm_phy_read(rec, sizeof(rec), &n);
        return rc == HSM_OK ? hsm_cmd_out(c, rec, n) : rc;
    }
    size_t want;
    switch (a->p2) {
    case 0x00: want = 4; break;
    case 0x04: want = 1; break;
    case 0x05: want = 1; break;
    case 0x06: want = 2; break;
    default: return HSM_ERR_P1P2;
    }
    if (a->nc != want) return HSM_ERR_WRONG_LENGTH;
    return hsm_phy_set_field(a->p2, a->data, a->nc);
}

static int otp_status(hsm_cmd *c)
{
    uint8_t b[2] = {(uint8_t)hsm_port_otp_status(), 0x00};
    hsm_device d;
    int rc = hsm_device_load(&d);
    if (rc == HSM_OK) {
        b[1] = (uint8_t)(((d.flags & HSM_DEV_USER_OTP) ? 0x01u : 0u) | ((d.flags & HSM_DEV_SO_OTP) ? 0x02u : 0u));
    } else if (rc != HSM_ERR_REF_NOT_FOUND) {
        return rc;
    }
    return hsm_cmd_out(c, b, sizeof(b));
}

static int otp_provision(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->nc != 0 && a->nc != HSM_SO_PIN_LEN) return HSM_ERR_WRONG_LENGTH;
    if (a->nc == 0 && !c->s->so_verified) return HSM_ERR_SECURITY;
    /* What the platform would refuse anyway, answered before an SO-PIN try is spent. */
    switch (hsm_port_otp_status()) {
    case HSM_OTP_ABSENT: return HSM_ERR_UNSUPPORTED;
    case HSM_OTP_READY:
    case HSM_OTP_PENDING: return HSM_ERR_CONDITIONS;
    case HSM_OTP_DAMAGED: return HSM_ERR_NOT_ALLOWED;
    case HSM_OTP_BLANK: break;
    }
    uint8_t mkek[HSM_MKEK_SIZE];
    hsm_device d;
    unsigned tries;
    int rc = HSM_OK;
    if (a->nc != 0) {
        if ((rc = hsm_device_load(&d)) == HSM_OK) {
            rc = hsm_pin_check(&d, HSM_PIN_ROLE_SO, a->data, a->nc, mkek, &c->tries);
        }
        if (rc != HSM_OK) goto out;
    }
    rc = hsm_port_otp_provision(true);
    if (rc == HSM_OK && a->nc != 0 && hsm_device_load(&d) == HSM_OK) {
        /* Re-bind the SO-PIN's wrap now: it is presented again through the one PIN check,
         * which re-makes a wrap that predates the root. Should this fail, the next SO-PIN
         * presentation does it; provisioning itself succeeded. */
        (void)hsm_pin_check(&d, HSM_PIN_ROLE_SO, a->data, a->nc, mkek, &tries);
    }
out:
    mbedtls_platform_zeroize(mkek, sizeof(mkek));
    return rc;
}

static int otp(hsm_cmd *c)
{
    switch (c->apdu->p2) {
    case 0x00:
        if (c->apdu->nc != 0) return HSM_ERR_WRONG_LENGTH;
        return otp_status(c);
    case 0x01:
        return otp_provision(c);
    default:
        return HSM_ERR_P1P2;
    }
}

/* Secure lock (ext. spec 3.8, lock.h), P2: 01 key agreement (65-byte host point; no data or a
 * bad point 6700), 02 enable, 03 unlock, 04 disable (48-byte envelope: no agreement 6986, other
 * length or an envelope that does not authenticate 6700; enable/disable without both PINs
 * verified 6982, a secret that is not the lock's 6982); any other P2 9000 without effect. The
 * sub-commands need no PIN of their own: what they change needs the PINs. */
static int secure_lock(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p2 == 0x01) {
        uint8_t pub[HSM_LOCK_POINT_SIZE];
        int rc = hsm_lock_agree(a->data, a->nc, pub);
        return rc == HSM_OK ? hsm_cmd_out(c, pub, sizeof(pub)) : rc;
    }
    if (a->p2 < 0x02 || a->p2 > 0x04) {
        return HSM_OK;
    }
    uint8_t secret[HSM_LOCK_SECRET_SIZE];
    int rc = hsm_lock_open_envelope(a->data, a->nc, secret);
    if (rc == HSM_OK) {
        rc = a->p2 == 0x02   ? hsm_lock_enable(c->s, secret)
             : a->p2 == 0x03 ? hsm_lock_unlock(c->s, secret)
                             : hsm_lock_disable(c->s, secret);
    }
    mbedtls_platform_zeroize(secret, sizeof(secret));
    return rc;
}

int hsm_cmd_extras(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    const bool open = a->p1 == 0x1B || a->p1 == 0x05 || a->p1 == 0xF0 || a->p1 == 0x3A;
    if (!open && !c->s->user_verified && !c->s->so_verified) {
        return HSM_ERR_SECURITY;
    }
    int rc = hsm_presence_confirm();
    if (rc != HSM_OK) {
        return rc;
    }
    switch (a->p1) {
    case 0x06: return options(c);
    case 0x0A: return datetime(c);
    case 0x1B: return phy(c);
    case 0x05: {
        uint8_t m[20];
        hsm_extras_memory(m);
        return hsm_cmd_out(c, m, sizeof(m));
    }
    case 0xF0: return otp(c);
    case 0x3A: return secure_lock(c);
    case 0xFB:
        if (a->nc != 0) return HSM_ERR_WRONG_LENGTH;
        hsm_port_reboot(false);
        hsm_session_clear(c->s);
        return HSM_OK;
    default:
        return HSM_ERR_P1P2;
    }
}
