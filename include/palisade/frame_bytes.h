/* Writing a test frame byte by byte, for the tools that hand the programs a crafted packet with
 * BPF_PROG_TEST_RUN (polctl's live trace, the deny flood's runflood): 16-bit fields in network
 * byte order and an IPv4 header with the checksum the programs verify. Header-only, as the bench
 * tools link no palisade library. */
#ifndef PALISADE_FRAME_BYTES_H
#define PALISADE_FRAME_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void pal_put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline uint16_t pal_ipv4_csum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A 20-byte IPv4 header without options at ip (zeroed by the caller): DF set, TTL 64, src and dst
 * 4 bytes each in network order, the checksum filled in. */
static inline void pal_put_ipv4(uint8_t *ip, uint16_t total_len, uint8_t proto, const void *src,
				const void *dst)
{
	ip[0] = 0x45;
	pal_put16(ip + 2, total_len);
	pal_put16(ip + 6, 0x4000); /* DF, not a fragment */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	pal_put16(ip + 10, pal_ipv4_csum(ip));
}

#endif
