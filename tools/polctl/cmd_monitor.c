/* polctl monitor: streams the deny and log events palisaded reads from the datapath, through the
 * agent's event socket (every monitor gets every event; see agent/daemon/event_hub.h). One line
 * per event, or one JSON object per line with -o json (a YAML document each with -o yaml), until
 * SIGINT/SIGTERM, --count N events or --timeout SEC seconds. Exit 0; 1 when --count was given and
 * the timeout came first; 2 when no agent is running or the agent went away. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "monitor_filter.h"
#include "polctl.h"

#define MONITOR_SOCKET_DEFAULT "/run/palisade/events.sock"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct mon {
	const struct polctl_globals *g;
	struct monitor_filter f;
	long seen, count;
	char buf[65536];
	size_t len;
};

static const char *s_or(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : dflt;
}

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void print_text(json_t *o)
{
	const char *when = s_or(o, "time", "");
	const char *pol = s_or(o, "policy", NULL), *ns = s_or(o, "namespace", NULL);
	const char *ep = s_or(o, "endpoint", NULL);

	printf("%s %-5s %-12s %-10s %-10s %-22s %-6s %s:%lld -> %s:%lld",
	       strlen(when) > 11 ? when + 11 : when, strcmp(s_or(o, "type", ""), "log") ? "DENY" : "LOG",
	       s_or(o, "interface", "?"), s_or(o, "hook", "?"), s_or(o, "stage", "-"),
	       s_or(o, "reason", "?"), s_or(o, "proto", "?"), s_or(o, "src", "?"), num(o, "sport"),
	       s_or(o, "dst", "?"), num(o, "dport"));
	if (json_object_get(o, "icmp_type"))
		printf(" type %lld code %lld", num(o, "icmp_type"), num(o, "icmp_code"));
	if (ep)
		printf(" endpoint %s", ep);
	if (pol)
		printf(" rule %lld of %s%s%s%s%s", num(o, "rule"), s_or(o, "tier", ""),
		       *s_or(o, "tier", "") ? "/" : "", ns ? ns : "", ns ? "/" : "", pol);
	printf("\n");
}

/* One line from the agent. Returns -1 on a line that is not JSON. */
static int on_line(struct mon *m, const char *line)
{
	json_t *o = json_loads(line, 0, NULL);

	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	if (strcmp(s_or(o, "type", ""), "dropped") == 0) {
		fprintf(stderr, "polctl: monitor: %lld events dropped so far: this monitor reads "
				"slower than events come\n", num(o, "count"));
	} else if ((!m->count || m->seen < m->count) && monitor_filter_match(&m->f, o)) {
		m->seen++;
		if (m->g->output == POLCTL_OUT_JSON)
			polctl_print_line(o);
		else
			print_text(o);
		fflush(stdout);
	}
	json_decref(o);
	return 0;
}

/* Reads what is there and handles every complete line. 0, 1 at EOF, -errno. */
static int read_lines(struct mon *m, int fd)
{
	ssize_t r = read(fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);
	char *start = m->buf, *nl;

	if (r == 0)
		return 1;
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	m->len += (size_t)r;
	m->buf[m->len] = '\0';
	while ((nl = memchr(start, '\n', m->len - (size_t)(start - m->buf)))) {
		*nl = '\0';
		if (on_line(m, start))
			return -EPROTO;
		start = nl + 1;
	}
	m->len -= (size_t)(start - m->buf);
	memmove(m->buf, start, m->len);
	return m->len == sizeof(m->buf) - 1 ? -EMSGSIZE : 0;
}

static int connect_agent(const struct polctl_globals *g, const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return polctl_fail(g, "monitor: socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return polctl_fail(g, "monitor: no palisaded is running: cannot connect to its "
					      "event socket %s (%s); start the agent, or name its "
					      "socket (eventsSocket) with --socket PATH",
					   path, strerror(e));
		if (e == EACCES || e == EPERM)
			return polctl_fail(g, "monitor: not allowed to connect to the event socket %s "
					      "(%s): run as root, or as a member of the group the "
					      "agent names with --events-socket-group",
					   path, strerror(e));
		return polctl_fail(g, "monitor: cannot connect to the event socket %s: %s", path,
				   strerror(e));
	}
	*out = fd;
	return POLCTL_OK;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int parse_num(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno || end == s || *end || *out < 0 ? -EINVAL : 0;
}

static int stream(struct mon *m, int fd, double timeout)
{
	struct timespec t0;
	int rc = POLCTL_OK;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop && !(m->count && m->seen >= m->count)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int err = poll(&p, 1, 200);

		if (err > 0) {
			err = read_lines(m, fd);
			if (err == 1)
				return polctl_fail(m->g, "monitor: the agent closed the event stream");
			if (err < 0)
				return polctl_fail(m->g, "monitor: reading events: %s", strerror(-err));
		}
		if (timeout > 0 && since(&t0) >= timeout) {
			if (m->count && m->seen < m->count)
				rc = POLCTL_NEGATIVE;
			break;
		}
	}
	return rc;
}

int cmd_monitor(const struct polctl_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' }, { "timeout", required_argument, NULL, 't' },
		{ "socket", required_argument, NULL, 's' }, { "verdict", required_argument, NULL, 'f' },
		{ "iface", required_argument, NULL, 'f' },  { "policy", required_argument, NULL, 'f' },
		{ "src", required_argument, NULL, 'f' },    { "dst", required_argument, NULL, 'f' },
		{ "proto", required_argument, NULL, 'f' },  { "port", required_argument, NULL, 'f' },
		{ 0 },
	};
	struct mon *m = calloc(1, sizeof(*m));
	const char *path = MONITOR_SOCKET_DEFAULT;
	double timeout = 0, count = 0;
	char err[256];
	int c, li, fd = -1, rc;

	if (!m)
		return polctl_fail(g, "monitor: out of memory");
	m->g = g;
	m->f.proto = m->f.port = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		if (c == 'c' && parse_num(optarg, &count) == 0 && count >= 1 && count == (long)count)
			continue;
		if (c == 't' && parse_num(optarg, &timeout) == 0)
			continue;
		if (c == 's') {
			path = optarg;
			continue;
		}
		if (c == 'f' && monitor_filter_set(&m->f, opts[li].name, optarg, err, sizeof(err)) == 0)
			continue;
		free(m);
		if (c == 'f')
			return polctl_fail(g, "monitor: %s", err);
		if (c == 'c' || c == 't')
			return polctl_fail(g, "monitor: %s \"%s\" is not a valid %s", argv[optind - 2],
					   optarg, c == 'c' ? "count (1 or more)" : "number of seconds");
		return polctl_fail(g, "monitor: unknown option or missing value: %s", argv[optind - 1]);
	}
	if (optind < argc) {
		free(m);
		return polctl_fail(g, "monitor: unexpected argument \"%s\"", argv[optind]);
	}
	m->count = (long)count;
	rc = connect_agent(g, path, &fd);
	if (rc == POLCTL_OK) {
		rc = stream(m, fd, timeout);
		close(fd);
	}
	free(m);
	return rc;
}
