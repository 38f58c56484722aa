"""Writes small.npz and small-compressed.npz for npz.test.ts.

Run: /usr/bin/python3 packages/trainer/src/training/testdata/make-npz.py
"""
import os
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
arrays = dict(
    x=np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    labels=np.array([3, -1], dtype=np.int64),
    ids=np.array([[1, 2], [3, 4]], dtype=np.int32),
    flags=np.array([True, False, True]),
    scalar=np.float64(2.5),
)
np.savez(os.path.join(here, "small.npz"), **arrays)
np.savez_compressed(os.path.join(here, "small-compressed.npz"), **arrays)
