# Out of memory while loading policy: tests/oom/oom_load.c fails each allocation in turn.
.PHONY: test-oom
$(BUILD)/oom-load: tests/oom/oom_load.c $(BUILD)/libpalisade-core.a
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< $(BUILD)/libpalisade-core.a $(LIBS_CORE)

test-oom: $(BUILD)/oom-load ## every allocation of loading policies/ made to fail in turn: -ENOMEM, never abort
	cat policies/*.yaml > $(BUILD)/oom-policies.yaml
	$(BUILD)/oom-load $(BUILD)/oom-policies.yaml
