"""bench-lfads: the LFADS model for bench-harness (registered by ``plugin``)."""
