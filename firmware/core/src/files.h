/*
 * files.h — the application's files: the one table of which identifiers exist as files, who
 * may read, write and delete them, and which are encrypted at rest (files.c).
 *
 * Handlers reach file contents only through these functions; access conditions are checked
 * here, never in the handlers. Contents live in the object store, except EF.C_DevAut (2F02),
 * which comes from the device identity.
 */
#ifndef HSM_FILES_H
#define HSM_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "ids.h"

/* Largest file content (the store's object limit, less the sealing overhead for sealed ones). */
#define HSM_FILE_MAX 3771u

/* Size of an existing file (plaintext size for sealed ones). HSM_ERR_NOT_FOUND when the id is
 * not a file or does not exist. */
int hsm_file_size(uint16_t id, size_t *len);

/* Reads up to cap bytes at off. HSM_ERR_NOT_FOUND, HSM_ERR_SECURITY (may not be read now),
 * HSM_ERR_WRONG_P1P2 (off beyond the end). */
int hsm_file_read(const hsm_session *s, uint16_t id, size_t off, uint8_t *buf, size_t cap,
                  size_t *len);

/* Writes data at off (off == 0 replaces the whole content; off > 0 writes into and may extend
 * the content; off beyond the end is HSM_ERR_WRONG_P1P2), creating the file when absent.
 * HSM_ERR_SECURITY when the file may not be written, HSM_ERR_P1P2 when id is not a file,
 * HSM_ERR_NO_SPACE beyond HSM_FILE_MAX or when the store is full. */
int hsm_file_write(const hsm_session *s, uint16_t id, size_t off, const uint8_t *data, size_t len);

/* Deletes a file or key. HSM_ERR_NOT_FOUND, HSM_ERR_SECURITY. */
int hsm_file_delete(const hsm_session *s, uint16_t id);

/* Calls fn for every file and key ENUMERATE OBJECTS lists, ascending; stops at non-zero. */
int hsm_file_each_listed(int (*fn)(uint16_t id, void *ctx), void *ctx);

#endif
