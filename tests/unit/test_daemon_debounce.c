/* palisaded's debounce of file events: quiet window, hard cap, consumption. */
#include <criterion/criterion.h>

#include "../../agent/daemonlib/debounce.h"

#define MS 1000000ull

Test(daemon_debounce, idle_has_no_deadline)
{
	struct pald_debounce d;

	pald_debounce_init(&d, 15 * MS, 50 * MS);
	cr_expect_eq(pald_debounce_deadline(&d), 0);
	cr_expect_not(pald_debounce_fire(&d, 1000 * MS));
}

Test(daemon_debounce, quiet_window)
{
	struct pald_debounce d;

	pald_debounce_init(&d, 15 * MS, 50 * MS);
	pald_debounce_event(&d, 100 * MS);
	cr_expect_eq(pald_debounce_deadline(&d), 115 * MS);
	pald_debounce_event(&d, 110 * MS); /* more events push the quiet end */
	cr_expect_eq(pald_debounce_deadline(&d), 125 * MS);
	cr_expect_not(pald_debounce_fire(&d, 124 * MS));
	cr_expect(pald_debounce_fire(&d, 125 * MS));
	cr_expect_eq(pald_debounce_deadline(&d), 0, "a fired burst is consumed");
	cr_expect_not(pald_debounce_fire(&d, 200 * MS));
}

Test(daemon_debounce, hard_cap_bounds_a_stream)
{
	struct pald_debounce d;
	uint64_t t;

	pald_debounce_init(&d, 15 * MS, 50 * MS);
	/* An event every 10 ms forever would never be quiet; the cap fires 50 ms after the first. */
	for (t = 0; t < 50 * MS; t += 10 * MS) {
		pald_debounce_event(&d, 1000 * MS + t);
		cr_expect_not(pald_debounce_fire(&d, 1000 * MS + t));
	}
	cr_expect_eq(pald_debounce_deadline(&d), 1050 * MS);
	cr_expect(pald_debounce_fire(&d, 1050 * MS));
	/* The next burst starts its own window. */
	pald_debounce_event(&d, 1051 * MS);
	cr_expect_eq(pald_debounce_deadline(&d), 1066 * MS);
}

Test(daemon_debounce, max_below_quiet_is_raised)
{
	struct pald_debounce d;

	pald_debounce_init(&d, 20 * MS, 5 * MS);
	pald_debounce_event(&d, 0);
	cr_expect_eq(pald_debounce_deadline(&d), 20 * MS);
}
