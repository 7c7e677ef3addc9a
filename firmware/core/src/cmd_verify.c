/*
 * cmd_verify.c — VERIFY (20), spec 2.6, for a device that has not been initialised: no PIN
 * exists yet, so every reference answers 6A88 ("referenced data not found"), which OpenSC reads
 * as "never initialised" for 81/88 and as "no PIN pad" for the biometric probes 85/86.
 * P1 must be 00 (6B00 otherwise, as Pico HSM answers).
 */
#include "cmd.h"
#include "hsm/err.h"

int hsm_cmd_verify(hsm_cmd *c)
{
    if (c->apdu->p1 != 0x00) {
        return HSM_ERR_WRONG_P1P2;
    }
    return HSM_ERR_REF_NOT_FOUND;
}
