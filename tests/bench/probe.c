/* probe: watches a UDP service's verdict change, for the "file change to new verdict" benchmark.
 * Every ~1 ms it opens a new flow, sends one datagram and waits up to 20 ms for the answer. Each
 * probe binds the next source port from FIRST_SPORT on (wrapping in 10000..59999): ephemeral ports
 * would be reused within seconds, and a reused port is an established flow that keeps its old
 * verdict (correctly) in palisade's flow table and in conntrack, which reads as a flapping verdict. The service is "open" when it
 * answers, "closed" when not. Once it has seen the opposite state, it waits for WANT to hold
 * for 3 probes in a row and prints the wall-clock time (CLOCK_REALTIME, seconds) at which the
 * first of those 3 probes was sent.
 *
 * usage: probe DST_IP PORT open|closed TIMEOUT_SECONDS FIRST_SPORT
 * prints "TIME NEXT_SPORT" (the port the next probe run should start from). Exit 0 with the time;
 * 1 on timeout (still printing "- NEXT_SPORT"); 2 on setup errors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double wall(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned int next_sport;

/* One probe from the next source port: 1 when answered within 20 ms. */
static int answered(const struct sockaddr_in *dst)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons((uint16_t)next_sport) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ok = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];

	next_sport = next_sport + 1 >= 60000 ? 10000 : next_sport + 1;
	if (fd < 0 || bind(fd, (struct sockaddr *)&src, sizeof(src))) {
		perror("probe: socket/bind");
		exit(2);
	}
	if (sendto(fd, "get k\r\n", 7, 0, (const struct sockaddr *)dst, sizeof(*dst)) == 7 &&
	    poll(&p, 1, 20) == 1 && recv(fd, buf, sizeof(buf), 0) > 0)
		ok = 1;
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	int want, run = 0, seen_other = 0, last = -1;
	double end, first = 0;

	if (argc != 6 || !inet_aton(argv[1], &dst.sin_addr) ||
	    (strcmp(argv[3], "open") && strcmp(argv[3], "closed"))) {
		fprintf(stderr, "usage: probe DST_IP PORT open|closed TIMEOUT_SECONDS FIRST_SPORT\n");
		return 2;
	}
	next_sport = (unsigned int)atoi(argv[5]);
	if (next_sport < 10000 || next_sport >= 60000) {
		fprintf(stderr, "probe: FIRST_SPORT 10000..59999\n");
		return 2;
	}
	dst.sin_port = htons((uint16_t)atoi(argv[2]));
	want = !strcmp(argv[3], "open");
	end = wall() + atof(argv[4]);
	while (wall() < end) {
		double t = wall();
		int st = answered(&dst);

		/* Every change of state goes to stderr: the caller shows it when a figure is refused. */
		if (st != last)
			fprintf(stderr, "%.6f %s\n", t, st ? "open" : "closed");
		last = st;
		if (st != want) {
			seen_other = 1;
			run = 0;
		} else if (seen_other) {
			if (run++ == 0)
				first = t;
			if (run == 3) {
				printf("%.6f %u\n", first, next_sport);
				return 0;
			}
		}
		usleep(1000);
	}
	printf("- %u\n", next_sport);
	fprintf(stderr, "probe: no change to %s within %s s (seen the other state: %s)\n", argv[3],
		argv[4], seen_other ? "yes" : "no");
	return 1;
}
