/*
 * card.c — the card: ATR, volatile state, and the one table-driven command dispatcher.
 *
 * Order of checks for every APDU (each failure is one status word, never a crash):
 *   1. length encoding (apdu.c)                     -> 6700
 *   2. CLA: 00 or 80; 0C or 8C -> secure messaging (below); other SM bits -> 6882; else 6E00
 *   3. INS in the table                             -> 6D00
 *   4. row flags: application selected              -> 6D00 (no application answers it)
 *                 user PIN verified (and, with PKA, m of n holders) -> 6982
 *   5. Nc within the row's bounds                   -> 6700
 *   6. press-to-confirm for rows that use a private key, when the option is on -> 6600
 *   7. the handler; its error mapped by hsm_sw_from_err() (sw.c)
 * While the rescue applet is selected, everything but SELECT goes to rescue.c (CLA 80 only).
 * Response data is kept only when the handler succeeded.
 *
 * Secure messaging (sm.h, ext. spec 5.7) is handled here, in one place, around the same
 * dispatcher: a protected APDU is unwrapped (6984 and the channel closed on any failure, SSC
 * counted), its plain form dispatched with `secure` set, and the answer wrapped (99 carries the
 * real status word, the outer one is 9000). A plain APDU while a channel is open closes the
 * channel first (ICAO 9303: an unprotected APDU aborts secure messaging) and is then processed
 * as usual, so nothing requires SM; a login made with the session PIN ends with its channel.
 */
#include "hsm/card.h"

#include <string.h>

#include "cmd.h"
#include "dkek.h"
#include "extras.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "ids.h"
#include "mbedtls/platform_util.h"
#include "pin.h"
#include "pka.h"
#include "sm.h"

/* The standard SmartCard-HSM contact ATR (spec 1.1); OpenSC accepts it without an APDU. */
static const uint8_t atr[] = {0x3B, 0xFE, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45,
                              0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4D, 0x31, 0x73,
                              0x80, 0x21, 0x40, 0x81, 0x07, 0xFA};

static const hsm_cmd_row table[] = {
    /* ins   flags        min_nc max_nc  handler */
    {0xA4, 0, 0, 255, hsm_cmd_select},
    {0x84, 0, 0, 0, hsm_cmd_get_challenge},
    {0xB1, HSM_CMD_APP, 0, 8, hsm_cmd_read_binary},
    {0xB0, HSM_CMD_APP, 0, 0, hsm_cmd_read_binary},
    {0x58, HSM_CMD_APP, 0, 0, hsm_cmd_enumerate_objects},
    {0x20, HSM_CMD_APP, 0, 255, hsm_cmd_verify},
    {0x24, HSM_CMD_APP, 0, 255, hsm_cmd_change_reference_data},
    {0x2C, HSM_CMD_APP, 0, 255, hsm_cmd_reset_retry_counter},
    {0x50, HSM_CMD_APP, 0, 1024, hsm_cmd_initialize},
    {0xD7, HSM_CMD_APP | HSM_CMD_USER, 1, 65535, hsm_cmd_update_binary},
    {0xE4, HSM_CMD_APP | HSM_CMD_USER, 0, 2, hsm_cmd_delete_file},
    {0x46, HSM_CMD_APP | HSM_CMD_USER, 1, 2048, hsm_cmd_generate_keypair},
    {0x68, HSM_CMD_APP | HSM_CMD_USER | HSM_CMD_PRESENCE, 1, 65535, hsm_cmd_sign},
    {0x62, HSM_CMD_APP | HSM_CMD_USER | HSM_CMD_PRESENCE, 1, 1024, hsm_cmd_decipher},
    {0x52, HSM_CMD_APP, 0, 1024, hsm_cmd_key_domain},
    {0x72, HSM_CMD_APP | HSM_CMD_USER | HSM_CMD_PRESENCE, 0, 0, hsm_cmd_wrap_key},
    {0x74, HSM_CMD_APP | HSM_CMD_USER, 0, 65535, hsm_cmd_unwrap_key},
    /* Pico HSM extensions: HD keys (ext. spec 2), EXTRAS (3.1; it checks PIN and presence
     * itself, in the spec's order). */
    {0x4A, HSM_CMD_APP, 0, 1024, hsm_cmd_hd},
    {0x64, HSM_CMD_APP, 0, 255, hsm_cmd_extras},
    /* Symmetric keys, CIPHER SYMMETRIC and EC derivation (ext. spec 1). */
    {0x48, HSM_CMD_APP | HSM_CMD_USER, 0, 1024, hsm_cmd_generate_sym},
    {0x78, HSM_CMD_APP | HSM_CMD_USER | HSM_CMD_PRESENCE, 0, 65535, hsm_cmd_cipher_sym},
    {0x76, HSM_CMD_APP | HSM_CMD_USER | HSM_CMD_PRESENCE, 1, 65535, hsm_cmd_derive_ec},
    {0x22, HSM_CMD_APP, 0, 255, hsm_cmd_mse},
    {0x2A, HSM_CMD_APP, 0, 1024, hsm_cmd_pso},
    {0x54, HSM_CMD_APP, 0, 2048, hsm_cmd_manage_pka},
    {0x82, HSM_CMD_APP, 0, 1024, hsm_cmd_external_authenticate},
    {0x86, HSM_CMD_APP, 0, 255, hsm_cmd_general_authenticate},
    {0x5A, HSM_CMD_APP, 0, 0, hsm_cmd_session_pin},
};

