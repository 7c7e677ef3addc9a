/*
 * usbid.h — the device's USB identity: VID:PID, product and serial strings, and the UTF-16LE
 * string descriptors that carry them. Portable, host unit-tested (tests/test_usbid.c).
 *
 * Identity (issue 5 item 7): the serial number string is the card's serial, the same
 * 11-character string that EF.C_DevAut's holder reference starts with and that OpenSC shows as
 * the token serial ("ZZP" + 8 base32 characters of SHA-256 over the chip's unique ID; devid.h).
 * So `lsusb -v`, the PC/SC reader name (pcscd appends the USB serial) and `pkcs15-tool -D`
 * name a device by one string, and no two chips share it. (The reference firmware reports
 * the chip id in hex here; the raw chip id stays available in the rescue applet's SELECT
 * answer.)
 *
 * Product string: PHY tag 09 when set, else "Pico HSM". VID:PID: PHY tag 00 when set, else
 * the build's (VIDPID=... or 2E8A:10FD). In rescue mode (BOOTSEL held at power-up, or a PHY
 * record that does not parse) the record is ignored: the build's VID:PID and the product
 * "Pico HSM (rescue)", so the host side can tell the state it is in.
 */
#ifndef HSM_BOARD_USBID_H
#define HSM_BOARD_USBID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsm/devid.h"
#include "hsm/phy.h"

#define USBID_RESCUE_SUFFIX " (rescue)"

typedef struct {
    uint16_t vid, pid;
    char product[HSM_PHY_PRODUCT_MAX + sizeof(USBID_RESCUE_SUFFIX)];
    char serial[HSM_DEVID_SERIAL_LEN + 1];
} usbid;

/* Fills out from the chip's unique ID and the PHY record (NULL = none). HSM_OK, or the error
 * of hsm_devid_serial_from_uid(). */
int usbid_build(const uint8_t uid[8], const hsm_phy *phy, bool rescue, uint16_t build_vid,
                uint16_t build_pid, usbid *out);

/* Writes the USB string descriptor of the ASCII string s into desc (cap 16-bit units):
 * desc[0] = bDescriptorType 03 << 8 | bLength, then one UTF-16LE unit per character, cut to
 * what fits (at most 126 characters, bLength <= 254). Bytes outside 20..7E become '?'.
 * Returns the number of characters written. cap must be >= 1. */
size_t usbid_string_desc(const char *s, uint16_t *desc, size_t cap);

#endif
