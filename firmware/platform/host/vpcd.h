/*
 * vpcd.h — the vsmartcard vpcd protocol, card side (spec 1.5).
 *
 * Frames in both directions: 2-byte big-endian length, then that many bytes (at most 65535).
 * A 1-byte frame from the reader is a control code: 00 power off, 01 power on, 02 reset,
 * 04 get ATR (only 04 is answered, with the ATR). Every longer frame is a C-APDU, answered with
 * one frame holding the R-APDU.
 */
#ifndef HSM_HOST_VPCD_H
#define HSM_HOST_VPCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSM_VPCD_FRAME_MAX 65535u

enum { HSM_VPCD_POWER_OFF = 0, HSM_VPCD_POWER_ON = 1, HSM_VPCD_RESET = 2, HSM_VPCD_GET_ATR = 4 };

/* Reads one frame into buf (cap >= HSM_VPCD_FRAME_MAX to accept every frame). Returns 1 with
 * *len set, 0 on orderly end of stream before a frame starts, -1 on error or a stream that ends
 * inside a frame (errno set; EMSGSIZE when the frame exceeds cap). Retries on EINTR unless
 * *stop becomes true. */
int hsm_vpcd_read_frame(int fd, uint8_t *buf, size_t cap, size_t *len, volatile const bool *stop);

/* Writes one frame (len <= HSM_VPCD_FRAME_MAX). Returns 0 or -1 (errno set). */
int hsm_vpcd_write_frame(int fd, const uint8_t *buf, size_t len);

/* Handles one received frame: runs control codes and APDUs against the card. Returns the
 * number of reply bytes written into out (cap >= 2), or 0 when the frame gets no reply. */
size_t hsm_vpcd_handle(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

#endif
