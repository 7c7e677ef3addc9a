/*
 * phy.h — the PHY record, EF E020 (extensions spec 3.6): USB identity, LED, button timeout.
 *
 * Format: a flat list of entries tag(1) | length(1) | value(length), read at boot; a change
 * takes effect at the next boot. Known tags and their exact lengths:
 *   00 4     VID (2 bytes BE) | PID (2 bytes BE)
 *   04 1     LED GPIO number (0..47)
 *   05 1     LED maximum brightness (0..15)
 *   06 2     PHY option word (BE): 0001 WCID, 0002 LED dimmable, 0004 no power reset,
 *            0008 LED steady
 *   08 1     press-to-confirm (button) timeout in seconds
 *   09 2..32 USB product string: printable ASCII (20..7E), then exactly one NUL at the end
 *   0A 4     enabled-curves bitmask (BE; stored, not enforced)
 *   0B 1     enabled USB interfaces (01 CCID, 02 WebCCID, 04 HID, 08 keyboard, 10 network)
 *   0C 1..2  LED driver (01 GPIO, 02 Pimoroni RGB, 03 WS2812, 04 CYW43, 05 NeoPixel, FF none)
 *            | optional colour order (00 RGB .. 05 BGR)
 *
 * Two readers, on purpose:
 *   hsm_phy_parse()    the boot-time reader. Lenient as the spec asks: unknown tags and known
 *                      tags with another length are skipped, and so are known tags whose value
 *                      is unusable (VID 0000 or FFFF, brightness > 15, a product string that
 *                      is not printable ASCII ending in NUL, ...), each falling back to its
 *                      default. Only a record whose entries do not fit its length (a torn or
 *                      garbage record) is refused as a whole (HSM_ERR_DATA): the platform then
 *                      boots on defaults (the rescue path).
 *   hsm_phy_validate() the writer's check (rescue applet 1C 01, legacy EXTRAS 1B): strict.
 *                      Every known tag must have its length and a usable value, no tag may
 *                      repeat, and the record must be at most HSM_PHY_MAX bytes. Unknown tags
 *                      are accepted (a newer host may know more fields); they are kept as
 *                      given by the writer but ignored here.
 * hsm_phy_serialise() writes the fields that are present, in the reference order 00 04 05 06
 * 08 09 0A 0B 0C, with 06 always present (an empty product string is left out); for a struct
 * that hsm_phy_parse() filled, the output passes hsm_phy_validate() and parses back equal.
 *
 * The record lives in the store as object HSM_PHY_FILE_ID (the spec's "EF E020"; in the store
 * it is the device-lifetime object 10F8 of the id registry, so INITIALIZE keeps it). It is not
 * secret and not encrypted (spec 6.6). Everything here is pure: no store access, no platform call.
 */
#ifndef HSM_PHY_H
#define HSM_PHY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSM_PHY_FILE_ID 0x10F8u /* = HSM_ID_PHY in core/src/ids.h */
#define HSM_PHY_MAX 128u /* largest record a writer may store; the known fields take 66 */

/* Defaults (spec 3.5, 3.6). */
#define HSM_PHY_DEFAULT_VID 0x2E8Au
#define HSM_PHY_DEFAULT_PID 0x10FDu
#define HSM_PHY_DEFAULT_BRIGHTNESS 15u
#define HSM_PHY_DEFAULT_BUTTON_S 15u /* when tag 08 is absent (spec 3.5, Decision) */
#define HSM_PHY_DEFAULT_PRODUCT "Pico HSM"
#define HSM_PHY_PRODUCT_MAX 31u /* characters, without the NUL */

/* Tags. */
enum {
    HSM_PHY_TAG_VIDPID = 0x00,
    HSM_PHY_TAG_LED_GPIO = 0x04,
    HSM_PHY_TAG_LED_BRIGHTNESS = 0x05,
    HSM_PHY_TAG_OPTS = 0x06,
    HSM_PHY_TAG_BUTTON_TIMEOUT = 0x08,
    HSM_PHY_TAG_PRODUCT = 0x09,
    HSM_PHY_TAG_CURVES = 0x0A,
    HSM_PHY_TAG_USB_ITF = 0x0B,
    HSM_PHY_TAG_LED_DRIVER = 0x0C,
};

/* Option word bits (tag 06). */
enum {
    HSM_PHY_OPT_WCID = 0x0001,
    HSM_PHY_OPT_LED_DIMMABLE = 0x0002,
    HSM_PHY_OPT_NO_POWER_RESET = 0x0004,
    HSM_PHY_OPT_LED_STEADY = 0x0008,
};

