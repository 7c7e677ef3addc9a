/*
 * cmd_pso.c — the CV certificate trust store: MSE SET DST (22) selects a verification key,
 * PSO VERIFY CERTIFICATE (2A) checks a certificate with it and trusts it (ext. spec 5.5).
 *
 * Trust store (rebuilt for every command from what is stored, so there is no state to keep
 * consistent): every certificate of EF.C_DevAut (2F02: device cert, then DV cert after
 * enrolment), then those files CA00..CAFD, in order, that PSO itself stored; at most TRUST_MAX
 * entries, more are ignored. Names compare exactly (CHR against the requested reference).
 *
 * Which CA xx files PSO stored: UPDATE BINARY may write any CA xx with the user PIN (OpenSC
 * keeps X.509 CA certificates there), so a CV certificate found in CA xx proves nothing by
 * itself. The internal object HSM_ID_CA_VOUCHED lists one entry per file PSO verified and
 * stored: xx | SHA-256 of the file's exact content (at most TRUST_MAX entries). A CA xx file is
 * trusted only while its slot has an entry and its content hashes to it. Invariants:
 *   - trust is granted last: PSO writes CA xx, then the entry (then the description C8xx, which
 *     is cosmetic). A power cut between leaves a CA file without an entry: untrusted, fail
 *     closed; the next PSO of the certificate stores it again in another slot.
 *   - trust is withdrawn first: UPDATE BINARY and DELETE FILE of CA xx remove xx's entry before
 *     the file changes (hsm_trust_forget, from files.c); a cut between leaves the file
 *     untrusted. So deleted or rewritten bytes never become trusted again by being written
 *     back with the user PIN. Entries whose file is gone are dropped at the next change.
 *   - INITIALIZE wipes the list with everything else of the initialised state (10C8 is not a
 *     device-lifetime id): no PSO-loaded certificate survives a re-initialisation.
 *
 * The device has no clock. As TR-03110 terminals do for the chip, the "current date" is the
 * latest effective date (5F25) among trusted certificates: a presented certificate whose
 * expiry (5F24) is before it is expired. A certificate's key without domain parameters (only
 * 06 and 86, as CA-issued device certificates carry) takes its curve from its issuer, found
 * by CAR among the trusted certificates.
 *
 * MSE SET: P1 bit 1 (SET) required, P2 one of A4 A6 AA B4 B6 B8 (else 6A86); only B6 (DST)
 * with 83 <CAR> has an effect: found -> 9000, the key is current until the next MSE or SELECT;
 * not found -> 6A88 and no key is current. AT (A4) with 83 <CHR> selects a registered PKA key
 * (pka.h). Other templates: 6A88 (nothing to select).
 * PSO: P1 00, P2 92/AE/BE (6A86); data = 7F21 certificate, with or without its 7F21 header.
 * No data 6700; no current key 6A88; malformed, or longer than CERT_MAX with its 7F21 header
 * 6984; CAR not the current key, signature wrong or expired 6985; trust store full 6A84. A
 * verified certificate is stored as CAxx (the first free xx) with a PKCS#15 description C8xx;
 * one already trusted (same CHR) is not stored again.
 *
 * Static buffers (this file, one command at a time): `pool` holds CAxx contents while the
 * store is built, `wrapped` a certificate sent without its 7F21 header.
 */
#include <string.h>

#include "cmd.h"
#include "hsm/cvc.h"
#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "hsm/tlv.h"
#include "ids.h"
#include "mbedtls/constant_time.h"
#include "mbedtls/sha1.h"
#include "mbedtls/sha256.h"
#include "pka.h"
#include "trust.h"

#define TRUST_MAX 4u
#define CERT_MAX 1024u
/* The device certificate of 2F02 takes an entry whenever PSO can store (it is the root of every
 * verifier), so at most TRUST_MAX - 1 CA files of at most CERT_MAX bytes each are loaded. */
#define POOL_SIZE ((TRUST_MAX - 1u) * CERT_MAX)
#define CA_LAST 0xFDu
#define ENTRY 33u /* HSM_ID_CA_VOUCHED entry: xx | SHA-256 */
#define LIST_MAX (TRUST_MAX * ENTRY)

typedef struct {
    hsm_cvc_cert c[TRUST_MAX];
    size_t n;
    bool more; /* certificates beyond TRUST_MAX exist */
} trust;

static uint8_t pool[POOL_SIZE];
static uint8_t wrapped[CERT_MAX + 8];

