"""bench-synthetic: seeded synthetic datasets with ground-truth rates for bench-harness.

``lorenz``, ``chaotic_rnn`` and ``multi_region`` Poisson populations, written to NLB-layout NWB
files and read back like real data. Importing this package stays light; ``plugin`` registers the
datasets and the heavy modules load only when a dataset is.
"""

__version__ = "0.1.0"
