/*
 * err.h — the core's one error enum.
 *
 * Every core function that can fail returns an `int`: HSM_OK (0) or a negative hsm_err.
 * Command handlers return these too; they are mapped to ISO 7816 status words in exactly one
 * place, hsm_sw_from_err() (sw.c). Broken invariants (our bugs) are assertions, not errors.
 */
#ifndef HSM_ERR_H
#define HSM_ERR_H

#include <stdint.h>

typedef enum {
    HSM_OK = 0,
    HSM_ERR_WRONG_LENGTH = -1,      /* 6700 bad Lc/Le or data length */
    HSM_ERR_CLA = -2,               /* 6E00 class not supported */
    HSM_ERR_INS = -3,               /* 6D00 instruction not supported */
    HSM_ERR_P1P2 = -4,              /* 6A86 incorrect P1-P2 */
    HSM_ERR_WRONG_P1P2 = -5,        /* 6B00 wrong P1-P2 (Pico usage) */
    HSM_ERR_DATA = -6,              /* 6A80 incorrect data / malformed TLV */
    HSM_ERR_NOT_FOUND = -7,         /* 6A82 file or application not found */
    HSM_ERR_EXISTS = -8,            /* 6A89 file already exists */
    HSM_ERR_NO_SPACE = -9,          /* 6A84 not enough memory */
    HSM_ERR_REF_NOT_FOUND = -10,    /* 6A88 referenced data not found */
    HSM_ERR_SECURITY = -11,         /* 6982 security status not satisfied */
    HSM_ERR_BLOCKED = -12,          /* 6983 authentication method blocked */
    HSM_ERR_REF_UNUSABLE = -13,     /* 6984 reference data not usable */
    HSM_ERR_CONDITIONS = -14,       /* 6985 conditions of use not satisfied */
    HSM_ERR_NOT_ALLOWED = -15,      /* 6986 command not allowed */
    HSM_ERR_UNSUPPORTED = -16,      /* 6A81 function not supported */
    HSM_ERR_SM_UNSUPPORTED = -17,   /* 6882 secure messaging not supported */
    HSM_ERR_CHAINING = -18,         /* 6883 last command of chain expected */
    HSM_ERR_EXEC = -19,             /* 6400 execution error (crypto failure) */
    HSM_ERR_FLASH = -20,            /* 6581 memory failure */
    HSM_ERR_ENTROPY = -21,          /* 6400 entropy source failed its health test */
    HSM_ERR_VERIFY_FAILED = -22,    /* 63Cx with x = tries left, see hsm_sw_from_err() */
    HSM_ERR_INTERNAL = -23,         /* 6F00 no precise diagnosis */
    HSM_ERR_PRESENCE = -40,         /* 6600 press-to-confirm timed out (ext. spec 3.5) */
} hsm_err;

/* ISO 7816-4 status word for `err`; `tries` is used only by HSM_ERR_VERIFY_FAILED (0..15). */
uint16_t hsm_sw_from_err(int err, unsigned tries);

#endif
