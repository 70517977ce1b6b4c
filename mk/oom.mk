# Out of memory while loading and validating policy: tests/oom/oom_load.c fails each allocation in turn.
.PHONY: test-oom
$(BUILD)/oom-load: tests/oom/oom_load.c $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< $(BUILD)/libpalisade-core.a $(LIBS_CORE)

test-oom: $(BUILD)/oom-load ## every allocation of loading and validating policies/ made to fail in turn: -ENOMEM, never abort
	awk 'FNR == 1 { print "---" } 1' policies/*.yaml > $(BUILD)/oom-policies.yaml # one document each
	$(BUILD)/oom-load $(BUILD)/oom-policies.yaml
