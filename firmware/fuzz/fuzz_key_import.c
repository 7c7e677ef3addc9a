/*
 * fuzz_key_import.c — libFuzzer target over the decoder of a decrypted key blob body
 * (hsm_key_import), the part of UNWRAP that runs after the CMAC check. Anyone who holds the
 * DKEK shares can produce a blob with a valid MAC, so this decoder faces untrusted input.
 * Input: 1 byte selecting the blob type (RSA 05, RSA CRT 06, EC 0C, AES/secret 0F), 1 byte of algorithm-list
 * length, then the body. A key that imports must be usable: a signature is attempted (and
 * allowed to fail cleanly), then the key is deleted so every run starts from the same store.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "hsm/card.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "keys.h"
#include "ram_port.h"

/* An imported secret must come back with a length the AES and HMAC code can take. */
static int use_secret(void *ctx, const uint8_t *secret, size_t len)
{
    (void)ctx;
    if (secret == NULL || len == 0 || len > 64) {
        abort();
    }
    return HSM_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hsm_session s;
    static int ready;
    if (!ready) {
        ram_port_reset(NULL);
        if (hsm_card_init() != HSM_OK) {
            abort();
        }
        const uint8_t mkek[32] = {7};
        if (hsm_session_open_keys(&s, mkek) != HSM_OK) {
            abort();
        }
        ready = 1;
    }
    if (size < 2) {
        return 0;
    }
    static const uint8_t types[] = {0x05, 0x06, 0x0C, HSM_BLOB_AES};
    uint8_t type = types[data[0] % 4];
    size_t nalgs = data[1] % 4;
    if (size - 2 < nalgs) {
        return 0;
    }
    const uint8_t *algs = data + 2;
    const uint8_t *body = data + 2 + nalgs;
    size_t len = size - 2 - nalgs;
    if (hsm_key_import(&s, 0x01, type, body, len, 0, algs, nalgs) == HSM_OK) {
        static uint8_t sig[600];
        size_t n;
        uint8_t hash[32] = {1};
        if (type == HSM_BLOB_AES) {
            (void)hsm_key_expose_secret(&s, 0x01, 0x18, use_secret, NULL);
        } else {
            (void)hsm_key_sign(&s, 0x01, type == 0x0C ? 0x70 : 0x40, hash, sizeof(hash), sig,
                               sizeof(sig), &n);
        }
        if (hsm_store_delete(0xCC01) != HSM_OK) {
            abort();
        }
    }
    return 0;
}
