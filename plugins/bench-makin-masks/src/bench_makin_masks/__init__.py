"""bench-makin-masks: the Makin lab's mask variants as a bench objective (registered by ``plugin``)."""
