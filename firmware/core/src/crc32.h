/* crc32.h — internal: CRC-32 (IEEE), as zlib's crc32(): start with 0, chain by passing the
 * previous result. */
#ifndef HSM_CRC32_H
#define HSM_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t hsm_crc32(uint32_t crc, const void *data, size_t len);

#endif
