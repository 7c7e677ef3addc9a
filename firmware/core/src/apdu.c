/*
 * apdu.c — command APDU parsing (ISO 7816-4:2020 section 5.1, the seven cases).
 *
 * With n = total length and B1 = buf[4]:
 *   n == 4                       case 1
 *   n == 5                       case 2S, Ne = B1 (00 -> 256)
 *   B1 != 0, n == 5 + B1         case 3S, Nc = B1
 *   B1 != 0, n == 6 + B1         case 4S, Nc = B1, Ne = last byte (00 -> 256)
 *   B1 == 0, n == 7              case 2E, Ne = B2B3 (0000 -> 65536)
 *   B1 == 0, B2B3 != 0, n == 7 + Nc      case 3E
 *   B1 == 0, B2B3 != 0, n == 9 + Nc      case 4E, Ne = last two bytes (0000 -> 65536)
 * Every other length is malformed.
 */
#include "hsm/apdu.h"

#include <string.h>

#include "hsm/err.h"

int hsm_apdu_parse(const uint8_t *buf, size_t len, hsm_apdu *out)
{
    memset(out, 0, sizeof(*out));
    if (buf == NULL || len < 4) {
        return HSM_ERR_WRONG_LENGTH;
    }
    out->cla = buf[0];
    out->ins = buf[1];
    out->p1 = buf[2];
    out->p2 = buf[3];

    if (len == 4) {
        out->iso_case = 1;
        return HSM_OK;
    }
    const size_t b1 = buf[4];
    if (len == 5) {
        out->iso_case = 2;
        out->ne = b1 ? b1 : 256u;
        return HSM_OK;
    }
    if (b1 != 0) {
        /* Short form with data. */
        if (len == 5 + b1) {
            out->iso_case = 3;
        } else if (len == 6 + b1) {
            out->iso_case = 4;
            out->ne = buf[len - 1] ? buf[len - 1] : 256u;
        } else {
            return HSM_ERR_WRONG_LENGTH;
        }
        out->data = buf + 5;
        out->nc = b1;
        return HSM_OK;
    }
    /* Extended form: B1 == 00 and at least two more length bytes. */
    if (len < 7) {
        return HSM_ERR_WRONG_LENGTH;
    }
    out->extended = true;
    const size_t b23 = ((size_t)buf[5] << 8) | buf[6];
    if (len == 7) {
        out->iso_case = 2;
        out->ne = b23 ? b23 : 65536u;
        return HSM_OK;
    }
    if (b23 == 0) {
        return HSM_ERR_WRONG_LENGTH; /* extended Lc of zero is not a valid encoding */
    }
    if (len == 7 + b23) {
        out->iso_case = 3;
    } else if (len == 9 + b23) {
        out->iso_case = 4;
        const size_t le = ((size_t)buf[len - 2] << 8) | buf[len - 1];
        out->ne = le ? le : 65536u;
    } else {
        return HSM_ERR_WRONG_LENGTH;
    }
    out->data = buf + 7;
    out->nc = b23;
    return HSM_OK;
}
