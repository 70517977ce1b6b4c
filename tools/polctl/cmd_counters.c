/* polctl counters: pal_if_ctrs and pal_slot_ctrs summed over CPUs, per interface (keyed by name, resolved in
 * polctl's network namespace) and per hook: the verdict each hook recorded and drops by reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "live.h"

static json_t *ctr_json(const struct pal_if_ctr *c)
{
	json_t *v = json_object(), *d = json_object(), *b = json_object();

	for (int i = 0; i < PAL_VERDICT_COUNT; i++)
		json_object_set_new(v, pal_verdict_names[i], json_integer((json_int_t)c->verdict[i]));
	for (int i = 1; i < PAL_DROP_COUNT; i++) { /* 0 = none */
		json_object_set_new(d, pal_drop_reason_names[i], json_integer((json_int_t)c->drop[i]));
		json_object_set_new(b, pal_drop_reason_names[i],
				    json_integer((json_int_t)c->drop_bytes[i]));
	}
	return json_pack("{s:o, s:o, s:o, s:{s:I, s:I}}", "verdicts", v, "drops", d, "drop_bytes",
			 b, "events_unsent", "rate_limit", (json_int_t)c->events_suppressed,
			 "ring_full", (json_int_t)c->events_lost);
}

static void print_table(json_t *out)
{
	const char *name;
	json_t *ifc;

	printf("%-14s %-11s %10s %10s %10s %10s %12s %10s  %s\n", "INTERFACE", "HOOK", "ALLOW",
	       "DENY", "PASS", "UNTRACKED", "ESTABLISHED", "FAILSAFE", "DROPS");
	json_object_foreach(out, name, ifc) {
		const char *hook;
		json_t *h;

		json_object_foreach(json_object_get(ifc, "hooks"), hook, h) {
			json_t *v = json_object_get(h, "verdicts"), *d = json_object_get(h, "drops"), *n;
			json_t *b = json_object_get(h, "drop_bytes");
			const char *reason;
			int any = 0;

			printf("%-14s %-11s", name, hook);
			for (int i = 0; i < PAL_VERDICT_COUNT; i++)
				printf(" %*lld", i == PAL_VERDICT_ESTABLISHED ? 12 : 10,
				       json_integer_value(json_object_get(v, pal_verdict_names[i])));
			printf(" ");
			json_object_foreach(d, reason, n)
				if (json_integer_value(n)) {
					printf(" %s=%lld/%lldB", reason, json_integer_value(n),
					       json_integer_value(json_object_get(b, reason)));
					any = 1;
				}
			printf("%s\n", any ? "" : " -");
		}
	}
}

int cmd_counters(const struct polctl_globals *g, int argc, char **argv)
{
	struct pal_ifctr_key *keys = NULL;
	struct pal_ifctr_maps maps;
	size_t n = 0;
	struct polctl_live lv;
	json_t *out;
	int rc;

	(void)argv;
	if ((rc = polctl_live_open_noargs(g, "counters", argc, &lv)))
		return rc;
	maps = (struct pal_ifctr_maps){ lv.fd[LM_IF_CTRS], lv.fd[LM_SLOT_CTRS], lv.fd[LM_IFACES],
					lv.fd[LM_IF_INDEX] };
	if ((rc = pal_map_if_counter_keys(&maps, &keys, &n))) {
		polctl_live_close(&lv);
		return polctl_fail(g, "counters: cannot list the interface counters: %s",
				   strerror(-rc));
	}
	out = json_object();
	for (size_t i = 0; i < n;) {
		struct pal_if_ctr total = { 0 };
		char name[IF_NAMESIZE + 8];
		json_t *hooks = json_object();
		uint32_t ifindex = keys[i].ifindex;

		for (; i < n && keys[i].ifindex == ifindex; i++) {
			struct pal_if_ctr c;

			if (pal_map_if_counter(&maps, &keys[i], &c))
				continue;
			pal_if_ctr_add(&total, &c);
			json_object_set_new(hooks, keys[i].hook < PAL_HOOK_COUNT ?
						    pal_hook_names[keys[i].hook] : "unknown",
					    ctr_json(&c));
		}
		json_t *o = ctr_json(&total);

		json_object_set_new(o, "ifindex", json_integer(ifindex));
		json_object_set_new(o, "hooks", hooks);
		json_object_set_new(out, live_ifname(ifindex, name), o);
	}
	free(keys);
	polctl_print_output(g, out, print_table);
	polctl_live_close(&lv);
	return POLCTL_OK;
}
