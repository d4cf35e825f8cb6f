"""bench-ndt: the Neural Data Transformer model for bench-harness (registered by ``plugin``)."""
