"""bench-mtm: the multi-task masking objective (MtM) for bench-harness (registered by ``plugin``)."""
