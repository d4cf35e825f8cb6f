"""bench-rnn: the Makin lab's recurrent models for bench-harness (registered by ``plugin``)."""
