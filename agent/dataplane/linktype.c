/* The link type of an interface (linktype.h), by SIOCGIFHWADDR: its sa_family is dev->type. */
#include "linktype.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int pal_link_type(uint32_t ifindex, unsigned int *arphrd)
{
	struct ifreq ifr;
	int fd, err = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname(ifindex, ifr.ifr_name))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		*arphrd = ifr.ifr_hwaddr.sa_family;
	close(fd);
	return err;
}
