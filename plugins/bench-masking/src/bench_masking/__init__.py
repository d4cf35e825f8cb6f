"""bench-masking: NDT's random masked-modelling objective for bench-harness (registered by ``plugin``)."""
