/* A baseline of the live forwarding rows: an XDP program that passes every packet (counting it
 * in drop_count.h's per-CPU counter), so the fixed cost of having any XDP program on the DUT's
 * veth (veth's XDP receive path: an skb without XDP headroom is copied into a new one) is measured
 * next to plain forwarding and palisade. */
#include "drop_count.h"

SEC("xdp")
int xdp_pass_count(struct xdp_md *ctx)
{
	(void)ctx;
	count_drop();
	return XDP_PASS;
}
