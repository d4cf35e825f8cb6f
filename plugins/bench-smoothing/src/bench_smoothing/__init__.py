"""bench-smoothing: NLB'21's spike-smoothing baseline for bench-harness (registered by ``plugin``)."""