static bool name_eq(const hsm_tlv *t, const void *name, size_t len)
{
    return t->len == len && memcmp(t->value, name, len) == 0;
}

static uint16_t ca_id(uint8_t xx)
{
    return (uint16_t)((HSM_PREFIX_CA_CERT << 8) | xx);
}

/* The vouched list, whole entries only; absent = empty. On an error, *n = 0 too. */
static int list_read(uint8_t list[LIST_MAX], size_t *n)
{
    int rc = hsm_store_read(HSM_ID_CA_VOUCHED, 0, list, LIST_MAX, n);
    if (rc != HSM_OK) {
        *n = 0;
        return rc == HSM_ERR_NOT_FOUND ? HSM_OK : rc;
    }
    *n -= *n % ENTRY;
    return HSM_OK;
}

/* Keeps the entries of other slots than xx whose file still exists; returns the new length. */
static size_t list_prune(uint8_t *list, size_t n, uint8_t xx)
{
    size_t k = 0, size;
    for (size_t i = 0; i < n; i += ENTRY) {
        if (list[i] != xx && hsm_store_size(ca_id(list[i]), &size) == HSM_OK) {
            memmove(list + k, list + i, ENTRY);
            k += ENTRY;
        }
    }
    return k;
}

static const uint8_t *entry_of(const uint8_t *list, size_t n, uint8_t xx)
{
    for (size_t i = 0; i < n; i += ENTRY) {
        if (list[i] == xx) {
            return list + i;
        }
    }
    return NULL;
}

/* Whether content is what PSO stored under entry e (the digests compare in constant time). */
static bool vouched(const uint8_t *e, const uint8_t *content, size_t len)
{
    uint8_t h[32];
    return mbedtls_sha256(content, len, h, 0) == 0 && mbedtls_ct_memcmp(h, e + 1, sizeof(h)) == 0;
}

static void add(trust *t, const hsm_cvc_cert *c)
{
    if (t->n < TRUST_MAX) {
        t->c[t->n++] = *c;
    } else {
        t->more = true;
    }
}

static int trust_load(trust *t)
{
    const uint8_t *chain;
    uint8_t list[LIST_MAX];
    size_t len, used, pooled = 0, ln;
    hsm_cvc_cert c;

    memset(t, 0, sizeof(*t));
    if (hsm_devid_c_devaut(&chain, &len) == HSM_OK) {
        for (size_t off = 0; off < len && hsm_cvc_parse(chain + off, len - off, &c, &used) == HSM_OK;
             off += used) {
            add(t, &c);
        }
    }
    (void)list_read(list, &ln); /* unreadable: empty, no CA file is trusted (fail closed) */
    for (unsigned xx = 0; xx <= CA_LAST; xx++) {
        uint16_t id = ca_id((uint8_t)xx);
        const uint8_t *e = entry_of(list, ln, (uint8_t)xx);
        size_t n;
        if (e == NULL || hsm_store_size(id, &n) != HSM_OK) {
            continue;
        }
        if (t->n == TRUST_MAX) {
            t->more = true;
            break;
        }
        if (n > POOL_SIZE - pooled || hsm_store_read(id, 0, pool + pooled, n, &n) != HSM_OK ||
            !vouched(e, pool + pooled, n)) {
            continue;
        }
        if (hsm_cvc_parse(pool + pooled, n, &c, &used) == HSM_OK) {
            add(t, &c);
            pooled += n;
        }
    }
    return HSM_OK;
}

static const hsm_cvc_cert *find(const trust *t, const void *name, size_t len)
{
    for (size_t i = 0; i < t->n; i++) {
        if (name_eq(&t->c[i].chr, name, len)) {
            return &t->c[i];
        }
    }
    return NULL;
}

/* The 7F49 value with domain parameters for key c: its own, else its issuers'. */
static const hsm_cvc_cert *domain_of(const trust *t, const hsm_cvc_cert *c)
{
    hsm_tlv p;
    for (size_t hops = 0; c != NULL && hops <= TRUST_MAX; hops++) {
        if (hsm_tlv_find(c->pubkey.value, c->pubkey.len, 0x81, &p) == 1) {
            return c;
        }
        if (name_eq(&c->car, c->chr.value, c->chr.len)) {
            return NULL; /* self-signed without parameters: nowhere to look */
        }
        c = find(t, c->car.value, c->car.len);
    }
    return NULL;
}

