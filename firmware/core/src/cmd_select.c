/*
 * cmd_select.c — SELECT (A4), spec 2.1 and 1.3.
 *
 * P1 04: by DF name. The SmartCard-HSM AID makes the application current and clears the
 *        session (OpenSC's logout); the rescue applet's AID makes that one current (rescue.c);
 *        any other name answers 6A82 and changes nothing.
 * P1 00: by FID inside the application; the file becomes the current EF.
 * P1 08: by path from the MF; no such files exist here (only probes use it): 6A82.
 * P2 00 or 04 returns the FCP, 0C returns nothing. No Le also returns nothing (ISO case 3).
 */
#include <stdbool.h>
#include <string.h>

#include "cmd.h"
#include "device.h"
#include "files.h"
#include "hsm/err.h"
#include "hsm/tlv.h"
#include "hsm/version.h"

static const uint8_t sc_hsm_aid[] = {0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01,
                                     0x81, 0xC3, 0x1F, 0x02, 0x01};

static const uint8_t rescue_aid[] = {0xA0, 0x58, 0x3F, 0xC1, 0x9B, 0x7E, 0x4F, 0x21};

static bool want_fcp(const hsm_cmd *c)
{
    return c->apdu->p2 != 0x0C && c->apdu->ne > 0;
}

/* 62 { 82 01 38, 84 AID, 8A 01 05, 85 05 <options hi lo> FF <major> <minor> } (spec 1.3.1). */
static int app_fcp(hsm_cmd *c)
{
    uint8_t buf[40];
    hsm_tlv_writer w;
    const uint8_t desc = 0x38, lcs = 0x05;
    hsm_device d;
    uint16_t opt = hsm_device_load(&d) == HSM_OK ? d.options : 0;
    opt &= (uint16_t)~0x0004u; /* no session PIN: OpenSC must not advertise one */
    const uint8_t prop[5] = {(uint8_t)(opt >> 8), (uint8_t)opt, 0xFF, HSM_APP_VERSION_MAJOR,
                             HSM_APP_VERSION_MINOR};
    hsm_tlv_writer_init(&w, buf, sizeof(buf));
    size_t m = hsm_tlv_begin(&w, 0x62);
    hsm_tlv_put(&w, 0x82, &desc, 1);
    hsm_tlv_put(&w, 0x84, sc_hsm_aid, sizeof(sc_hsm_aid));
    hsm_tlv_put(&w, 0x8A, &lcs, 1);
    hsm_tlv_put(&w, 0x85, prop, sizeof(prop));
    hsm_tlv_end(&w, m);
    if (!hsm_tlv_writer_ok(&w)) {
        return HSM_ERR_INTERNAL;
    }
    return hsm_cmd_out(c, buf, w.len);
}

/* 62 { 81 02 <size>, 82 01 01, 83 02 <FID>, 8A 01 05 } (spec 1.3.2). */
static int ef_fcp(hsm_cmd *c, uint16_t fid, size_t size)
{
    if (size > 0xFFFF) {
        size = 0xFFFF;
    }
    const uint8_t fcp[] = {0x62, 0x0E, 0x81, 0x02, (uint8_t)(size >> 8), (uint8_t)size,
                           0x82, 0x01, 0x01, 0x83, 0x02, (uint8_t)(fid >> 8),
                           (uint8_t)fid, 0x8A, 0x01, 0x05};
    return hsm_cmd_out(c, fcp, sizeof(fcp));
}

int hsm_cmd_select(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->p2 != 0x00 && a->p2 != 0x04 && a->p2 != 0x0C) {
        return HSM_ERR_P1P2;
    }
    switch (a->p1) {
    case 0x04:
        if (a->nc == sizeof(rescue_aid) && memcmp(a->data, rescue_aid, a->nc) == 0) {
            return hsm_rescue_select(c); /* the rescue applet (ext. spec 3.9) */
        }
        if (a->nc != sizeof(sc_hsm_aid) || memcmp(a->data, sc_hsm_aid, a->nc) != 0) {
            return HSM_ERR_NOT_FOUND;
        }
        hsm_session_clear(c->s);
        c->s->app_selected = true;
        return want_fcp(c) ? app_fcp(c) : HSM_OK;
    case 0x00: {
        if (a->nc != 2) {
            return HSM_ERR_WRONG_LENGTH;
        }
        if (!c->s->app_selected) {
            return HSM_ERR_NOT_FOUND;
        }
        uint16_t fid = (uint16_t)((a->data[0] << 8) | a->data[1]);
        size_t size;
        if ((fid >> 8) == HSM_PREFIX_KEY) {
            return HSM_ERR_NOT_FOUND; /* keys are not files (spec 2.1 rule 3) */
        }
        int rc = hsm_file_size(fid, &size);
        if (rc != HSM_OK) {
            return rc;
        }
        c->s->current_ef = fid;
        return want_fcp(c) ? ef_fcp(c, fid, size) : HSM_OK;
    }
    case 0x08:
        return HSM_ERR_NOT_FOUND;
    default:
        return HSM_ERR_P1P2;
    }
}
