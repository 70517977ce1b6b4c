/* libFuzzer target for the selector parser.
 *
 * Properties checked on every input:
 *   - parsing never crashes, leaks or overflows (ASan/UBSan/LSan);
 *   - a rejected selector reports a column inside the text (1 .. len+1) and a message;
 *   - an accepted selector's canonical string re-parses, prints identically (a fixed point), and
 *     evaluates the same as the original against a few fixed label sets;
 *   - is_global implies uses_global.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

#define NSETS 4

static struct pal_labels label_sets[NSETS];

static void init_label_sets(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	/* [0] stays empty. */
	pal_labels_set(&label_sets[1], "a", "b");
	pal_labels_set(&label_sets[1], "app", "web");
	pal_labels_set(&label_sets[2], "a", "");
	pal_labels_set(&label_sets[2], "projectcalico.org/namespace", "default");
	pal_labels_set(&label_sets[2], "pcns.team", "red");
	pal_labels_set(&label_sets[3], "a", "\"'");
	pal_labels_set(&label_sets[3], "b", "x");
	pal_labels_set(&label_sets[3], "k8s-app", "kube-dns");
}

static void fail(const char *what, const char *in, const char *s1, const char *s2)
{
	fprintf(stderr, "fuzz_selector: %s\n input: [%s]\n first: [%s]\n second: [%s]\n", what,
		in, s1 ? s1 : "", s2 ? s2 : "");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_selector *s = NULL, *s2 = NULL;
	struct pal_selector_error err;
	char *text, *c1, *c2;

	init_label_sets();
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* an embedded NUL simply ends the selector early */

	if (pal_selector_parse(text, &s, &err) != 0) {
		if (s)
			fail("failed parse left *out set", text, NULL, NULL);
		if (err.col < 1 || (size_t)err.col > strlen(text) + 1 || err.message[0] == '\0')
			fail("bad error position or empty message", text, err.message, NULL);
		free(text);
		return 0;
	}
	c1 = pal_selector_string(s);
	if (!c1)
		abort();
	if (pal_selector_parse(c1, &s2, &err) != 0)
		fail("canonical form does not re-parse", text, c1, err.message);
	c2 = pal_selector_string(s2);
	if (!c2 || strcmp(c1, c2) != 0)
		fail("canonical form is not stable", text, c1, c2);
	for (int i = 0; i < NSETS; i++)
		if (pal_selector_match(s, &label_sets[i]) != pal_selector_match(s2, &label_sets[i]))
			fail("canonical form evaluates differently", text, c1, c2);
	if (pal_selector_is_global(s) && !pal_selector_uses_global(s))
		fail("is_global without uses_global", text, c1, NULL);
	if (pal_selector_is_all(s) != pal_selector_is_all(s2) ||
	    pal_selector_is_global(s) != pal_selector_is_global(s2) ||
	    pal_selector_uses_global(s) != pal_selector_uses_global(s2))
		fail("canonical form answers queries differently", text, c1, c2);
	free(c2);
	free(c1);
	pal_selector_free(s2);
	pal_selector_free(s);
	free(text);
	return 0;
}
