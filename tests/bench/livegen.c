/* The live-frames traffic generator of `make bench-live` (tests/bench/live.sh): the technique of
 * xdp-tools' xdp-trafficgen. BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES runs
 * tests/bench/livegen.bpf.c on copies of one pre-built 64-byte UDP frame; the program gives each
 * copy its flow and redirects it out of IFACE (a veth), so the frames enter the peer, the device
 * under test, as if they had arrived on the wire: no socket, no qdisc, no skb on the sending side.
 * The sender's cost per frame is a few tens of ns, so the run measures the receiver.
 *
 * Why the program is attached to IDLE (a veth nothing is sent on): a test run with repeat > 1
 * adds the program to the kernel's XDP dispatcher and removes it at the end, and each change of
 * the dispatcher waits for synchronize_rcu (milliseconds). A program already attached somewhere
 * stays in the dispatcher, so each BPF_PROG_RUN call below starts at once.
 *
 * usage: livegen GEN.bpf.o IFACE IDLE DSTMAC 4|6 SRC DST DPORT FLOWS|new SECONDS
 *   SRC is the first source address (new flows: up to 2^15 addresses from it, 16,384 ports
 *   each); FLOWS distinct source ports otherwise.
 * prints: "sent FRAMES SECONDS"; exits 2 with a message when the kernel cannot do it. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <time.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define FRAME_LEN 64
#define BASE_SPORT 10000
#define RUN_REPEAT (1u << 16)

/* Mirrors struct gen_cfg in livegen.bpf.c. */
struct gen_cfg {
	uint32_t out_ifindex;
	uint32_t nflows;
	uint32_t base_src;
	uint16_t base_sport;
	uint16_t l3_csum;
	uint16_t l4_csum;
	uint8_t new_flows;
	uint8_t ipv6;
};

static void die(const char *msg)
{
	fprintf(stderr, "livegen: FAIL: %s\n", msg);
	exit(2);
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
		      &mac[5]) == 6 ? 0 : -1;
}

/* By ioctl: /sys/class/net shows the namespace sysfs was mounted in, not this one. */
static int iface_mac(const char *name, uint8_t mac[6])
{
	struct ifreq r = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), err;

	if (s < 0)
		return -1;
	snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", name);
	err = ioctl(s, SIOCGIFHWADDR, &r);
	close(s);
	if (err)
		return -1;
	memcpy(mac, r.ifr_hwaddr.sa_data, 6);
	return 0;
}

/* The frame: Ethernet, IPv4 or IPv6, UDP to DPORT from BASE_SPORT, zero payload, FRAME_LEN
 * bytes; checksums complete (conntrack checks UDP's). Returns the pristine checksums in cfg. */
static void build_frame(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6], int v6,
			const char *src, const char *dst, uint16_t dport, struct gen_cfg *cfg)
{
	size_t l3 = v6 ? 40 : 20, udp = 14 + l3, ulen = FRAME_LEN - udp;
	uint32_t s;

	memset(f, 0, FRAME_LEN);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	put16(f + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f[14] = 0x60;
		put16(f + 18, (uint16_t)ulen);
		f[20] = 17;
		f[21] = 64;
		if (inet_pton(AF_INET6, src, f + 22) != 1 || inet_pton(AF_INET6, dst, f + 38) != 1)
			die("bad IPv6 address");
		memcpy(&cfg->base_src, f + 22 + 12, 4);
	} else {
		f[14] = 0x45;
		put16(f + 16, (uint16_t)(FRAME_LEN - 14));
		f[22] = 64;
		f[23] = 17;
		if (inet_pton(AF_INET, src, f + 26) != 1 || inet_pton(AF_INET, dst, f + 30) != 1)
			die("bad IPv4 address");
		put16(f + 24, csum_fold(csum_add(0, f + 14, 20)));
		memcpy(&cfg->base_src, f + 26, 4);
		memcpy(&cfg->l3_csum, f + 24, 2);
	}
	put16(f + udp, BASE_SPORT);
	put16(f + udp + 2, dport);
	put16(f + udp + 4, (uint16_t)ulen);
	/* pseudo-header: addresses, protocol, UDP length */
	s = csum_add(0, v6 ? f + 22 : f + 26, v6 ? 32 : 8) + 17 + (uint32_t)ulen;
	s = csum_add(s, f + udp, ulen);
	put16(f + udp + 6, csum_fold(s) ? csum_fold(s) : 0xffff);
	memcpy(&cfg->l4_csum, f + udp + 6, 2);
	cfg->base_sport = BASE_SPORT;
	cfg->ipv6 = (uint8_t)v6;
}

