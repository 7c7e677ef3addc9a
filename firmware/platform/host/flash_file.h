/*
 * flash_file.h — the emulator's flash: a file that holds the store region followed by a
 * 16-byte trailer { "PHSMEMU1", 8-byte chip unique ID }. The region behaves like NOR flash
 * (erase to FF in 4 KiB units, program clears bits in 256-byte units; see port/flash.h).
 * A file that does not exist is created erased, with a random unique ID.
 */
#ifndef HSM_HOST_FLASH_FILE_H
#define HSM_HOST_FLASH_FILE_H

#include <stdint.h>

#define HSM_HOST_FLASH_DEFAULT_SIZE (1024u * 1024u)

/* Opens or creates the flash file. Returns 0, or -1 with a message written to stderr. */
int hsm_host_flash_open(const char *path, uint32_t region_size);
void hsm_host_flash_close(void);

#endif
