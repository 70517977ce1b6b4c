# Structure checks on the built objects: no two source files call into each other, and the core
# library exports only pal_/pald_ names (a static library's globals share the namespace of every
# program that links it).
LINT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard agent/*/*.c tools/polctl/*.c)))
.PHONY: test-lint
test-lint: all $(BUILD)/libpalisade-core.a ## no call circles between source files; only prefixed globals in the core library
	@tests/lint/call_circles.py $(LINT_OBJS) && echo "lint: no call circles"
	@bad=$$(nm -g --defined-only $(BUILD)/libpalisade-core.a | awk 'NF == 3 && $$2 ~ /[TDBRC]/ && $$3 !~ /^pald?_/ { print $$3 }'); \
	  if [ -n "$$bad" ]; then echo "lint: unprefixed globals in libpalisade-core.a:" $$bad; exit 1; fi; \
	  echo "lint: every global of libpalisade-core.a is prefixed"
