"""Where results live: run records (records.py, the one writer and reader of the results
store), atomic writes (atomic.py) and the BENCH_HOME folders (home.py)."""
