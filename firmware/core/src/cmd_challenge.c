/*
 * cmd_challenge.c — GET CHALLENGE (84), spec 2.16: Ne random bytes from the DRBG.
 * Le is required (6700 without it); the answer is min(Ne, response buffer) bytes. The challenge
 * is kept for public key authentication (pka.h).
 */
#include "cmd.h"
#include "hsm/err.h"
#include "hsm/rng.h"
#include "pka.h"

int hsm_cmd_get_challenge(hsm_cmd *c)
{
    if (c->apdu->p1 != 0 || c->apdu->p2 != 0) {
        return HSM_ERR_P1P2;
    }
    if (c->apdu->ne == 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    size_t n = hsm_cmd_room(c);
    int rc = hsm_rng_bytes(c->out + c->out_len, n);
    if (rc != HSM_OK) {
        return rc;
    }
    hsm_pka_on_challenge(c->s, c->out + c->out_len, n); /* arms PKA, resets its flags */
    c->out_len += n;
    return HSM_OK;
}
