"""Built-in CLI commands, each a plugin module registered through ``bench_register_commands``."""
