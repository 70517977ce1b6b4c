/* pktblast: send minimum-size UDP/IPv4 Ethernet frames out of one interface as fast as one core
 * can (AF_PACKET, qdisc bypass, sendmmsg batches), for the XDP deny benchmark. Bounded by a
 * duration and a packet count, whichever comes first.
 *
 * Frames come from NSRC source addresses in SRC_NET (a /16 base, e.g. 198.18.128.0) and rotating
 * source ports, so a receiver sees many distinct flows, not one packet repeated.
 *
 * usage: pktblast IFNAME DST_MAC SRC_BASE NSRC DST_IP DPORT SECONDS MAX_PACKETS [NPORTS]
 * (source ports 1024 .. 1024+NPORTS-1, default 60000: NSRC x NPORTS distinct flows)
 * prints: "sent PACKETS SECONDS" (packets the kernel accepted, wall time). Exit 2 on setup errors,
 * or when nothing could be sent. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME 60 /* Ethernet minimum without FCS: 14 + 20 + 8 + 18 bytes of payload */

static uint16_t csum(const uint8_t *p, int n)
{
	uint32_t s = 0;

	for (int i = 0; i < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static uint8_t frames[BATCH][FRAME];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	unsigned int mac[6], nsrc, nports;
	struct in_addr src_base, dst;
	unsigned long long max, sent = 0, seq = 0;
	double secs, t0, t;
	int fd, one = 1;

	if (argc < 9 || argc > 10 || sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3],
				&mac[4], &mac[5]) != 6 ||
	    !inet_aton(argv[3], &src_base) || !inet_aton(argv[5], &dst)) {
		fprintf(stderr, "usage: pktblast IFNAME DST_MAC SRC_BASE NSRC DST_IP DPORT SECONDS "
				"MAX_PACKETS [NPORTS]\n");
		return 2;
	}
	nsrc = (unsigned int)strtoul(argv[4], NULL, 10);
	secs = atof(argv[7]);
	max = strtoull(argv[8], NULL, 10);
	nports = argc > 9 ? (unsigned int)strtoul(argv[9], NULL, 10) : 60000;
	if (nsrc < 1 || nsrc > 65536 || secs <= 0 || secs > 60 || max < 1 || nports < 1 ||
	    nports > 60000) {
		fprintf(stderr, "pktblast: NSRC 1..65536, SECONDS (0, 60], MAX_PACKETS >= 1, "
				"NPORTS 1..60000\n");
		return 2;
	}
	sll.sll_ifindex = (int)if_nametoindex(argv[1]);
	sll.sll_protocol = htons(ETH_P_IP);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("pktblast: AF_PACKET socket on the interface");
		return 2;
	}
	/* Straight to the driver: the benchmark is about the receiver, not the sender's qdisc. */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	for (int i = 0; i < BATCH; i++) {
		uint8_t *f = frames[i];

		memset(f, 0, FRAME);
		for (int j = 0; j < 6; j++)
			f[j] = (uint8_t)mac[j];
		memcpy(f + 6, "\x02\xbe\x00\x00\x00\x01\x08\x00", 8);
		f[14] = 0x45;
		f[16] = 0;
		f[17] = FRAME - 14; /* total length */
		f[22] = 64;
		f[23] = 17;
		memcpy(f + 30, &dst, 4);
		f[38] = 0;
		f[39] = FRAME - 34; /* UDP length; checksum 0 = none */
		f[36] = (uint8_t)(atoi(argv[6]) >> 8);
		f[37] = (uint8_t)atoi(argv[6]);
		iov[i] = (struct iovec){ .iov_base = f, .iov_len = FRAME };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	t0 = now();
	for (t = t0; t - t0 < secs && sent < max; t = now()) {
		int n;

		/* A new source address and port per frame: distinct flows. */
		for (int i = 0; i < BATCH; i++, seq++) {
			uint8_t *f = frames[i];
			uint32_t s = ntohl(src_base.s_addr) + (uint32_t)(seq % nsrc);

			f[26] = (uint8_t)(s >> 24);
			f[27] = (uint8_t)(s >> 16);
			f[28] = (uint8_t)(s >> 8);
			f[29] = (uint8_t)s;
			f[34] = (uint8_t)((1024 + (seq / nsrc) % nports) >> 8);
			f[35] = (uint8_t)(1024 + (seq / nsrc) % nports);
			f[24] = f[25] = 0;
			{
				uint16_t c = csum(f + 14, 20);

				f[24] = (uint8_t)(c >> 8);
				f[25] = (uint8_t)c;
			}
		}
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN) {
			perror("pktblast: sendmmsg");
			return 2;
		}
		if (n > 0)
			sent += (unsigned long long)n;
	}
	printf("sent %llu %.3f\n", sent, t - t0);
	close(fd);
	return sent ? 0 : 2;
}
