/*
 * files.c — file access over the synthesised files (see files.h).
 */
#include "files.h"

#include <string.h>

#include "hsm/devid.h"
#include "hsm/err.h"

int hsm_file_size(uint16_t id, size_t *len)
{
    if (id == HSM_FID_C_DEVAUT) {
        const uint8_t *p;
        return hsm_devid_c_devaut(&p, len);
    }
    return HSM_ERR_NOT_FOUND;
}

int hsm_file_read(const hsm_session *s, uint16_t id, size_t off, uint8_t *buf, size_t cap,
                  size_t *len)
{
    (void)s;
    const uint8_t *p;
    size_t size;
    *len = 0;
    if (id != HSM_FID_C_DEVAUT) {
        return HSM_ERR_NOT_FOUND;
    }
    int rc = hsm_devid_c_devaut(&p, &size);
    if (rc != HSM_OK) {
        return rc;
    }
    if (off > size) {
        return HSM_ERR_WRONG_P1P2;
    }
    size_t n = size - off < cap ? size - off : cap;
    memcpy(buf, p + off, n);
    *len = n;
    return HSM_OK;
}

int hsm_file_each_listed(int (*fn)(uint16_t id, void *ctx), void *ctx)
{
    (void)fn;
    (void)ctx;
    return 0; /* no stored files yet; 2F02 is internal and never listed */
}
