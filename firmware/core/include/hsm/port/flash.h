/*
 * port/flash.h — platform service: the flash region that holds the object store.
 *
 * Geometry is that of RP2040/RP2350 QSPI NOR flash: erase unit 4096 bytes, program unit 256
 * bytes. Offsets are relative to the region's start. Erase sets a whole unit to FF; program can
 * only clear bits (1 -> 0) and takes whole, aligned program units. A power cut can interrupt an
 * erase or program at any point, leaving it partly done: the store above must tolerate that.
 */
#ifndef HSM_PORT_FLASH_H
#define HSM_PORT_FLASH_H

#include <stddef.h>
#include <stdint.h>

#define HSM_FLASH_ERASE_SIZE 4096u
#define HSM_FLASH_PROG_SIZE 256u

/* Size of the store region in bytes (a multiple of HSM_FLASH_ERASE_SIZE). */
uint32_t hsm_port_flash_size(void);
/* Each returns HSM_OK, HSM_ERR_FLASH on a device error, or HSM_ERR_INTERNAL on a misaligned
 * or out-of-range request (a caller bug). */
int hsm_port_flash_read(uint32_t off, void *buf, size_t len);
int hsm_port_flash_program(uint32_t off, const void *buf, size_t len);
int hsm_port_flash_erase(uint32_t off);

#endif
