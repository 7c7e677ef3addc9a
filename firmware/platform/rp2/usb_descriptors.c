/*
 * usb_descriptors.c — USB identity of the device: one configuration with one CCID interface.
 *
 * Device: USB 2.0 full speed, class per interface, EP0 64 bytes, VID:PID 2E8A:10FD (the Pico HSM
 * default; the PHY record that can change it is not applied yet), bcdDevice 0900 (the value the
 * reference firmware reports). Strings: 1 manufacturer, 2 product "Pico HSM", 3 serial = the
 * 8-byte unique chip id as 16 upper-case hex digits, 4 the CCID interface.
 * Configuration: bus powered, 100 mA, interface 0 = CCID (ccid_desc.h) with bulk OUT 0x01,
 * bulk IN 0x81, interrupt IN 0x82 polled every 16 ms.
 */
#include <string.h>

#include "tusb.h"

#include "ccid_desc.h"
#include "hsm/port/device.h"

#ifndef HSM_USB_VID
#define HSM_USB_VID 0x2E8A
#endif
#ifndef HSM_USB_PID
#define HSM_USB_PID 0x10FD
#endif
#define HSM_USB_BCD_DEVICE 0x0900
#define HSM_USB_MANUFACTURER "Pico HSM project"
#define HSM_USB_PRODUCT "Pico HSM"
#define HSM_USB_CCID_ITF "Pico HSM CCID"

enum { STR_LANGID, STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, STR_CCID, STR_COUNT };
enum { ITF_CCID, ITF_COUNT };
#define EP_CCID_OUT 0x01
#define EP_CCID_IN 0x81
#define EP_CCID_INT 0x82
#define EP_CCID_INT_MS 16

static tusb_desc_device_t const desc_device = {
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

/* UTF-16LE string descriptor: header + up to 31 characters (the serial needs 16). */
static uint16_t desc_str[1 + 31];

uint16_t const *tud_descriptor_string_cb(uint8_t index, uint16_t langid) {
    (void)langid;
    char serial[17];
    const char *s;
    size_t n;
    switch (index) {
    case STR_LANGID:
        desc_str[1] = 0x0409; /* English (United States) */
        n = 1;
        s = NULL;
        break;
    case STR_MANUFACTURER:
        s = HSM_USB_MANUFACTURER;
        break;
    case STR_PRODUCT:
        s = HSM_USB_PRODUCT;
        break;
    case STR_SERIAL: {
        static const char hex[] = "0123456789ABCDEF";
        uint8_t id[8];
        hsm_port_unique_id(id);
        for (int i = 0; i < 8; i++) {
            serial[2 * i] = hex[id[i] >> 4];
            serial[2 * i + 1] = hex[id[i] & 0x0F];
        }
        serial[16] = '\0';
        s = serial;
        break;
    }
    case STR_CCID:
        s = HSM_USB_CCID_ITF;
        break;
    default:
        return NULL;
    }
    if (s) {
        n = strlen(s);
        if (n > 31)
            n = 31;
        for (size_t i = 0; i < n; i++)
            desc_str[1 + i] = (uint8_t)s[i];
    }
    desc_str[0] = (uint16_t)((TUSB_DESC_STRING << 8) | (2 * n + 2));
    return desc_str;
}
