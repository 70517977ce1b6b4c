/* Parsing palisaded's command line in the daemon option tests: argv literals, and a parse that
 * must succeed (PARSE_OK) or fail with a message containing `want` (PARSE_ERR). */
#ifndef PALISADE_TEST_DAEMON_CFG_UTIL_H
#define PALISADE_TEST_DAEMON_CFG_UTIL_H

#include <criterion/criterion.h>
#include <string.h>

#include "../../agent/daemonlib/cfg.h"

#define ARGV(...) ((char *[]){ "palisaded", __VA_ARGS__, NULL })
#define ARGC(v) ((int)(sizeof(v) / sizeof(v[0])) - 1)

static inline int parse(struct pald_config *c, char **argv, int argc, char *err, size_t errlen)
{
	return pald_config_parse(c, argc, argv, "host-a", err, errlen);
}

#define PARSE_OK(c, ...)                                                                    \
	do {                                                                                \
		char *argv_[] = { "palisaded", __VA_ARGS__, NULL };                         \
		char err_[512];                                                             \
		int rc_ = parse((c), argv_, ARGC(argv_), err_, sizeof(err_));               \
		cr_assert_eq(rc_, 0, "parse failed: %s", err_);                             \
	} while (0)

#define PARSE_ERR(want, ...)                                                                \
	do {                                                                                \
		struct pald_config c_;                                                      \
		char *argv_[] = { "palisaded", __VA_ARGS__, NULL };                         \
		char err_[512];                                                             \
		int rc_ = parse(&c_, argv_, ARGC(argv_), err_, sizeof(err_));               \
		cr_expect_neq(rc_, 0, "accepted: %s", #__VA_ARGS__);                        \
		cr_expect(strstr(err_, (want)) != NULL, "message \"%s\" lacks \"%s\"", err_, \
			  (want));                                                          \
		pald_config_free(&c_);                                                      \
	} while (0)

#endif