int hsm_cmd_mse(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    static const uint8_t templates[] = {0xA4, 0xA6, 0xAA, 0xB4, 0xB6, 0xB8};
    if (a->p1 == 0x41 && a->p2 == 0xA4) {
        return hsm_sm_mse_set_at(c); /* chip authentication (cmd_sm.c) */
    }
    if (!(a->p1 & 0x01) || memchr(templates, a->p2, sizeof(templates)) == NULL) {
        return HSM_ERR_P1P2;
    }
    hsm_tlv ref;
    int rc;
    if (a->p2 == 0xA4 && (rc = hsm_tlv_find(a->data, a->nc, 0x83, &ref)) != 0) {
        /* AT with a key reference: public key authentication (pka.h) */
        return rc < 0 ? HSM_ERR_DATA : hsm_pka_select(c->s, ref.value, ref.len);
    }
    c->s->verifier_len = 0;
    if (a->p2 != 0xB6) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    rc = hsm_tlv_find(a->data, a->nc, 0x83, &ref);
    if (rc < 0 || (rc == 1 && (ref.len == 0 || ref.len > sizeof(c->s->verifier)))) {
        return HSM_ERR_DATA;
    }
    if (rc == 0) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    static trust t;
    trust_load(&t);
    if (find(&t, ref.value, ref.len) == NULL) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    memcpy(c->s->verifier, ref.value, ref.len);
    c->s->verifier_len = (uint8_t)ref.len;
    return HSM_OK;
}

/* C8xx: 30 { 30 { 0C CHR, 03 02 06 40 }, 30 { 04 14 SHA-1(X or modulus) }, A1 { 30 { 30 { 04 02 CA xx } } } } */
static int put_description(const hsm_cvc_cert *cert, uint8_t xx)
{
    static const uint8_t flags[] = {0x06, 0x40};
    uint8_t out[128], id[20], path[2] = {HSM_PREFIX_CA_CERT, xx};
    hsm_tlv q;
    const uint8_t *v = NULL;
    size_t vlen = 0;
    if (hsm_tlv_find(cert->pubkey.value, cert->pubkey.len, 0x86, &q) == 1 && q.len >= 3 &&
        q.value[0] == 0x04) {
        v = q.value + 1, vlen = (q.len - 1) / 2;
    } else if (hsm_tlv_find(cert->pubkey.value, cert->pubkey.len, 0x81, &q) == 1) {
        v = q.value, vlen = q.len;
    }
    if (v == NULL || mbedtls_sha1(v, vlen, id) != 0) {
        return HSM_ERR_EXEC;
    }
    hsm_tlv_writer w;
    hsm_tlv_writer_init(&w, out, sizeof(out));
    size_t m0 = hsm_tlv_begin(&w, 0x30);
    size_t m1 = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put(&w, 0x0C, cert->chr.value, cert->chr.len);
    hsm_tlv_put(&w, 0x03, flags, sizeof(flags));
    hsm_tlv_end(&w, m1);
    size_t m2 = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put(&w, 0x04, id, sizeof(id));
    hsm_tlv_end(&w, m2);
    size_t m3 = hsm_tlv_begin(&w, 0xA1);
    size_t m4 = hsm_tlv_begin(&w, 0x30);
    size_t m5 = hsm_tlv_begin(&w, 0x30);
    hsm_tlv_put(&w, 0x04, path, sizeof(path));
    hsm_tlv_end(&w, m5);
    hsm_tlv_end(&w, m4);
    hsm_tlv_end(&w, m3);
    hsm_tlv_end(&w, m0);
    if (!hsm_tlv_writer_ok(&w)) {
        return HSM_ERR_INTERNAL;
    }
    return hsm_store_write((uint16_t)((HSM_PREFIX_CD << 8) | xx), out, w.len, 0);
}

/* Stores a verified certificate in the free slot xx and vouches for it: the file, then its entry
 * (fail closed, see the top of this file), then the description (a cut before it leaves the
 * certificate trusted, only less visible to PKCS#15). */
