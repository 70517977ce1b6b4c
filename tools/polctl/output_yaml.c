/* -o yaml: the JSON documents every command builds, emitted as YAML with libyaml. A string that
 * would read back as another type ("123", "true", "null", "") is quoted; other strings, numbers,
 * booleans and null are plain. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <yaml.h>

#include "polctl.h"

/* Would a YAML reader take this plain scalar for a null, a boolean or a number? */
static bool reads_as_other_type(const char *s)
{
	static const char *const words[] = { "null", "~", "true", "false", "yes", "no",
					     "on",   "off", "y",  "n" };
	char *end;

	if (!*s)
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return true;
	strtod(s, &end);
	return *end == '\0' || (s[0] == '.' && strcasecmp(s + 1, "inf") == 0);
}

static int scalar(yaml_emitter_t *e, const char *text, bool is_string)
{
	bool plain = !is_string || !reads_as_other_type(text);
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL,
				     (yaml_char_t *)(is_string ? YAML_STR_TAG : YAML_NULL_TAG),
				     (yaml_char_t *)text, (int)strlen(text), plain, is_string,
				     YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(e, &ev);
}

static int emit(yaml_emitter_t *e, json_t *v)
{
	yaml_event_t ev;
	char buf[64];
	const char *key;
	json_t *x;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return 0;
		json_object_foreach(v, key, x)
			if (!scalar(e, key, true) || !emit(e, x))
				return 0;
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev);
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return 0;
		json_array_foreach(v, i, x)
			if (!emit(e, x))
				return 0;
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev);
	case JSON_STRING:
		return scalar(e, json_string_value(v), true);
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return scalar(e, buf, false);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return scalar(e, buf, false);
	case JSON_TRUE:
		return scalar(e, "true", false);
	case JSON_FALSE:
		return scalar(e, "false", false);
	default:
		return scalar(e, "null", false);
	}
}

int polctl_yaml_dump(json_t *v, FILE *out)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int ok;

	if (!yaml_emitter_initialize(&e))
		return -1;
	yaml_emitter_set_output_file(&e, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	ok = yaml_emitter_emit(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0);
	ok = ok && yaml_emitter_emit(&e, &ev) && emit(&e, v);
	yaml_document_end_event_initialize(&ev, 1);
	ok = ok && yaml_emitter_emit(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	ok = ok && yaml_emitter_emit(&e, &ev) && yaml_emitter_flush(&e);
	yaml_emitter_delete(&e);
	return ok ? 0 : -1;
}
