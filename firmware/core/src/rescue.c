/*
 * rescue.c — the rescue applet (pico-hsm-extensions.md 3.9): product identification for the
 * Pico clients, the clock, the PHY record, the memory report and reboots.
 *
 * Selected with AID A0 58 3F C1 9B 7E 4F 21 (cmd_select.c), which also ends the HSM
 * application's session. While it is current, every command but SELECT comes here; CLA must
 * be 80 (6E00, checked by card.c). Commands that change the device wait for the user
 * (hsm_presence_rescue; refused or timed out -> 6985).
 *
 *   1C 01 --  PHY record (>= 2 bytes, well-formed)      replace it (presence)
 *   1C 02 01  8 bytes broken-down time / 02: 4 bytes Unix BE   set the clock
 *   1E 01     PHY record          1E 02  memory report + firmware size (24 bytes)
 *   1E 03     secure boot: 00 00 FF (not available on these platforms)
 *   1E 04 01|02  clock as 8 bytes / 4 bytes Unix; 6985 before any set
 *   1F 00     reboot              1F 01  reboot to the ROM loader (presence)
 *   10, 1D    attestation key and secure boot: not available here -> 6A81
 * Wrong lengths 6700, unknown P1/P2 6A86 (also for 1C, spec 9 #27), unknown INS 6D00.
 */
#include <string.h>

#include "cmd.h"
#include "extras.h"
#include "hsm/err.h"
#include "hsm/port/device.h"
#include "hsm/port/system.h"
#include "hsm/version.h"

int hsm_rescue_select(hsm_cmd *c)
{
    uint8_t r[12] = {hsm_port_platform(), 0x01, HSM_APP_VERSION_MAJOR, HSM_APP_VERSION_MINOR};
    hsm_port_unique_id(r + 4);
    hsm_session_clear(c->s); /* the HSM application is unloaded */
    c->s->rescue_selected = true;
    return c->apdu->ne > 0 ? hsm_cmd_out(c, r, sizeof(r)) : HSM_OK;
}

static int write_cmd(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p1 == 0x01) {
        if (a->nc < 2) return HSM_ERR_WRONG_LENGTH;
        if (!hsm_presence_rescue()) return HSM_ERR_CONDITIONS;
        return hsm_phy_write(a->data, a->nc);
    }
    if (a->p1 != 0x02) return HSM_ERR_P1P2;
    if (a->p2 == 0x01) {
        if (a->nc != 8) return HSM_ERR_WRONG_LENGTH;
        hsm_clock_set(hsm_clock_from_tm(a->data));
        return HSM_OK;
    }
    if (a->p2 == 0x02) {
        if (a->nc != 4) return HSM_ERR_WRONG_LENGTH;
        hsm_clock_set(((int64_t)a->data[0] << 24) | ((int64_t)a->data[1] << 16) |
                      ((int64_t)a->data[2] << 8) | a->data[3]);
        return HSM_OK;
    }
    return HSM_ERR_P1P2;
}

static int read_cmd(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->nc != 0) return HSM_ERR_WRONG_LENGTH;
    switch (a->p1) {
    case 0x01: {
        uint8_t rec[HSM_PHY_MAX];
        size_t n = 0;
        int rc = hsm_phy_read(rec, sizeof(rec), &n);
        return rc == HSM_OK ? hsm_cmd_out(c, rec, n) : rc;
    }
    case 0x02: {
        uint8_t m[24];
        uint32_t fw = hsm_port_firmware_size();
        hsm_extras_memory(m);
        m[20] = (uint8_t)(fw >> 24), m[21] = (uint8_t)(fw >> 16), m[22] = (uint8_t)(fw >> 8);
        m[23] = (uint8_t)fw;
        return hsm_cmd_out(c, m, sizeof(m));
    }
    case 0x03: {
        static const uint8_t none[3] = {0x00, 0x00, 0xFF};
        return hsm_cmd_out(c, none, sizeof(none));
    }
    case 0x04: {
        int64_t t;
        if (a->p2 != 0x01 && a->p2 != 0x02) return HSM_ERR_P1P2;
        if (!hsm_clock_get(&t)) return HSM_ERR_CONDITIONS;
        if (a->p2 == 0x01) {
            uint8_t tm[8];
            hsm_clock_to_tm(t, tm);
            return hsm_cmd_out(c, tm, sizeof(tm));
        }
        const uint8_t u[4] = {(uint8_t)(t >> 24), (uint8_t)(t >> 16), (uint8_t)(t >> 8), (uint8_t)t};
        return hsm_cmd_out(c, u, sizeof(u));
    }
    default:
        return HSM_ERR_P1P2;
    }
}

static int reboot_cmd(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->nc != 0) return HSM_ERR_WRONG_LENGTH;
    if (a->p1 > 0x01) return HSM_ERR_P1P2;
    if (a->p1 == 0x01 && !hsm_presence_rescue()) return HSM_ERR_CONDITIONS;
    hsm_port_reboot(a->p1 == 0x01);
    hsm_session_clear(c->s); /* a reboot starts with no application selected */
    return HSM_OK;
}

int hsm_rescue_dispatch(hsm_cmd *c)
{
    switch (c->apdu->ins) {
    case 0x1C: return write_cmd(c);
    case 0x1E: return read_cmd(c);
    case 0x1F: return reboot_cmd(c);
    case 0x10:
    case 0x1D: return HSM_ERR_UNSUPPORTED;
    default: return HSM_ERR_INS;
    }
}
