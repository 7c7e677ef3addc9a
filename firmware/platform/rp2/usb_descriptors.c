/*
 * usb_descriptors.c — USB identity of the device: one configuration with one CCID interface.
 *
 * Device: USB 2.0 full speed, class per interface, EP0 64 bytes, bcdDevice 0900 (the value the
 * reference firmware reports). VID:PID, product and serial come from rp2_usb_set_identity()
 * (firmware/board/usbid.h: the PHY record's VID:PID and product, else the build's VIDPID choice
 * — HSM_USB_VID/PID, default 2E8A:10FD — and "Pico HSM"; serial = the card's serial).
 * Strings: 1 manufacturer, 2 product, 3 serial, 4 the CCID interface.
 * Configuration: bus powered, 100 mA, interface 0 = CCID (ccid_desc.h) with bulk OUT 0x01,
 * bulk IN 0x81, interrupt IN 0x82 polled every 16 ms.
 */
#include <string.h>

#include "tusb.h"

#include "ccid_desc.h"
#include "rp2.h"

#define HSM_USB_BCD_DEVICE 0x0900
#define HSM_USB_MANUFACTURER "Pico HSM project"
#define HSM_USB_CCID_ITF "Pico HSM CCID"

enum { STR_LANGID, STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, STR_CCID, STR_COUNT };
enum { ITF_CCID, ITF_COUNT };
#define EP_CCID_OUT 0x01
#define EP_CCID_IN 0x81
#define EP_CCID_INT 0x82
#define EP_CCID_INT_MS 16

static usbid ident; /* set before tusb_init(); an empty product or serial falls back below */

static tusb_desc_device_t desc_device = {
    .bLength = sizeof(tusb_desc_device_t),
    .bDescriptorType = TUSB_DESC_DEVICE,
    .bcdUSB = 0x0200,
    .bDeviceClass = 0x00,
    .bDeviceSubClass = 0x00,
    .bDeviceProtocol = 0x00,
    .bMaxPacketSize0 = CFG_TUD_ENDPOINT0_SIZE,
    .idVendor = HSM_USB_VID,
    .idProduct = HSM_USB_PID,
    .bcdDevice = HSM_USB_BCD_DEVICE,
    .iManufacturer = STR_MANUFACTURER,
    .iProduct = STR_PRODUCT,
    .iSerialNumber = STR_SERIAL,
    .bNumConfigurations = 1,
};

void rp2_usb_set_identity(const usbid *id) {
    ident = *id;
    desc_device.idVendor = id->vid;
    desc_device.idProduct = id->pid;
}

uint8_t const *tud_descriptor_device_cb(void) { return (uint8_t const *)&desc_device; }

#define CONFIG_TOTAL_LEN (TUD_CONFIG_DESC_LEN + CCID_DESC_LEN)

static uint8_t const desc_configuration[] = {
    TUD_CONFIG_DESCRIPTOR(1, ITF_COUNT, 0, CONFIG_TOTAL_LEN, 0x00, 100),
    CCID_DESCRIPTOR(ITF_CCID, STR_CCID, EP_CCID_OUT, EP_CCID_IN, EP_CCID_INT, EP_CCID_INT_MS),
};
TU_VERIFY_STATIC(sizeof desc_configuration == CONFIG_TOTAL_LEN, "configuration length");

uint8_t const *tud_descriptor_configuration_cb(uint8_t index) {
    (void)index;
    return desc_configuration;
}

/* UTF-16LE string descriptor: header + up to 47 characters (the longest product is 40). */
static uint16_t desc_str[1 + 47];

uint16_t const *tud_descriptor_string_cb(uint8_t index, uint16_t langid) {
    (void)langid;
    const char *s;
    switch (index) {
    case STR_LANGID:
        desc_str[0] = (uint16_t)((TUSB_DESC_STRING << 8) | 4);
        desc_str[1] = 0x0409; /* English (United States) */
        return desc_str;
    case STR_MANUFACTURER:
        s = HSM_USB_MANUFACTURER;
        break;
    case STR_PRODUCT:
        s = ident.product[0] ? ident.product : HSM_PHY_DEFAULT_PRODUCT;
        break;
    case STR_SERIAL:
        s = ident.serial[0] ? ident.serial : "0";
        break;
    case STR_CCID:
        s = HSM_USB_CCID_ITF;
        break;
    default:
        return NULL;
    }
    usbid_string_desc(s, desc_str, sizeof desc_str / sizeof desc_str[0]);
    return desc_str;
}
