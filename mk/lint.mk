# Structure checks on the built objects: no two source files call into each other.
LINT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard agent/*/*.c tools/polctl/*.c)))
.PHONY: test-lint
test-lint: all ## no call circles between source files (a.c calls b.c calls a.c)
	@tests/lint/call_circles.py $(LINT_OBJS) && echo "lint: no call circles"
