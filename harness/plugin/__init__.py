"""Plugin machinery: the hook specs (hookspecs.py), a fresh validated plugin manager per
invocation (manager.py), the typed registries behind ``register(...)`` (registry.py) and the
``Host`` facade the rest of the core calls instead of raw hooks (host.py)."""
