/* udpsink: a memcached-style UDP service for the conntrack-exhaustion benchmark: answers every
 * datagram with a short reply and counts what it received. Runs until SIGTERM/SIGINT or SECONDS,
 * then prints "received N" (and writes it to FILE when given, for a caller that kills it).
 *
 * usage: udpsink PORT SECONDS [FILE] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { .tv_usec = 100000 };
	int rcvbuf = 16 << 20;
	unsigned long long n = 0;
	time_t end;
	int fd;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: udpsink PORT SECONDS [FILE]\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	end = time(NULL) + atoi(argv[2]);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    /* A burst must not overflow the socket: count what the network delivered. */
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf))) {
		perror("udpsink");
		return 2;
	}
	/* Ready: the caller waits for this line. */
	printf("ready\n");
	fflush(stdout);
	while (!stop && time(NULL) < end) {
		char buf[2048];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (r < 0)
			continue;
		n++;
		sendto(fd, "VALUE k 0 1\r\nx\r\nEND\r\n", 22, MSG_DONTWAIT, (struct sockaddr *)&from,
		       fl);
	}
	printf("received %llu\n", n);
	if (argc > 3 && (f = fopen(argv[3], "w"))) {
		fprintf(f, "%llu\n", n);
		fclose(f);
	}
	close(fd);
	return 0;
}