static int store_trusted(const hsm_cvc_cert *cert, const uint8_t *in, size_t len, uint8_t xx)
{
    uint8_t list[LIST_MAX];
    size_t n;
    int rc = list_read(list, &n);
    if (rc != HSM_OK) {
        return rc;
    }
    n = list_prune(list, n, xx);
    if (n == LIST_MAX) {
        return HSM_ERR_NO_SPACE;
    }
    list[n] = xx;
    if (mbedtls_sha256(in, len, list + n + 1, 0) != 0) {
        return HSM_ERR_EXEC;
    }
    if ((rc = hsm_store_write(ca_id(xx), in, len, 0)) != HSM_OK ||
        (rc = hsm_store_write(HSM_ID_CA_VOUCHED, list, n + ENTRY, 0)) != HSM_OK) {
        return rc;
    }
    return put_description(cert, xx);
}

int hsm_cmd_pso(hsm_cmd *c)
{
    const hsm_apdu *a = c->apdu;
    static trust t;
    hsm_cvc_cert cert;
    size_t used;
    int rc;

    if (a->p1 != 0x00 || (a->p2 != 0x92 && a->p2 != 0xAE && a->p2 != 0xBE)) {
        return HSM_ERR_P1P2;
    }
    if (a->nc == 0) {
        return HSM_ERR_WRONG_LENGTH;
    }
    if (c->s->verifier_len == 0) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    const uint8_t *in = a->data;
    size_t len = a->nc;
    if (!(len >= 2 && in[0] == 0x7F && in[1] == 0x21)) {
        if (len > CERT_MAX) {
            return HSM_ERR_REF_UNUSABLE;
        }
        hsm_tlv_writer w;
        hsm_tlv_writer_init(&w, wrapped, sizeof(wrapped));
        hsm_tlv_put(&w, 0x7F21, in, len);
        in = wrapped, len = w.len;
    }
    if (len > CERT_MAX) {
        return HSM_ERR_REF_UNUSABLE; /* trust_load could not hold it: stored, it would not be trusted */
    }
    if (hsm_cvc_parse(in, len, &cert, &used) != HSM_OK || used != len) {
        return HSM_ERR_REF_UNUSABLE;
    }
    trust_load(&t);
    const hsm_cvc_cert *issuer = find(&t, c->s->verifier, c->s->verifier_len);
    if (issuer == NULL) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    if (!name_eq(&cert.car, c->s->verifier, c->s->verifier_len)) {
        return HSM_ERR_CONDITIONS;
    }
    const hsm_cvc_cert *dom = domain_of(&t, issuer);
    if (dom == NULL) {
        return HSM_ERR_CONDITIONS;
    }
    rc = hsm_cvc_verify(&cert, issuer->pubkey.value, issuer->pubkey.len, dom->pubkey.value,
                        dom->pubkey.len);
    if (rc == HSM_ERR_DATA) {
        return HSM_ERR_REF_UNUSABLE;
    }
    if (rc != HSM_OK) {
        return rc;
    }
    if (cert.has_dates) {
        for (size_t i = 0; i < t.n; i++) {
            if (t.c[i].has_dates && hsm_cvc_date_cmp(cert.expiry, t.c[i].effective) < 0) {
                return HSM_ERR_CONDITIONS; /* expired */
            }
        }
    }
    if (find(&t, cert.chr.value, cert.chr.len) != NULL) {
        return HSM_OK; /* already trusted */
    }
    if (t.n >= TRUST_MAX || t.more) {
        return HSM_ERR_NO_SPACE;
    }
    for (unsigned xx = 0; xx <= CA_LAST; xx++) {
        size_t n;
        if ((rc = hsm_store_size(ca_id((uint8_t)xx), &n)) == HSM_ERR_NOT_FOUND) {
            return store_trusted(&cert, in, len, (uint8_t)xx);
        }
        if (rc != HSM_OK) {
            return rc;
        }
    }
    return HSM_ERR_NO_SPACE;
}

int hsm_trust_domain_params(const hsm_cvc_cert *c, hsm_tlv *dom)
{
    static trust t;
    trust_load(&t);
    const hsm_cvc_cert *d = domain_of(&t, c);
    if (d == NULL) {
        return HSM_ERR_REF_NOT_FOUND;
    }
    *dom = d->pubkey;
    return HSM_OK;
}

int hsm_trust_forget(uint16_t id)
{
    uint8_t list[LIST_MAX];
    size_t n;
    if ((id >> 8) != HSM_PREFIX_CA_CERT) {
        return HSM_OK;
    }
    int rc = list_read(list, &n);
    if (rc != HSM_OK || entry_of(list, n, (uint8_t)id) == NULL) {
        return rc;
    }
    return hsm_store_write(HSM_ID_CA_VOUCHED, list, list_prune(list, n, (uint8_t)id), 0);
}
