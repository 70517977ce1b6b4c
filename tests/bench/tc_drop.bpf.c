/* The tc baseline of the live-frames drop rows: cls_bpf (direct action) dropping every packet at
 * tc ingress, counting it in one per-CPU counter, so the tc hook's fixed cost is measured next to
 * a bare XDP_DROP and palisade's XDP deny. */
#include "drop_count.h"

SEC("tc")
int tc_drop_count(struct __sk_buff *skb)
{
	(void)skb;
	count_drop();
	return 2; /* TC_ACT_SHOT */
}