/* LED drivers (tag 0C, first byte). */
enum {
    HSM_PHY_LED_GPIO = 0x01,
    HSM_PHY_LED_PIMORONI = 0x02,
    HSM_PHY_LED_WS2812 = 0x03,
    HSM_PHY_LED_CYW43 = 0x04,
    HSM_PHY_LED_NEOPIXEL = 0x05,
    HSM_PHY_LED_NONE = 0xFF,
};
#define HSM_PHY_LED_ORDER_MAX 0x05u /* 00 RGB, 01 RBG, 02 GRB, 03 GBR, 04 BRG, 05 BGR */
#define HSM_PHY_LED_GPIO_MAX 47u    /* RP2350B has GPIO 0..47; RP2040 0..29 (the platform checks) */

/* Which fields a record set (the others hold their defaults). */
enum {
    HSM_PHY_HAS_VIDPID = 1u << 0,
    HSM_PHY_HAS_LED_GPIO = 1u << 1,
    HSM_PHY_HAS_LED_BRIGHTNESS = 1u << 2,
    HSM_PHY_HAS_OPTS = 1u << 3,
    HSM_PHY_HAS_BUTTON_TIMEOUT = 1u << 4,
    HSM_PHY_HAS_PRODUCT = 1u << 5,
    HSM_PHY_HAS_CURVES = 1u << 6,
    HSM_PHY_HAS_USB_ITF = 1u << 7,
    HSM_PHY_HAS_LED_DRIVER = 1u << 8,
};

typedef struct hsm_phy {
    uint16_t present; /* HSM_PHY_HAS_* */
    uint16_t vid, pid;
    uint8_t led_gpio;       /* meaningful only with HSM_PHY_HAS_LED_GPIO (else the board's) */
    uint8_t led_brightness; /* 0..15 */
    uint16_t opts;
    uint8_t button_timeout_s;
    char product[HSM_PHY_PRODUCT_MAX + 1]; /* NUL-terminated */
    uint32_t curves;
    uint8_t usb_itf;
    uint8_t led_driver, led_order;
} hsm_phy;

/* Every field at its default, nothing present. */
void hsm_phy_defaults(hsm_phy *phy);

/* The boot-time reader (see above). out is always filled: with the record's usable fields on
 * HSM_OK, with defaults only on HSM_ERR_DATA. n == 0 (no record) is HSM_OK with defaults. */
int hsm_phy_parse(const uint8_t *p, size_t n, hsm_phy *out);

/* The boot-time decision on what the store answered for EF E020: store_rc HSM_OK with the
 * record in rec/n (n = its full length), HSM_ERR_NOT_FOUND (no record: defaults), or any other
 * error (unreadable). Fills out (defaults unless a record parsed) and returns true when the
 * boot may use it — false (a rescue boot) for an unreadable record, one longer than
 * HSM_PHY_MAX, or one hsm_phy_parse() refuses. */
bool hsm_phy_boot_record(int store_rc, const uint8_t *rec, size_t n, hsm_phy *out);

/* The writer's check (see above): HSM_OK or HSM_ERR_DATA (bad entry or value) or
 * HSM_ERR_WRONG_LENGTH (empty, or longer than HSM_PHY_MAX). */
int hsm_phy_validate(const uint8_t *p, size_t n);

/* Writes the present fields (06 always). HSM_OK, or HSM_ERR_NO_SPACE when cap is too small
 * (nothing meaningful in out then). */
int hsm_phy_serialise(const hsm_phy *phy, uint8_t *out, size_t cap, size_t *len);

/* The VID:PID to enumerate with. `rescue` (BOOTSEL held at power-up, or a record that
 * hsm_phy_parse() refused) ignores the record and uses the build's VID:PID (build_vid/pid:
 * 2E8A:10FD unless the firmware was built with VIDPID=...). */
void hsm_phy_usb_id(const hsm_phy *phy, bool rescue, uint16_t build_vid, uint16_t build_pid,
                    uint16_t *vid, uint16_t *pid);

/* Press-to-confirm window in milliseconds: 15 s when tag 08 is absent; tag 08 = 0 means the
 * platform does not wait (spec 3.5, SDK <= 8 behaviour). */
uint32_t hsm_phy_button_timeout_ms(const hsm_phy *phy);

#endif
