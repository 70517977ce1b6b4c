/* udpflood: many short UDP flows for the conntrack-exhaustion benchmark: every flow is one
 * datagram ("get k") from its own source port, like a burst of memcached clients. Up to WINDOW
 * flows are open at once; a flow's reply is collected (non-blocking) just before its socket is
 * closed to make room, and the last window gets 300 ms to answer.
 *
 * usage: udpflood DST_IP PORT FLOWS SECONDS
 * prints: "sent N answered M" (datagrams the kernel accepted, replies received). Bounded by FLOWS
 * and SECONDS. Exit 2 on setup errors or when nothing was sent. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 256

static unsigned long long drain(int fd)
{
	char buf[256];
	unsigned long long n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	int ring[WINDOW];
	unsigned long long sent = 0, answered = 0;
	long flows;
	time_t end;

	if (argc != 5 || !inet_aton(argv[1], &dst.sin_addr)) {
		fprintf(stderr, "usage: udpflood DST_IP PORT FLOWS SECONDS\n");
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	flows = atol(argv[3]);
	end = time(NULL) + atoi(argv[4]);
	for (int i = 0; i < WINDOW; i++)
		ring[i] = -1;
	for (long i = 0; i < flows && time(NULL) < end; i++) {
		int *slot = &ring[i % WINDOW];
		int fd;

		if (*slot >= 0) {
			answered += drain(*slot);
			close(*slot);
		}
		/* Its own source port per flow (10000 + i, distinct up to 50,000 flows): a new
		 * conntrack entry per datagram. */
		fd = *slot = socket(AF_INET, SOCK_DGRAM, 0);
		src.sin_port = htons((uint16_t)(10000 + i % 50000));
		if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src))) {
			perror("udpflood: socket/bind");
			return 2;
		}
		if (sendto(fd, "get k\r\n", 7, 0, (struct sockaddr *)&dst, sizeof(dst)) == 7)
			sent++;
	}
	usleep(300000);
	for (int i = 0; i < WINDOW; i++)
		if (ring[i] >= 0) {
			answered += drain(ring[i]);
			close(ring[i]);
		}
	printf("sent %llu answered %llu\n", sent, answered);
	return sent ? 0 : 2;
}
