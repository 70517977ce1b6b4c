/* Storage of the reporting metadata in a pinned BPF array map (see meta.h for why and how). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "meta.h"
#include "palisade/abi.h"

static int meta_paths(const char *pin_dir, const char *name, char *path, char *tmp)
{
	if (!pin_dir)
		pin_dir = PAL_PIN_DIR_DEFAULT;
	if (snprintf(path, PATH_MAX, "%s/maps/%s", pin_dir, name) >= PATH_MAX ||
	    snprintf(tmp, PATH_MAX, "%s/maps/%s_new", pin_dir, name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int pal_meta_store(const char *pin_dir, const char *text, size_t len)
{
	return pal_meta_store_named(pin_dir, PAL_META_MAP_NAME, text, len);
}

int pal_meta_read(const char *pin_dir, json_t **out)
{
	return pal_meta_read_named(pin_dir, PAL_META_MAP_NAME, out);
}

int pal_meta_store_named(const char *pin_dir, const char *name, const char *text, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t total = sizeof(struct pal_meta_hdr) + len;
	uint32_t n = (uint32_t)((total + PAL_META_CHUNK - 1) / PAL_META_CHUNK);
	struct pal_meta_hdr hdr = { .magic = PAL_META_MAGIC, .version = PAL_META_VERSION,
				    .len = (uint32_t)len };
	char *chunk = NULL;
	int fd = -1, err;

	if (len > PAL_META_MAX_BYTES)
		return -E2BIG;
	err = meta_paths(pin_dir, name, path, tmp);
	if (err)
		return err;
	chunk = malloc(PAL_META_CHUNK);
	if (!chunk)
		return -ENOMEM;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(uint32_t), PAL_META_CHUNK,
			    n, NULL);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	/* The text as one stream: header, then the JSON bytes, cut into chunks. */
	for (uint32_t i = 0; i < n; i++) {
		size_t off = (size_t)i * PAL_META_CHUNK; /* stream offset of this chunk */
		size_t pos = 0;

		memset(chunk, 0, PAL_META_CHUNK);
		if (i == 0) {
			memcpy(chunk, &hdr, sizeof(hdr));
			pos = sizeof(hdr);
		}
		size_t from = off + pos - sizeof(hdr); /* offset in text */
		size_t room = PAL_META_CHUNK - pos;
		size_t take = from < len ? (len - from < room ? len - from : room) : 0;

		memcpy(chunk + pos, text + from, take);
		if (bpf_map_update_elem(fd, &i, chunk, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	unlink(tmp); /* a leftover from a crash */
	if (bpf_obj_pin(fd, tmp)) {
		err = -errno;
		goto out;
	}
	if (rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
		goto out;
	}
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	free(chunk);
	return err;
}

int pal_meta_write(const char *pin_dir, const struct pal_ir *ir, uint64_t generation)
{
	json_t *doc = pal_meta_build(ir, generation);
	char *text;
	int err;

	if (!doc)
		return -ENOMEM;
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	err = pal_meta_store(pin_dir, text, strlen(text));
	free(text);
	return err;
}

int pal_meta_read_named(const char *pin_dir, const char *name, json_t **out)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	struct pal_meta_hdr hdr;
	char *chunk = NULL, *text = NULL;
	int fd, err;

	*out = NULL;
	err = meta_paths(pin_dir, name, path, tmp);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		err = -errno;
		goto out;
	}
	if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != 4 ||
	    info.value_size != PAL_META_CHUNK || info.max_entries == 0) {
		err = -EBADMSG;
		goto out;
	}
	chunk = malloc(PAL_META_CHUNK);
	if (!chunk) {
		err = -ENOMEM;
		goto out;
	}
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, chunk)) {
		err = -errno;
		goto out;
	}
	memcpy(&hdr, chunk, sizeof(hdr));
	if (hdr.magic != PAL_META_MAGIC || hdr.version != PAL_META_VERSION ||
	    hdr.len > PAL_META_MAX_BYTES ||
	    sizeof(hdr) + (size_t)hdr.len > (size_t)info.max_entries * PAL_META_CHUNK) {
		err = -EBADMSG;
		goto out;
	}
	text = malloc((size_t)hdr.len + 1);
	if (!text) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t got = 0, i = 0; got < hdr.len; i++) {
		uint32_t key = (uint32_t)i;
		size_t pos = i == 0 ? sizeof(hdr) : 0;
		size_t take = PAL_META_CHUNK - pos;

		if (i > 0 && bpf_map_lookup_elem(fd, &key, chunk)) {
			err = -errno;
			goto out;
		}
		if (take > hdr.len - got)
			take = hdr.len - got;
		memcpy(text + got, chunk + pos, take);
		got += take;
	}
	text[hdr.len] = '\0';
	*out = json_loads(text, 0, NULL);
	err = *out && json_is_object(*out) ? 0 : -EBADMSG;
	if (err && *out) {
		json_decref(*out);
		*out = NULL;
	}
out:
	free(text);
	free(chunk);
	close(fd);
	return err;
}
