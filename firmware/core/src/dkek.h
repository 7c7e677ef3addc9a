/*
 * dkek.h — Device Key Encryption Keys (core spec 4.1) and key domains (extensions spec 4.1,
 * 4.2): share import, the domain table, and the keys a key blob is made with.
 *
 * What persists where:
 *   - Shares are XOR-accumulated in RAM only (a static of dkek.c). That RAM is not touched by
 *     SELECT, card reset or power-off over the reader; it is lost on a process/chip restart
 *     and cleared by INITIALIZE (hsm_dkek_on_initialize). No share and no partial DKEK is
 *     ever written to flash.
 *   - A complete DKEK is sealed under the session's object key (secret.h, AAD = its object id)
 *     and stored as object 1090 + domain = KCV (8, in clear: SHA-256(DKEK)[0..7] is public
 *     through the status answer anyway) | sealed DKEK. IMPORT DKEK SHARE needs no PIN, so a
 *     DKEK completed without open keys stays pending in RAM until the next time a PIN opens
 *     the keys (hsm_dkek_flush, called from hsm_session_grant: VERIFY, CHANGE REFERENCE DATA,
 *     RESET RETRY COUNTER, INITIALIZE).
 *   - Power loss: shares imported without a PIN and not yet sealed are lost. The status then
 *     reports them missing again, so the custodians re-import them — consistent, nothing
 *     half-stored. The same holds for the random DKEK of INITIALIZE 92 = 0 on a device with a
 *     transport PIN (the status then shows 1 share missing).
 *   - The domain table is object 10A0: one byte per domain = total shares (FF: domain not
 *     created, 00: no DKEK); its length is the number of domains. While absent it is derived
 *     from the device record: key domains kk (tag 97) -> kk domains, all FF; otherwise one
 *     domain with tag 92 shares (absent -> 0; 0 -> 1, a random DKEK generated at INITIALIZE).
 *   All of these are internal 10xx objects, wiped by INITIALIZE.
 */
#ifndef HSM_DKEK_H
#define HSM_DKEK_H

#include <stdint.h>

#include "cmd.h"
#include "device.h"

#define HSM_DKEK_DOMAINS 16u
#define HSM_DKEK_SIZE 32u
#define HSM_DKEK_KCV_SIZE 8u
#define HSM_DKEK_STATUS_SIZE 10u
#define HSM_DKEK_NOT_CREATED 0xFFu

/* Forgets every share and pending DKEK; with d, starts the new device's DKEK state (the random
 * DKEK of 92 = 0 is made pending here and sealed when INITIALIZE opens the keys). */
int hsm_dkek_on_initialize(const hsm_device *d);

/* Seals and stores every pending DKEK; nothing to do without open keys. A failure leaves the
 * DKEK pending (it is retried at the next call). */
int hsm_dkek_flush(const hsm_session *s);
/* Wipes the shares held in RAM for every domain (power off). */
void hsm_dkek_forget_ram(void);

/* Status answer (total, missing, KCV) of domain. HSM_ERR_WRONG_P1P2 for domain >= 16,
 * HSM_ERR_P1P2 beyond the table, HSM_ERR_REF_NOT_FOUND for a domain not created or a device
 * never initialised. */
int hsm_dkek_status(const hsm_session *s, uint8_t domain, uint8_t out[HSM_DKEK_STATUS_SIZE]);

/* XORs one share into domain's accumulator. HSM_ERR_NOT_ALLOWED when no share is expected
 * (no DKEK configured, domain not created, or all imported); other errors as the status. */
int hsm_dkek_import_share(const hsm_session *s, uint8_t domain, const uint8_t share[32]);

/* Key-domain management (extensions spec 4.2). create: HSM_ERR_P1P2 when the domain exists;
 * delete: HSM_ERR_EXISTS while a key references the domain; clear: forgets the DKEK. */
int hsm_dkek_create_domain(uint8_t domain, uint8_t shares);
int hsm_dkek_delete_domain(const hsm_session *s, uint8_t domain);
int hsm_dkek_clear(const hsm_session *s, uint8_t domain);

/* Kenc = SHA-256(DKEK | 00000001), Kmac = SHA-256(DKEK | 00000002) and the KCV of domain's
 * complete DKEK. HSM_ERR_REF_NOT_FOUND when the domain has no complete DKEK. Needs open keys;
 * the caller wipes kenc and kmac. */
int hsm_dkek_expose_keys(const hsm_session *s, uint8_t domain, uint8_t kcv[8], uint8_t kenc[32],
                         uint8_t kmac[32]);

/* The domain whose complete DKEK has this KCV. HSM_ERR_DATA when none matches,
 * HSM_ERR_REF_NOT_FOUND when no domain has a complete DKEK. */
int hsm_dkek_find_kcv(const hsm_session *s, const uint8_t kcv[8], uint8_t *domain);

/* ---- for XKEK domains (xkek.h) ----------------------------------------------------------- */

/* The domain's byte of the table (HSM_DKEK_NOT_CREATED for FF); the errors of the status. */
int hsm_dkek_table_total(uint8_t domain, uint8_t *total);

/* The KCV of domain's stored DKEK; HSM_ERR_NOT_FOUND when none is stored. */
int hsm_dkek_stored_kcv(uint8_t domain, uint8_t kcv[8]);

/* Forgets domain's DKEK (stored record and RAM state), whatever the table says. */
int hsm_dkek_forget(uint8_t domain);

/* Seals dkek under the session's keys as domain's DKEK record (replacing any), KCV computed
 * here. HSM_ERR_SECURITY without open keys. The caller wipes dkek. */
int hsm_dkek_store(const hsm_session *s, uint8_t domain, const uint8_t dkek[32]);

#endif
