/* An interface's framing, from the link type netlink (IFLA link type, ARPHRD_*) and
 * SIOCGIFHWADDR report: where the programs find the IP header.
 *   Ethernet (and loopback, which carries a zeroed Ethernet header): offset 14, VLAN tags walked;
 *   L3 devices without a link-layer header (tun, WireGuard: ARPHRD_NONE; ipip, ip6tnl: TUNNEL,
 *   TUNNEL6; sit; GRE; PPP; raw IP): offset 0, pal_iface flag PAL_IF_L3;
 *   anything else (InfiniBand, CAN, 802.15.4...): not supported, palisade refuses to attach. */
#ifndef PALISADE_LINKTYPE_H
#define PALISADE_LINKTYPE_H

#include <net/if_arp.h>
#include <stdint.h>

enum pal_framing { PAL_FRAMING_ETHERNET, PAL_FRAMING_L3, PAL_FRAMING_UNSUPPORTED };

#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823
#endif
#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP 519
#endif

static inline enum pal_framing pal_framing_of(unsigned int arphrd)
{
	switch (arphrd) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
		return PAL_FRAMING_ETHERNET;
	case ARPHRD_NONE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
	case ARPHRD_PPP:
	case ARPHRD_RAWIP:
		return PAL_FRAMING_L3;
	default:
		return PAL_FRAMING_UNSUPPORTED;
	}
}

/* The link type (ARPHRD_*) of ifindex in this network namespace; 0 or -errno. */
int pal_link_type(uint32_t ifindex, unsigned int *arphrd);

#endif
