/*
 * cmd_derive_ec.c — DERIVE EC PRIVATE KEY (76), extensions spec 1.8.
 *
 * P1 = source EC key, P2 = destination key number (00, the device key: 6A86). Data = 98 || a
 * (big-endian scalar); empty data or a first byte other than 98 -> 6700. The new key
 * d' = (d + a) mod p is stored at P2 (keys.c); the answer is empty. Policy of the source as
 * SIGN with algorithm 98: 6A82, 6A81 (not a Weierstrass EC key, 98 not in its list), 6984
 * (counter); a scalar that cannot be read or gives no valid key -> 6984.
 */
#include "cmd.h"
#include "hsm/err.h"
#include "keys.h"

int hsm_cmd_derive_ec(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    if (a->nc < 2 || a->data[0] != 0x98) {
        return HSM_ERR_WRONG_LENGTH;
    }
    return hsm_key_derive_ec(c->s, a->p1, a->p2, a->data + 1, a->nc - 1);
}
