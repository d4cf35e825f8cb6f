"""bench-cutmix: CutMix and plain Poisson objectives for the video encoding task (registered by ``plugin``)."""
