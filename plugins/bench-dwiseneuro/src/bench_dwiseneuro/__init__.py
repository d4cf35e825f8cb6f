"""bench-dwiseneuro: a scaled-down DwiseNeuro encoding model for bench-harness (registered by ``plugin``)."""
