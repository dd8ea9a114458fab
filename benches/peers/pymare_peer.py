"""Peer timings for benches/peers/run.sh (issue #7): PyMARE on the same inputs
as spotmeta. Prints "<case> <microseconds per fit>" lines.

Usage: python3 pymare_peer.py BATCH_CSV (not named pymare.py: it would shadow the package)
"""

import sys
import time

import numpy as np
import pandas as pd
from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator

d = pd.read_csv(sys.argv[1]).sort_values(["outcome", "region"], kind="stable")
k = int(d.groupby(["outcome", "region"]).size().iloc[0])
# Every group has k rows: PyMARE's estimators take (k, n_datasets) arrays.
y = d["yi"].to_numpy().reshape(-1, k).T
v = d["vi"].to_numpy().reshape(-1, k).T
X = np.ones((k, 1))
n = y.shape[1]

t = time.perf_counter()
DerSimonianLaird().fit(y=y, v=v, X=X)
print(f"batch_dl {1e6 * (time.perf_counter() - t) / n:.3f}")

m = 500  # REML optimises each dataset separately; a sample of the groups
t = time.perf_counter()
VarianceBasedLikelihoodEstimator(method="REML").fit(y=y[:, :m], v=v[:, :m], X=X)
print(f"batch_reml {1e6 * (time.perf_counter() - t) / m:.3f}")
