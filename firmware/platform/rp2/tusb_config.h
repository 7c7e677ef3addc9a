/*
 * tusb_config.h — TinyUSB configuration: device mode on the RP2040/RP2350 USB controller at
 * full speed, no built-in classes. The only class is our CCID driver (usb_ccid.c), registered
 * through usbd_app_driver_get_cb(). CFG_TUSB_MCU and CFG_TUSB_OS come from pico-sdk's CMake.
 */
#ifndef HSM_TUSB_CONFIG_H
#define HSM_TUSB_CONFIG_H

#define CFG_TUSB_RHPORT0_MODE (OPT_MODE_DEVICE | OPT_MODE_FULL_SPEED)
#define CFG_TUD_ENABLED 1
#define CFG_TUD_ENDPOINT0_SIZE 64

#define CFG_TUD_CDC 0
#define CFG_TUD_MSC 0
#define CFG_TUD_HID 0
#define CFG_TUD_MIDI 0
#define CFG_TUD_VENDOR 0

#endif
