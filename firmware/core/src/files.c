/*
 * files.c — the file table and file access over the object store; see files.h.
 *
 * Static buffers (owned here, used within one call): `sealed` holds an object as stored,
 * `plain` its plaintext while a sealed file is read or modified; `plain` is wiped before every
 * return.
 */
#include "files.h"

#include <string.h>

#include "hsm/devid.h"
#include "hsm/err.h"
#include "hsm/store.h"
#include "mbedtls/platform_util.h"
#include "secret.h"
#include "trust.h"

typedef enum { AC_ALWAYS, AC_USER, AC_NEVER } access;

typedef struct {
    uint16_t id;   /* exact identifier, or the prefix in the high byte when `prefix` */
    bool prefix;
    access read, write, del;
    bool sealed;   /* encrypted at rest under the MKEK */
    bool listed;   /* reported by ENUMERATE OBJECTS */
} file_class;

static const file_class classes[] = {
    /* id                      prefix read       write      delete   sealed listed */
    {HSM_PREFIX_KEY << 8,        true, AC_NEVER,  AC_NEVER,  AC_USER, true,  true},
    {HSM_PREFIX_PRKD << 8,       true, AC_ALWAYS, AC_USER,   AC_USER, false, true},
    {HSM_PREFIX_CD << 8,         true, AC_ALWAYS, AC_USER,   AC_USER, false, true},
    {HSM_PREFIX_DCOD << 8,       true, AC_ALWAYS, AC_USER,   AC_USER, false, true},
    {HSM_PREFIX_CA_CERT << 8,    true, AC_ALWAYS, AC_USER,   AC_USER, false, true},
    {HSM_PREFIX_PROT_DATA << 8,  true, AC_USER,   AC_USER,   AC_USER, true,  true},
    {HSM_PREFIX_EE_CERT << 8,    true, AC_ALWAYS, AC_USER,   AC_USER, false, true},
    {HSM_PREFIX_DATA << 8,       true, AC_ALWAYS, AC_USER,   AC_USER, false, true},
    /* Written whole, as enrolment does (ext. spec 5.3); devid.c checks it is this device's. */
    {HSM_ID_C_DEVAUT,            false, AC_ALWAYS, AC_USER,  AC_NEVER, false, false},
    {HSM_ID_TOKENINFO,           false, AC_ALWAYS, AC_USER,  AC_USER, false, false},
    /* The UNWRAP transfer file: a key blob is written here, consumed by UNWRAP (74). */
    {HSM_ID_UNWRAP_EF,           false, AC_NEVER,  AC_USER,  AC_USER, false, false},
};

static uint8_t sealed[HSM_STORE_OBJ_MAX];
static uint8_t plain[HSM_STORE_OBJ_MAX];

static const file_class *class_of(uint16_t id)
{
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        const file_class *c = &classes[i];
        if (c->prefix ? (c->id >> 8) == (id >> 8) : c->id == id) {
            return c;
        }
    }
    return NULL;
}

static bool allowed(access a, const hsm_session *s)
{
    return a == AC_ALWAYS || (a == AC_USER && s->user_verified);
}

int hsm_file_size(uint16_t id, size_t *len)
{
    const file_class *c = class_of(id);
    if (c == NULL) {
        return HSM_ERR_NOT_FOUND;
    }
    if (id == HSM_ID_C_DEVAUT) {
        const uint8_t *p;
        return hsm_devid_c_devaut(&p, len);
    }
    int rc = hsm_store_size(id, len);
    if (rc == HSM_OK && c->sealed) {
        *len = *len >= HSM_SEALED_OVERHEAD ? *len - HSM_SEALED_OVERHEAD : 0;
    }
    return rc;
}

/* Loads a sealed object's plaintext into `plain`. */
static int load_plain(const hsm_session *s, uint16_t id, size_t *len)
{
    size_t n;
    int rc = hsm_store_read(id, 0, sealed, sizeof(sealed), &n);
    if (rc != HSM_OK) {
        return rc;
    }
    return hsm_secret_expose(s, id, sealed, n, plain, sizeof(plain), len);
}

