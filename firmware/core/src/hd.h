/*
 * hd.h — hierarchical deterministic keys (pico-hsm-extensions.md section 2): BIP32 / SLIP-10
 * nodes on secp256k1 and NIST P-256, SLIP-21 symmetric nodes, their derivation, the extended
 * public description ("xpub" bytes) and ECDSA with a derived node.
 *
 * A node is 65 bytes on the wire of this module and at rest: type | 32 bytes | 32 bytes.
 *   type 01 (secp256k1) / 02 (P-256): private key k, then chain code c (spec 2.2);
 *   type 03 (SLIP-21): S[0..31] (the chain, HMAC key for children), then S[32..63] (node key).
 * Masters are stored sealed (secret.h) as objects HSM_ID_HD_FIRST + id (id < HSM_HD_MASTERS);
 * plaintext node bytes exist only in the caller's hsm_hd_node, which it wipes with
 * hsm_hd_node_wipe() after use. The derived node selected for the next HD SIGN lives in the
 * session (cmd.h) and goes with it.
 */
#ifndef HSM_HD_H
#define HSM_HD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd.h"

#define HSM_HD_SECP256K1 0x01u
#define HSM_HD_P256 0x02u
#define HSM_HD_SYMMETRIC 0x03u
#define HSM_HD_MASTERS 10u
#define HSM_HD_NODE_SIZE 65u
#define HSM_HD_SEED_MAX 64u
#define HSM_HD_XPUB_SIZE 78u     /* ECDSA nodes (spec 2.5) */
#define HSM_HD_SYM_XPUB_SIZE 77u /* SLIP-21 nodes */
#define HSM_HD_ALG_SIGN 0xA0u    /* SIGN (68) algorithm byte of an HD signature (spec 2.6) */

typedef struct {
    uint8_t type;
    uint8_t a[32]; /* ECDSA: private key; SLIP-21: chain (HMAC key for children) */
    uint8_t b[32]; /* ECDSA: chain code; SLIP-21: node key */
} hsm_hd_node;

void hsm_hd_node_wipe(hsm_hd_node *n);

/* Master node of `type` from seed (spec 2.2; seeds longer than 64 bytes are truncated to 64).
 * HSM_ERR_P1P2 for an unknown type. */
int hsm_hd_master(uint8_t type, const uint8_t *seed, size_t len, hsm_hd_node *out);

/* Derives along the path elements that follow the master id (spec 2.3, 2.4): 02 04 <index>
 * for ECDSA masters, 04 <n> <label> for SLIP-21 masters. On success *node is the derived node
 * and, when xpub is not NULL, the 78/77-byte description of spec 2.5 is written there
 * (cap >= 78) with its length in *xpub_len. HSM_ERR_EXEC for any path error (spec 2.3). */
int hsm_hd_derive(hsm_hd_node *node, const uint8_t *path, size_t len, uint8_t *xpub,
                  size_t *xpub_len);

/* ECDSA on the node's curve over hash (1..64 bytes, used as given); DER signature.
 * HSM_ERR_CONDITIONS for a SLIP-21 node. */
int hsm_hd_sign(const hsm_hd_node *node, const uint8_t *hash, size_t len, uint8_t *out,
                size_t cap, size_t *out_len);

/* HD symmetric cipher (ext. spec 2.6, for CIPHER SYMMETRIC 78 P2 51/52 with the HD OID):
 * S = HMAC-SHA512(node key, label); AES-256-CBC without padding, key S[0..31], IV = iv when
 * iv_len is 16, S[32..47] when iv_len is 0. len must be a multiple of 16 (HSM_ERR_WRONG_LENGTH
 * otherwise, and for an IV of another length). HSM_ERR_DATA (6A80) for a node that is not
 * SLIP-21. out may equal in. */
int hsm_hd_cipher(const hsm_hd_node *node, bool encrypt, const uint8_t *label, size_t label_len,
                  const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len, uint8_t *out);

/* Takes the node kept by 80 4A 10 out of the session (wiping it there): HSM_OK with *n set,
 * or HSM_ERR_CONDITIONS when none is kept. The caller wipes *n. */
int hsm_hd_take_node(hsm_session *s, hsm_hd_node *n);

/* Sealed masters in the store. Saving needs open keys (HSM_ERR_EXEC otherwise, spec 2.1);
 * loading answers HSM_ERR_EXEC when the master is missing or does not authenticate. */
int hsm_hd_save_master(const hsm_session *s, uint8_t id, const hsm_hd_node *n);
int hsm_hd_load_master(const hsm_session *s, uint8_t id, hsm_hd_node *n);

#endif
