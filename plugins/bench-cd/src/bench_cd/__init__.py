"""bench-cd: coordinated dropout and plain autoencoding objectives for bench-harness (registered by ``plugin``)."""