int hsm_file_read(const hsm_session *s, uint16_t id, size_t off, uint8_t *buf, size_t cap,
                  size_t *len)
{
    const file_class *c = class_of(id);
    size_t size;
    int rc = hsm_file_size(id, &size);
    *len = 0;
    if (rc != HSM_OK) {
        return rc;
    }
    if (!allowed(c->read, s)) {
        return HSM_ERR_SECURITY;
    }
    if (off > size) {
        return HSM_ERR_WRONG_P1P2;
    }
    size_t n = size - off < cap ? size - off : cap;
    if (id == HSM_ID_C_DEVAUT) {
        const uint8_t *p;
        if ((rc = hsm_devid_c_devaut(&p, &size)) == HSM_OK) {
            memcpy(buf, p + off, n);
        }
    } else if (!c->sealed) {
        rc = hsm_store_read(id, off, buf, n, &n);
    } else if ((rc = load_plain(s, id, &size)) == HSM_OK) {
        memcpy(buf, plain + off, n);
    }
    mbedtls_platform_zeroize(plain, sizeof(plain));
    if (rc == HSM_OK) {
        *len = n;
    }
    return rc;
}

int hsm_file_write(const hsm_session *s, uint16_t id, size_t off, const uint8_t *data, size_t len)
{
    const file_class *c = class_of(id);
    if (c == NULL) {
        return HSM_ERR_P1P2;
    }
    if (!allowed(c->write, s)) {
        return HSM_ERR_SECURITY;
    }
    if (id == HSM_ID_C_DEVAUT) {
        return off == 0 ? hsm_devid_install(s, data, len) : HSM_ERR_WRONG_P1P2;
    }
    size_t size = 0;
    int rc = off == 0 ? HSM_OK : hsm_file_size(id, &size);
    if (rc == HSM_ERR_NOT_FOUND) {
        size = 0, rc = HSM_OK;
    }
    if (rc != HSM_OK) {
        return rc;
    }
    if (off > size) {
        return HSM_ERR_WRONG_P1P2;
    }
    size_t max = c->sealed ? HSM_STORE_OBJ_MAX - HSM_SEALED_OVERHEAD : HSM_STORE_OBJ_MAX;
    if (len > max || off > max - len) {
        return HSM_ERR_NO_SPACE;
    }
    size_t total = off + len > size ? off + len : size;
    if ((rc = hsm_trust_forget(id)) != HSM_OK) {
        return rc; /* CA xx: untrusted before it changes (cmd_pso.c) */
    }
    /* Assemble the new content in `plain`: the old content up to off (and beyond off+len). */
    if (off > 0) {
        size_t n;
        rc = c->sealed ? load_plain(s, id, &n) : hsm_store_read(id, 0, plain, sizeof(plain), &n);
        if (rc != HSM_OK) {
            goto out;
        }
    }
    memcpy(plain + off, data, len);
    if (c->sealed) {
        size_t n;
        rc = hsm_secret_seal(s, id, plain, total, sealed, sizeof(sealed), &n);
        if (rc == HSM_OK) {
            rc = hsm_store_write(id, sealed, n, 0);
        }
    } else {
        rc = hsm_store_write(id, plain, total, 0);
    }
out:
    mbedtls_platform_zeroize(plain, sizeof(plain));
    return rc;
}

int hsm_file_delete(const hsm_session *s, uint16_t id)
{
    if (id == HSM_PREFIX_KEY << 8) {
        return HSM_ERR_SECURITY; /* the device key is never deletable (spec 2.4) */
    }
    const file_class *c = class_of(id);
    size_t size;
    int rc = hsm_file_size(id, &size);
    if (rc != HSM_OK) {
        return rc;
    }
    if (!allowed(c->del, s)) {
        return HSM_ERR_SECURITY;
    }
    if ((rc = hsm_trust_forget(id)) != HSM_OK) {
        return rc;
    }
    return hsm_store_delete(id);
}

struct each_ctx {
    int (*fn)(uint16_t id, void *ctx);
    void *ctx;
};

static int each_listed(uint16_t id, void *p)
{
    struct each_ctx *e = p;
    const file_class *c = class_of(id);
    return c != NULL && c->listed ? e->fn(id, e->ctx) : 0;
}

int hsm_file_each_listed(int (*fn)(uint16_t id, void *ctx), void *ctx)
{
    /* The device key CC00 exists from the first boot and is listed first, so OpenSC never
     * takes key number 00 for a new key (spec 2.5). */
    int rc = fn(HSM_PREFIX_KEY << 8, ctx);
    if (rc != 0) {
        return rc;
    }
    struct each_ctx e = {fn, ctx};
    return hsm_store_each(each_listed, &e);
}
