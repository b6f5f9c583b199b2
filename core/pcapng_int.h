/* pcapng_int.h: what the pcapng writer (pcapng.c) and reader
 * (pcapng_read.c) share: the byte-order magic and the option codes. */
#ifndef CAPLAB_PCAPNG_INT_H
#define CAPLAB_PCAPNG_INT_H

#include <stddef.h>

#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define BYTE_ORDER_SWAPPED 0x4D3C2B1Au
#define OPT_MAX 65535u

/* Option codes (per block type; 0 and 1 are common to all). */
enum {
	OPT_ENDOFOPT = 0,
	OPT_COMMENT = 1,
	SHB_HARDWARE = 2,
	SHB_OS = 3,
	SHB_USERAPPL = 4,
	IF_NAME = 2,
	IF_DESCRIPTION = 3,
	IF_TSRESOL = 9,
	IF_FILTER = 11,
	EPB_FLAGS = 2,
	EPB_PACKETID = 5,
	ISB_STARTTIME = 2, /* ISB_STARTTIME + i matches PCAPNG_ST_* bit i */
};

static inline size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

#endif
