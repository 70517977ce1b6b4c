/* Debounce logic (see debounce.h). */
#include "debounce.h"

void pald_debounce_init(struct pald_debounce *d, uint64_t quiet_ns, uint64_t max_ns)
{
	*d = (struct pald_debounce){ .quiet_ns = quiet_ns, .max_ns = max_ns < quiet_ns ? quiet_ns : max_ns };
}

void pald_debounce_event(struct pald_debounce *d, uint64_t now_ns)
{
	if (!d->pending) {
		d->pending = true;
		d->first_ns = now_ns;
	}
	d->last_ns = now_ns;
}

uint64_t pald_debounce_deadline(const struct pald_debounce *d)
{
	uint64_t quiet_end, hard_end;

	if (!d->pending)
		return 0;
	quiet_end = d->last_ns + d->quiet_ns;
	hard_end = d->first_ns + d->max_ns;
	return quiet_end < hard_end ? quiet_end : hard_end;
}

bool pald_debounce_fire(struct pald_debounce *d, uint64_t now_ns)
{
	if (!d->pending || now_ns < pald_debounce_deadline(d))
		return false;
	d->pending = false;
	return true;
}
