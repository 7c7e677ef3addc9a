/*
 * files.h — internal: the application's elementary files as the commands see them.
 *
 * Today the only file is EF.C_DevAut (2F02), synthesised from the device identity. The
 * object store (flash) adds certificates, data objects and key descriptions behind these same
 * calls, with their access conditions; handlers never check access themselves.
 */
#ifndef HSM_FILES_H
#define HSM_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"

#define HSM_FID_C_DEVAUT 0x2F02u

/* Size of an existing file. HSM_ERR_NOT_FOUND when it does not exist. */
int hsm_file_size(uint16_t id, size_t *len);

/* Reads up to cap bytes at off. HSM_ERR_NOT_FOUND, HSM_ERR_WRONG_P1P2 (off beyond the end). */
int hsm_file_read(const hsm_session *s, uint16_t id, size_t off, uint8_t *buf, size_t cap,
                  size_t *len);

/* Calls fn for every file ENUMERATE OBJECTS lists, ascending; stops at non-zero. */
int hsm_file_each_listed(int (*fn)(uint16_t id, void *ctx), void *ctx);

#endif
