/*
 * ids.h — the one registry of object identifiers (16-bit). Identifiers are never reused for
 * another meaning. User-visible files use the SmartCard-HSM prefixes (spec 3.1); internal
 * objects live in 10xx and are invisible to SELECT, READ, UPDATE and ENUMERATE.
 */
#ifndef HSM_IDS_H
#define HSM_IDS_H

#include <stdbool.h>
#include <stdint.h>

#define HSM_ID_DEVICE 0x1000u    /* device record: options, PIN state, wrapped MKEK (device.c) */
#define HSM_ID_XKEK_FIRST 0x1070u /* 1070 + domain (0..15): XKEK key-domain UID, public (xkek.c) */
#define HSM_ID_DKEK_FIRST 0x1090u /* 1090 + domain (0..15): KCV | DKEK sealed (dkek.c) */
#define HSM_ID_KEY_DOMAINS 0x10A0u /* key-domain table: total shares per domain (dkek.c) */
#define HSM_ID_HD_FIRST 0x10B0u  /* 10B0 + id (0..9): HD master node, sealed (hd.c) */
#define HSM_ID_PHY 0x10F8u       /* PHY record (ext. spec 3.6): USB/LED options, survives INITIALIZE */
#define HSM_ID_PKA_STATE 0x10C0u  /* public key authentication: n | m (pka.c) */
#define HSM_ID_CA_VOUCHED 0x10C8u /* CA xx files PSO verified: xx | SHA-256 of content (cmd_pso.c) */
#define HSM_ID_PKA_SLOT_FIRST 0x10D0u /* 10D0 + slot (0..7): registered 67 request content */
#define HSM_ID_LOCK_CHECK 0x10E0u  /* secure lock: SHA-256 check value of the host secret (lock.c) */
#define HSM_ID_C_DEVAUT 0x2F02u  /* EF.C_DevAut: device certificate chain */
#define HSM_ID_TOKENINFO 0x2F03u /* EF.TokenInfo, stored as OpenSC writes it */
#define HSM_ID_UNWRAP_EF 0x2F10u  /* transfer file: key blob for UNWRAP (write-only) */

#define HSM_PREFIX_KEY 0xCCu       /* private/secret key xx (not a readable file) */
#define HSM_PREFIX_PRKD 0xC4u      /* PKCS#15 private key description */
#define HSM_PREFIX_CD 0xC8u        /* PKCS#15 certificate description */
#define HSM_PREFIX_DCOD 0xC9u      /* PKCS#15 data object description */
#define HSM_PREFIX_CA_CERT 0xCAu   /* CA certificate */
#define HSM_PREFIX_PROT_DATA 0xCDu /* PIN-protected data object (encrypted at rest) */
#define HSM_PREFIX_EE_CERT 0xCEu   /* end-entity certificate / CV request of key xx */
#define HSM_PREFIX_DATA 0xCFu      /* public data object */

/* Device-lifetime objects (10F0..10FF: device key, USB configuration, ...) survive
 * INITIALIZE; everything else belongs to the initialised state and is wiped with it. */
#define HSM_ID_DEVICE_LIFETIME_FIRST 0x10F0u
#define HSM_ID_DEVKEY 0x10F0u   /* device key, sealed under the MKEK: 81 d | 82 Q (devid.c) */
#define HSM_ID_DEVCHAIN 0x10F1u /* content of EF.C_DevAut 2F02: device cert [|| DV cert] */

static inline bool hsm_id_internal(uint16_t id)
{
    return (id >> 8) == 0x10;
}

static inline bool hsm_id_survives_init(uint16_t id)
{
    return (id & 0xFFF0u) == HSM_ID_DEVICE_LIFETIME_FIRST;
}

#endif
