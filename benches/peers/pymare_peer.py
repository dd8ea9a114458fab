"""Peer timings for benches/peers/run.sh (issues #7, #19): PyMARE on the same
inputs as spotmeta, and a numpy vectorised DerSimonian-Laird written out here
(clearly not PyMARE: the fallback peer when PyMARE is not installed). Prints
"<case> <value>" lines: microseconds per fit, or seconds for all fits (_s).

Usage: python3 pymare_peer.py BATCH_CSV (not named pymare.py: it would shadow the package)
"""

import sys
import time

import numpy as np
import pandas as pd

try:
    from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator
except ImportError:  # numpy only
    DerSimonianLaird = None

d = pd.read_csv(sys.argv[1]).sort_values(["outcome", "region"], kind="stable")
k = int(d.groupby(["outcome", "region"]).size().iloc[0])
# Every group has k rows: PyMARE's estimators take (k, n_datasets) arrays.
y = d["yi"].to_numpy().reshape(-1, k).T
v = d["vi"].to_numpy().reshape(-1, k).T
X = np.ones((k, 1))
n = y.shape[1]


def numpy_dl(y, v):
    """DerSimonian-Laird for every column at once: tau2, mu and se(mu)."""
    k = y.shape[0]
    w = 1.0 / v
    sw = w.sum(0)
    mu0 = (w * y).sum(0) / sw
    q = (w * (y - mu0) ** 2).sum(0)
    c = sw - (w * w).sum(0) / sw
    tau2 = np.maximum(0.0, (q - (k - 1)) / c)
    ws = 1.0 / (v + tau2)
    mu = (ws * y).sum(0) / ws.sum(0)
    return tau2, mu, np.sqrt(1.0 / ws.sum(0))


t = time.perf_counter()
numpy_dl(y, v)
print(f"batch_dl_numpy_fit_s {time.perf_counter() - t:.4f}")

if DerSimonianLaird is not None:
    t = time.perf_counter()
    DerSimonianLaird().fit(y=y, v=v, X=X)
    dl_s = time.perf_counter() - t
    print(f"batch_dl {1e6 * dl_s / n:.3f}")
    # Issue #19: the whole in-memory vectorised DL fit of all n data sets,
    # in seconds (spotmeta's whole process, reading and writing included,
    # is compared with it).
    print(f"batch_dl_fit_s {dl_s:.4f}")

    m = 500  # REML optimises each dataset separately; a sample of the groups
    t = time.perf_counter()
    VarianceBasedLikelihoodEstimator(method="REML").fit(y=y[:, :m], v=v[:, :m], X=X)
    print(f"batch_reml {1e6 * (time.perf_counter() - t) / m:.3f}")
