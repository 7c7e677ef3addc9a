/*
 * cmd.h — internal: what a command handler receives, the volatile session state, and the
 * command table's row format.
 *
 * The dispatcher (card.c) guarantees before calling a handler: the CLA is acceptable, the
 * row's flags hold (applet selected, ...), and apdu->nc is within [min_nc, max_nc]. Handlers
 * write response data only through hsm_cmd_out(); `out_cap` is the response buffer's room for
 * data (the SW is added by the dispatcher). The response buffer never aliases the command.
 */
#ifndef HSM_CMD_H
#define HSM_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/apdu.h"

/* Volatile state (spec 1.6): cleared (and its secrets wiped) at power-up, reset and SELECT of
 * the application, by hsm_session_clear(). The MKEK and the object key are present exactly
 * while `keys_open`; they are only ever in RAM. */
typedef struct hsm_session_s {
    bool app_selected;    /* the SmartCard-HSM application is the current one */
    uint16_t current_ef;  /* FID of the current EF, 0 = none */
    bool user_verified;   /* user PIN verified in this session */
    bool so_verified;     /* SO-PIN verified in this session */
    bool keys_open;       /* mkek and objkey are valid */
    uint8_t mkek[32];     /* master key-encryption key, recovered from a PIN */
    uint8_t objkey[32];   /* AES-256-GCM key for objects at rest, derived from the MKEK */
    bool rescue_selected; /* the rescue applet is the current one (rescue.c) */
    uint8_t hd_type;      /* HD node kept for the next HD SIGN (ext. spec 2.6); 0 = none */
    uint8_t hd_node[64];  /* its 64 secret bytes (hd.h layout), wiped when used */
    uint8_t verifier_len; /* MSE SET DST (22 81 B6): CHR of the current verification key, */
    char verifier[16];    /* 0 = none (cmd_pso.c) */
    /* Public key authentication (pka.h): RAM-only, cleared with the session. */
    uint8_t pka_selected;   /* MSE SET AT 83: slot + 1 of the selected key, 0 = none */
    uint8_t pka_flags;      /* bit i: slot i authenticated against the current challenge */
    bool pka_ok;            /* m of n holders authenticated (or INITIALIZE in this session) */
    uint16_t challenge_len; /* GET CHALLENGE kept for EXTERNAL AUTHENTICATE, 0 = none */
    uint8_t challenge[256];
    /* Secure lock (lock.h). `mkek` then holds W, the value the PIN wraps hold (W = MKEK when
     * unlocked, MKEK xor host secret when locked); the object key is always from the MKEK. */
    bool mkek_held;         /* mkek is W of a verified PIN, even while keys stay closed */
    bool lock_mask_set;     /* 3A 03 delivered the host secret in this session */
    uint8_t lock_mask[32];
    bool kek_user_set, kek_so_set; /* PIN KEKs of this session's VERIFYs: lock enable/disable */
    uint8_t kek_user[32], kek_so[32]; /* re-wrap W under both PINs without the PINs */
} hsm_session;

void hsm_session_clear(hsm_session *s);
/* Makes the MKEK (and the object key derived from it) available to this session. */
int hsm_session_open_keys(hsm_session *s, const uint8_t mkek[32]);
/* Marks PIN role (81 user, 88 SO) verified and opens the keys with mkek, the value the PIN
 * wrap held (caller wipes it); while the secure lock is on they open only with the session's
 * host secret (lock.h). */
int hsm_session_grant(hsm_session *s, uint8_t role, const uint8_t mkek[32]);
/* Drops one role's verification; the keys are wiped when no role stays verified. */
void hsm_session_drop(hsm_session *s, uint8_t role);

typedef struct {
    const hsm_apdu *apdu;
    hsm_session *s;
    uint8_t *out;
    size_t out_cap;
    size_t out_len;
    unsigned tries; /* tries left, for HSM_ERR_VERIFY_FAILED */
    uint16_t sw_ok; /* a success SW other than 9000 (e.g. 9001 of MANAGE PKA), 0 = 9000 */
    struct hsm_sm_s *sm; /* the secure-messaging channel (sm.h), owned by card.c */
    bool secure;         /* this command arrived protected inside that channel */
} hsm_cmd;

typedef int (*hsm_handler)(hsm_cmd *c);

enum {
    HSM_CMD_APP = 1u << 0,  /* only while the SmartCard-HSM application is selected */
    HSM_CMD_USER = 1u << 1, /* only after the user PIN was verified in this session (6982) */
    HSM_CMD_PRESENCE = 1u << 2, /* waits for the user when press-to-confirm is on (presence.c) */
};

typedef struct {
    uint8_t ins;
    uint8_t flags;
    uint16_t min_nc;
    uint32_t max_nc;
    hsm_handler fn;
} hsm_cmd_row;

/* Appends response data; HSM_ERR_WRONG_LENGTH if it does not fit (Ne or the buffer). */
int hsm_cmd_out(hsm_cmd *c, const void *data, size_t len);
/* Room left for response data. */
size_t hsm_cmd_room(const hsm_cmd *c);

/* Handlers (one file each). */
int hsm_cmd_select(hsm_cmd *c);
int hsm_cmd_get_challenge(hsm_cmd *c);
int hsm_cmd_read_binary(hsm_cmd *c);
int hsm_cmd_enumerate_objects(hsm_cmd *c);
int hsm_cmd_verify(hsm_cmd *c);
int hsm_cmd_change_reference_data(hsm_cmd *c);
int hsm_cmd_reset_retry_counter(hsm_cmd *c);
int hsm_cmd_initialize(hsm_cmd *c);
int hsm_cmd_update_binary(hsm_cmd *c);
int hsm_cmd_delete_file(hsm_cmd *c);
int hsm_cmd_generate_keypair(hsm_cmd *c);
int hsm_cmd_sign(hsm_cmd *c);
int hsm_cmd_decipher(hsm_cmd *c);
int hsm_cmd_key_domain(hsm_cmd *c);
int hsm_cmd_wrap_key(hsm_cmd *c);
int hsm_cmd_unwrap_key(hsm_cmd *c);
int hsm_cmd_hd(hsm_cmd *c);
int hsm_cmd_hd_sign(hsm_cmd *c);
int hsm_cmd_extras(hsm_cmd *c);
/* The rescue applet (rescue.c): its SELECT answer and its own command set. */
int hsm_rescue_select(hsm_cmd *c);
int hsm_rescue_dispatch(hsm_cmd *c);
int hsm_cmd_generate_sym(hsm_cmd *c);
int hsm_cmd_cipher_sym(hsm_cmd *c);
int hsm_cmd_derive_ec(hsm_cmd *c);
int hsm_cmd_mse(hsm_cmd *c);
int hsm_cmd_pso(hsm_cmd *c);
int hsm_cmd_manage_pka(hsm_cmd *c);
int hsm_cmd_external_authenticate(hsm_cmd *c);
/* Secure messaging and the session PIN (cmd_sm.c, ext. spec 5.7, 4.6). */
int hsm_cmd_general_authenticate(hsm_cmd *c);
int hsm_cmd_session_pin(hsm_cmd *c);
/* MSE SET AT for chip authentication (22 41 A4), called by hsm_cmd_mse(). */
int hsm_sm_mse_set_at(hsm_cmd *c);
/* VERIFY of the user PIN received inside a channel that holds a session PIN: 1 when handled
 * here (the result in *rc), 0 when VERIFY goes to the ordinary handler. */
int hsm_sm_verify_session_pin(hsm_cmd *c, int *rc);

#endif