static hsm_session session;
static hsm_sm channel;
static bool initialised;

int hsm_card_init(void)
{
    if (initialised) {
        return HSM_OK;
    }
    int rc = hsm_store_mount(hsm_id_survives_init);
    if (rc != HSM_OK) {
        return rc;
    }
    rc = hsm_devid_init();
    if (rc != HSM_OK) {
        return rc;
    }
    hsm_session_clear(&session);
    initialised = true;
    return HSM_OK;
}

size_t hsm_card_atr(const uint8_t **p)
{
    *p = atr;
    return sizeof(atr);
}

void hsm_card_power_off(void)
{
    hsm_session_clear(&session);
    hsm_dkek_forget_ram();
    hsm_devid_forget();
    hsm_clock_forget();
    initialised = false;
}

void hsm_card_reset(void)
{
    hsm_sm_close(&channel);
    hsm_session_clear(&session);
}

/* Ends the channel; a user verification that the session PIN gave ends with it. */
static void close_channel(bool spin_login)
{
    if (spin_login) {
        hsm_session_drop(&session, HSM_PIN_ROLE_USER);
    }
    hsm_sm_close(&channel);
}

int hsm_cmd_out(hsm_cmd *c, const void *data, size_t len)
{
    if (len > c->out_cap - c->out_len) {
        return HSM_ERR_WRONG_LENGTH;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return HSM_OK;
}

size_t hsm_cmd_room(const hsm_cmd *c)
{
    return c->out_cap - c->out_len;
}

static int check_cla(uint8_t cla)
{
    if (cla == 0x00 || cla == 0x80) {
        return HSM_OK;
    }
    if (cla != 0xFF && (cla & 0x0C) != 0 && (cla & 0x60) == 0) {
        return HSM_ERR_SM_UNSUPPORTED; /* ISO interindustry class with secure messaging */
    }
    return HSM_ERR_CLA;
}

static int dispatch(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (c->s->rescue_selected && a->ins != 0xA4) {
        return a->cla == 0x80 ? hsm_rescue_dispatch(c) : HSM_ERR_CLA;
    }
    int rc = check_cla(a->cla);
    if (rc != HSM_OK) {
        return rc;
    }
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        const hsm_cmd_row *row = &table[i];
        if (row->ins != a->ins) {
            continue;
        }
        if ((row->flags & HSM_CMD_APP) && !c->s->app_selected) {
            return HSM_ERR_INS;
        }
        /* Key use needs the PIN (the MKEK) and, while PKA is configured, m of n holders. */
        if ((row->flags & HSM_CMD_USER) && (!c->s->user_verified || !hsm_pka_satisfied(c->s))) {
            return HSM_ERR_SECURITY;
        }
        if (a->nc < row->min_nc || a->nc > row->max_nc) {
            return HSM_ERR_WRONG_LENGTH;
        }
        if (row->flags & HSM_CMD_PRESENCE) {
            rc = hsm_presence_confirm();
            if (rc != HSM_OK) {
                return rc;
            }
        }
        return row->fn(c);
    }
    return HSM_ERR_INS;
}

