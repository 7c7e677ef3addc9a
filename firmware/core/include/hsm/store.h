/*
 * store.h — the power-fail-safe object store (format and invariants: firmware/store/STORE.md).
 *
 * Objects are byte strings addressed by a 16-bit identifier (the SmartCard-HSM file IDs, plus
 * internal IDs 10xx). Every mutation is atomic: after a power cut at any point, a mount shows
 * either the old or the new state of what was being changed, never a mix and never a loss of
 * anything committed earlier. The store knows nothing of encryption: callers encrypt secrets
 * before they reach it.
 *
 * Single-threaded; one static instance; the RAM index is owned by store.c.
 *
 * Fail-stop: after a flash error (HSM_ERR_FLASH) during a write or delete, the RAM index may no
 * longer match flash, so every call fails with HSM_ERR_FLASH until hsm_store_mount() succeeds.
 */
#ifndef HSM_STORE_H
#define HSM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest object: one record must fit in one 4 KiB sector after the sector header page. */
#define HSM_STORE_OBJ_MAX 3800u
/* Largest number of objects the RAM index holds: live objects, plus deleted ones whose tombstone
 * still shadows older data in flash (garbage collection retires those). */
#define HSM_STORE_MAX_OBJECTS 1024u

/* Objects that survive hsm_store_write(..., HSM_STORE_WIPE): the caller's rule, given at mount. */
typedef bool (*hsm_store_keep_fn)(uint16_t id);

/* Scans the flash region (port/flash.h), rebuilds the index, finishes or discards whatever a
 * power cut interrupted, and formats a region that holds no store. keep may be NULL (a wipe
 * then keeps nothing but its own object). Returns HSM_OK, HSM_ERR_FLASH, or HSM_ERR_NO_SPACE if
 * the index overflowed or the region is smaller than 4 sectors. */
int hsm_store_mount(hsm_store_keep_fn keep);

/* Length of an object; HSM_ERR_NOT_FOUND when absent. */
int hsm_store_size(uint16_t id, size_t *len);
/* Reads up to cap bytes from offset off; *len = bytes read (0 when off == length).
 * HSM_ERR_NOT_FOUND when absent, HSM_ERR_WRONG_LENGTH when off > length. */
int hsm_store_read(uint16_t id, size_t off, uint8_t *buf, size_t cap, size_t *len);

enum { HSM_STORE_WIPE = 1u << 0 };
/* Replaces (or creates) object id with len bytes (len <= HSM_STORE_OBJ_MAX, 0 allowed).
 * With HSM_STORE_WIPE, the same atomic step also deletes every object for which keep() is
 * false. HSM_OK, HSM_ERR_WRONG_LENGTH, HSM_ERR_NO_SPACE (store full even after garbage
 * collection), HSM_ERR_FLASH. */
int hsm_store_write(uint16_t id, const uint8_t *data, size_t len, unsigned flags);
/* Deletes object id. HSM_OK, HSM_ERR_NOT_FOUND, HSM_ERR_NO_SPACE, HSM_ERR_FLASH. */
int hsm_store_delete(uint16_t id);

/* Calls fn for every live object in ascending id order; stops at the first non-zero return
 * and returns it. fn must not mutate the store. */
int hsm_store_each(int (*fn)(uint16_t id, void *ctx), void *ctx);

typedef struct {
    uint32_t sectors, free_sectors;
    uint32_t live_objects;
    uint32_t live_bytes;    /* flash bytes occupied by live records, headers and padding included */
    uint32_t capacity;      /* bytes available to records when every sector is compacted */
    uint32_t erase_min, erase_max; /* erase counts, for wear levelling */
} hsm_store_stats;
void hsm_store_get_stats(hsm_store_stats *st);

#endif
