/* The agent process and the pinned layout, read from /proc and bpffs (see agent_info.h). */
#include "agent_info.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "palisade/version.h"

/* The agent holds an exclusive flock on the pin directory (agent/daemon/bpffs.c). Probing with
 * flock would race a starting agent (it must exit 2 when it cannot lock), so read /proc/locks:
 * "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END". */
long polctl_agent_pid(const char *dir)
{
	struct stat st;
	char line[256];
	long pid = 0;
	FILE *f;

	if (stat(dir, &st) || !(f = fopen("/proc/locks", "re")))
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		char type[16], kind[16], mode[16];
		unsigned maj, min;
		unsigned long ino;
		long p;

		if (sscanf(line, "%*[^:]: %15s %15s %15s %ld %x:%x:%lu", type, kind, mode, &p, &maj,
			   &min, &ino) == 7 &&
		    strcmp(type, "FLOCK") == 0 && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && ino == st.st_ino)
			pid = p;
	}
	fclose(f);
	return pid;
}

/* Copies the NUL-terminated string at the start of section `name` of e into buf. */
static int section_string(Elf *e, const char *name, char *buf, size_t len)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(e, &shstrndx))
		return -EINVAL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *sname;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(sname = elf_strptr(e, shstrndx, sh.sh_name)) ||
		    strcmp(sname, name) != 0)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size == 0 || sh.sh_type == SHT_NOBITS)
			return -EINVAL;
		size_t n = strnlen(d->d_buf, d->d_size);

		if (n == d->d_size || n >= len)
			return -EINVAL; /* not a terminated string that fits */
		memcpy(buf, d->d_buf, n + 1);
		return 0;
	}
	return -ENOENT;
}

int polctl_agent_version(long pid, char *buf, size_t len)
{
	char path[64];
	Elf *e;
	int fd, rc;

	snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	rc = e ? section_string(e, PALISADE_VERSION_SECTION, buf, len) : -EINVAL;
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}

json_t *polctl_agent_json(const char *dir)
{
	long pid = polctl_agent_pid(dir);
	char version[64];
	bool have_version = pid > 0 && polctl_agent_version(pid, version, sizeof(version)) == 0;

	return json_pack("{s:b, s:o, s:o}", "running", pid > 0, "pid",
			 pid > 0 ? json_integer(pid) : json_null(), "version",
			 have_version ? json_string(version) : json_null());
}