static size_t put_sw(uint8_t *resp, size_t n, uint16_t sw)
{
    resp[n] = (uint8_t)(sw >> 8);
    resp[n + 1] = (uint8_t)sw;
    return n + 2;
}

/* A protected APDU: unwrap, dispatch the plain command, wrap its answer. */
static size_t secure_apdu(const hsm_apdu *outer, uint8_t *resp, size_t resp_cap)
{
    static uint8_t plain[HSM_SM_DATA_MAX + 16]; /* plain command data; wiped after each use */
    hsm_apdu in;
    hsm_cmd c = {.apdu = &in, .s = &session, .out = resp, .sm = &channel, .secure = true};
    size_t room = resp_cap - 2, len = 0;
    int rc;

    if (outer->ne > 0 && outer->ne < room) {
        room = outer->ne;
    }
    bool spin_login = channel.spin_login;
    if (hsm_sm_unwrap(&channel, outer, plain, sizeof(plain), &in) != HSM_OK) {
        close_channel(spin_login);
        return put_sw(resp, 0, hsm_sw_from_err(HSM_ERR_REF_UNUSABLE, 0));
    }
    c.out_cap = hsm_sm_room(room);
    if (in.ne < c.out_cap) {
        c.out_cap = in.ne;
    }
    if (!hsm_sm_verify_session_pin(&c, &rc)) {
        rc = dispatch(&c);
    }
    if (in.ins == 0x50 && rc == HSM_OK) {
        hsm_sm_forget_session_pin(&channel); /* INITIALIZE: the MKEK copy is stale */
    }
    mbedtls_platform_zeroize(plain, sizeof(plain));
    size_t n = rc == HSM_OK ? c.out_len : 0;
    uint16_t sw = hsm_sw_from_err(rc, c.tries);
    if (!channel.open) {
        return put_sw(resp, 0, sw); /* the command closed the channel (a new GA cannot: 6985) */
    }
    spin_login = channel.spin_login;
    if (hsm_sm_wrap(&channel, resp, n, room, sw, &len) != HSM_OK) {
        close_channel(spin_login);
        return put_sw(resp, 0, hsm_sw_from_err(HSM_ERR_WRONG_LENGTH, 0));
    }
    return put_sw(resp, len, 0x9000);
}

size_t hsm_card_apdu(const uint8_t *cmd, size_t cmd_len, uint8_t *resp, size_t resp_cap)
{
    hsm_apdu a;
    hsm_cmd c = {.apdu = &a, .s = &session, .out = resp, .out_cap = 0, .out_len = 0,
                 .sm = &channel, .secure = false};
    int rc = HSM_ERR_INTERNAL;

    if (resp == NULL || resp_cap < 2) {
        return 0; /* a transport bug; nothing can be answered */
    }
    if (!initialised) {
        rc = HSM_ERR_INTERNAL;
    } else if ((rc = hsm_apdu_parse(cmd, cmd_len, &a)) == HSM_OK && hsm_sm_is_protected(a.cla)) {
        return secure_apdu(&a, resp, resp_cap);
    } else if (rc == HSM_OK) {
        if (channel.open) {
            close_channel(channel.spin_login);
        }
        size_t room = resp_cap - 2;
        c.out_cap = a.ne < room ? a.ne : room;
        rc = dispatch(&c);
    }
    size_t n = rc == HSM_OK ? c.out_len : 0;
    uint16_t sw = rc == HSM_OK && c.sw_ok != 0 ? c.sw_ok : hsm_sw_from_err(rc, c.tries);
    resp[n] = (uint8_t)(sw >> 8);
    resp[n + 1] = (uint8_t)sw;
    return n + 2;
}
