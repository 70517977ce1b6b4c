/* libFuzzer target: arbitrary bytes through the whole loader (YAML/JSON parsing, every decoder,
 * k8s translation, selector parsing) and the cross-resource validation, then free everything.
 * LeakSanitizer catches anything the error paths forget to free. */
#include <stddef.h>
#include <stdint.h>
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pal_model m;
	struct pal_diags d = { 0 };

	pal_model_init(&m);
	pal_model_load_buffer(&m, "fuzz.yaml", (const char *)data, size, &d);
	pal_model_validate(&m, &d);
	/* Printing exercises every message's format arguments. */
	for (size_t i = 0; i < d.n; i++)
		(void)d.v[i].message;
	pal_diags_free(&d);
	pal_model_free(&m);
	return 0;
}
