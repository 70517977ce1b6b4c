/* tc change notifications (tc_watch.h). */
#include "tc_watch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

int pald_tc_watch_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_TC };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static bool deletes_tc(const char *buf, ssize_t len)
{
	for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
	     h = NLMSG_NEXT(h, len))
		if (h->nlmsg_type == RTM_DELQDISC || h->nlmsg_type == RTM_DELTFILTER)
			return true;
	return false;
}

bool pald_tc_watch_read(int fd)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool deleted = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && deletes_tc(buf, n))
			deleted = true;
	return deleted || (n < 0 && errno == ENOBUFS);
}
