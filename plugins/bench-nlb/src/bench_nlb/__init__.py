"""bench-nlb: Neural Latents Benchmark '21 datasets for bench-harness.

The plugin module (``bench_nlb.plugin``) is all that plugin discovery imports; numpy, h5py,
pynwb, nlb_tools and dandi load only when a dataset is loaded or downloaded.
"""

__version__ = "0.1.0"
