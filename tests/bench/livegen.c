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
 * Transport "packet" is the fallback for kernels that refuse live frames (this VM's 6.18 build
 * answers EPERM): the same frames, varied the same way in userspace, sent with AF_PACKET
 * (qdisc bypass, sendmmsg batches). The sender then pays for an skb per frame, on its own CPU:
 * with the DUT's NAPI threaded and pinned to the other CPU, the DUT's CPU time is still the
 * DUT's work alone, but the sender offers fewer frames per second.
 *
 * usage: livegen live|packet GEN.bpf.o IFACE IDLE DSTMAC 4|6 SRC DST DPORT FLOWS|new SECONDS
 *   SRC is the first source address (new flows: up to 2^15 addresses from it, 16,384 ports
 *   each); FLOWS distinct source ports otherwise. GEN.bpf.o and IDLE: live only ("-").
 * LIVEGEN_PPS: the offered rate (frames/s; unset or 0: as fast as the CPU goes).
 * LIVEGEN_STATS=1: the kernel's BPF run-time statistics on while it runs.
 * prints: "sent FRAMES SECONDS"; exits 2 on errors, 3 when the kernel refuses live frames. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
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

/* What livegen.bpf.c does to frame number n, with full checksums (userspace has the time). */
static void vary_frame(uint8_t *f, uint32_t n, const struct gen_cfg *cfg)
{
	size_t l3 = cfg->ipv6 ? 40 : 20, udp = 14 + l3, ulen = FRAME_LEN - udp;
	uint32_t src = ntohl(cfg->base_src), s;
	uint16_t port;

	if (cfg->new_flows) {
		port = (uint16_t)(cfg->base_sport + (n & 0x3fff));
		src += (n >> 14) & 0x7fff;
	} else {
		port = (uint16_t)(cfg->base_sport + n % cfg->nflows);
	}
	src = htonl(src);
	memcpy(f + 14 + (cfg->ipv6 ? 20 : 12), &src, 4);
	put16(f + udp, port);
	if (!cfg->ipv6) {
		put16(f + 24, 0);
		put16(f + 24, csum_fold(csum_add(0, f + 14, 20)));
	}
	put16(f + udp + 6, 0);
	s = csum_add(0, cfg->ipv6 ? f + 22 : f + 26, cfg->ipv6 ? 32 : 8) + 17 + (uint32_t)ulen;
	s = csum_add(s, f + udp, ulen);
	put16(f + udp + 6, csum_fold(s) ? csum_fold(s) : 0xffff);
}

static double now_s(void);

#define PKT_BATCH 64

/* LIVEGEN_PPS > 0: hold the offered rate there (sleep until frame `sent` is due), so every mode
 * of a benchmark gets the same rate and the DUT's polls the same batches. */
static void pace(uint64_t sent, double t0, double pps)
{
	double due = t0 + (double)sent / pps, wait = due - now_s();

	if (pps > 0 && wait > 0) {
		struct timespec ts = { .tv_sec = (time_t)wait,
				       .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static uint64_t send_packet(const char *ifname, const uint8_t *frame, const struct gen_cfg *cfg,
			    double secs, double pps)
{
	static uint8_t frames[PKT_BATCH][FRAME_LEN];
	struct mmsghdr msgs[PKT_BATCH];
	struct iovec iov[PKT_BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	uint64_t sent = 0;
	uint32_t seq = 0;
	int fd, one = 1;
	double t0 = now_s();

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		die("AF_PACKET socket on IFACE");
	/* straight to the driver: the benchmark is about the receiver, not the sender's qdisc */
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
		die("PACKET_QDISC_BYPASS");
	for (int i = 0; i < PKT_BATCH; i++) {
		memcpy(frames[i], frame, FRAME_LEN);
		iov[i] = (struct iovec){ .iov_base = frames[i], .iov_len = FRAME_LEN };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	while (now_s() - t0 < secs) {
		int n;

		for (int i = 0; i < PKT_BATCH; i++)
			vary_frame(frames[i], seq++, cfg);
		n = sendmmsg(fd, msgs, PKT_BATCH, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN)
			die("sendmmsg");
		if (n > 0)
			sent += (uint64_t)n;
		if (pps > 0)
			pace(sent, t0, pps);
	}
	close(fd);
	return sent;
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
	int fd, idle, err, live;
	uint64_t sent = 0;
	double secs, t0, t, pps;
	size_t sz;

	if (argc != 12 || (strcmp(argv[1], "live") && strcmp(argv[1], "packet")))
		die("usage: livegen live|packet GEN.bpf.o IFACE IDLE DSTMAC 4|6 SRC DST DPORT FLOWS|new SECONDS");
	live = strcmp(argv[1], "live") == 0;
	argv++; /* the rest as in the live transport's usage */
	cfg.out_ifindex = if_nametoindex(argv[2]);
	if (!cfg.out_ifindex)
		die("no such interface: IFACE");
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
	/* LIVEGEN_STATS=1: the kernel's BPF run-time statistics on while this process runs (the fd
	 * holds them; live.sh's profiled rounds read each program's run_time_ns / run_cnt) */
	if (getenv("LIVEGEN_STATS") && *getenv("LIVEGEN_STATS") && bpf_enable_stats(BPF_STATS_RUN_TIME) < 0)
		die("bpf_enable_stats(BPF_STATS_RUN_TIME)");
	pps = getenv("LIVEGEN_PPS") ? atof(getenv("LIVEGEN_PPS")) : 0;
	if (!live) {
		t0 = now_s();
		sent = send_packet(argv[2], frame, &cfg, secs, pps);
		printf("sent %llu %.6f\n", (unsigned long long)sent, now_s() - t0);
		return sent ? 0 : 2;
	}
	check_kernel();
	idle = (int)if_nametoindex(argv[3]);
	if (!idle)
		die("no such interface: IDLE");

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
			    .repeat = pps > 0 ? 64 : RUN_REPEAT, .batch_size = 64,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		err = bpf_prog_test_run_opts(fd, &o) ? -errno : 0;
		if (err) {
			fprintf(stderr, "livegen: FAIL: this kernel refuses BPF_PROG_RUN with "
				"BPF_F_TEST_XDP_LIVE_FRAMES: %s\n", strerror(-err));
			bpf_xdp_detach(idle, XDP_FLAGS_DRV_MODE, NULL);
			return sent ? 2 : 3;
		}
		sent += o.repeat;
		pace(sent, t0, pps);
		t = now_s();
	} while (t - t0 < secs);
	bpf_xdp_detach(idle, XDP_FLAGS_DRV_MODE, NULL);
	bpf_object__close(obj);
	printf("sent %llu %.6f\n", (unsigned long long)sent, t - t0);
	return 0;
}
