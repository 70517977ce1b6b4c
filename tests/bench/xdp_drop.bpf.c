/* The baseline of the XDP deny benchmark: drop every packet and count it per CPU. Nothing else,
 * so palisade's deny path is compared against the cheapest possible XDP drop on the same veth. */
#include "drop_count.h"

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
	(void)ctx;
	count_drop();
	return XDP_DROP;
}