/* BPF_F_TEST_XDP_LIVE_FRAMES came with Linux 5.18. */
static void check_kernel(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		die("cannot read the kernel version");
	if (major < 5 || (major == 5 && minor < 18)) {
		fprintf(stderr, "livegen: FAIL: kernel %s: BPF_F_TEST_XDP_LIVE_FRAMES needs >= 5.18\n",
			u.release);
		exit(2);
	}
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint8_t frame[FRAME_LEN], dmac[6], smac[6];
	struct gen_cfg cfg = { 0 };
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *rodata;
	int fd, idle, err;
	uint64_t sent = 0;
	double secs, t0, t;
	size_t sz;

	if (argc != 11)
		die("usage: livegen GEN.bpf.o IFACE IDLE DSTMAC 4|6 SRC DST DPORT FLOWS|new SECONDS");
	check_kernel();
	cfg.out_ifindex = if_nametoindex(argv[2]);
	idle = (int)if_nametoindex(argv[3]);
	if (!cfg.out_ifindex || !idle)
		die("no such interface (IFACE or IDLE)");
	if (iface_mac(argv[2], smac) || parse_mac(argv[4], dmac))
		die("cannot read IFACE's MAC or parse DSTMAC");
	if (strcmp(argv[9], "new") == 0)
		cfg.new_flows = 1;
	else if ((cfg.nflows = (uint32_t)atoi(argv[9])) < 1 || cfg.nflows > 50000)
		die("FLOWS: 1..50000 or new");
	secs = atof(argv[10]);
	if (secs <= 0 || secs > 60)
		die("SECONDS: 0..60");
	build_frame(frame, dmac, smac, strcmp(argv[5], "6") == 0, argv[6], argv[7],
		    (uint16_t)atoi(argv[8]), &cfg);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		die("cannot open the generator's BPF object");
	rodata = bpf_object__find_map_by_name(obj, ".rodata");
	prog = bpf_object__find_program_by_name(obj, "livegen");
	if (!rodata || !prog || !bpf_map__initial_value(rodata, &sz) || sz < sizeof(cfg))
		die("the generator's object has no livegen program or no cfg");
	{
		uint8_t *ro = malloc(sz);

		if (!ro)
			die("out of memory");
		memcpy(ro, bpf_map__initial_value(rodata, &sz), sz);
		memcpy(ro, &cfg, sizeof(cfg)); /* cfg is the object's only read-only datum */
		if (bpf_map__set_initial_value(rodata, ro, sz))
			die("cannot set the generator's cfg");
		free(ro);
	}
	if (bpf_object__load(obj))
		die("cannot load the generator's program");
	fd = bpf_program__fd(prog);
	if (bpf_xdp_attach(idle, fd, XDP_FLAGS_DRV_MODE, NULL))
		die("cannot attach the generator to the idle veth (native XDP)");

	t0 = now_s();
	do {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = FRAME_LEN,
			    .repeat = RUN_REPEAT, .batch_size = 64,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		err = bpf_prog_test_run_opts(fd, &o);
		if (err) {
			fprintf(stderr, "livegen: FAIL: BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: %s\n",
				strerror(errno));
			bpf_xdp_detach(idle, XDP_FLAGS_DRV_MODE, NULL);
			return 2;
		}
		sent += RUN_REPEAT;
		t = now_s();
	} while (t - t0 < secs);
	bpf_xdp_detach(idle, XDP_FLAGS_DRV_MODE, NULL);
	bpf_object__close(obj);
	printf("sent %llu %.6f\n", (unsigned long long)sent, t - t0);
	return 0;
}
