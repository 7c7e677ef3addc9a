/*
 * sw.c — the one place where internal errors become ISO 7816-4 status words.
 */
#include "hsm/err.h"

uint16_t hsm_sw_from_err(int err, unsigned tries)
{
    switch (err) {
    case HSM_OK: return 0x9000;
    case HSM_ERR_WRONG_LENGTH: return 0x6700;
    case HSM_ERR_CLA: return 0x6E00;
    case HSM_ERR_INS: return 0x6D00;
    case HSM_ERR_P1P2: return 0x6A86;
    case HSM_ERR_WRONG_P1P2: return 0x6B00;
    case HSM_ERR_DATA: return 0x6A80;
    case HSM_ERR_NOT_FOUND: return 0x6A82;
    case HSM_ERR_EXISTS: return 0x6A89;
    case HSM_ERR_NO_SPACE: return 0x6A84;
    case HSM_ERR_REF_NOT_FOUND: return 0x6A88;
    case HSM_ERR_SECURITY: return 0x6982;
    case HSM_ERR_BLOCKED: return 0x6983;
    case HSM_ERR_REF_UNUSABLE: return 0x6984;
    case HSM_ERR_CONDITIONS: return 0x6985;
    case HSM_ERR_NOT_ALLOWED: return 0x6986;
    case HSM_ERR_UNSUPPORTED: return 0x6A81;
    case HSM_ERR_SM_UNSUPPORTED: return 0x6882;
    case HSM_ERR_CHAINING: return 0x6883;
    case HSM_ERR_EXEC: return 0x6400;
    case HSM_ERR_FLASH: return 0x6581;
    case HSM_ERR_ENTROPY: return 0x6400;
    case HSM_ERR_PRESENCE: return 0x6600;
    case HSM_ERR_VERIFY_FAILED: return (uint16_t)(0x63C0 | (tries > 15 ? 15 : tries));
    default: return 0x6F00;
    }
}
