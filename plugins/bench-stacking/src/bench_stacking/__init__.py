"""bench-harness ensemblers that weigh or select candidates per held-out unit on the val trials."""
