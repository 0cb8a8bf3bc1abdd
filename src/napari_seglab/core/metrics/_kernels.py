"""One pass over a pair of chunks for the chunked evaluation, compiled by numba.

Imported lazily (numba takes about half a second to import); the kernel is cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["chunk_stats"]


@njit(cache=True, nogil=True)
def _stats(pred, truth, cls, any_class):  # pragma: no cover - numba
    planes = pred.shape[0]
    out = np.zeros((planes, 9))
    t_low, t_high, p_low, p_high = np.inf, -np.inf, np.inf, -np.inf
    for k in range(planes):
        both = predicted = true = p_nan = t_nan = 0
        for i in range(pred.shape[1]):
            for j in range(pred.shape[2]):
                p, t = pred[k, i, j], truth[k, i, j]
                fg = p != 0 if any_class else p == cls
                predicted += fg
                true += t != 0
                both += fg and t != 0
                if p != p:
                    p_nan += 1
                elif p != 0:
                    p_low, p_high = min(p_low, p), max(p_high, p)
                if t != t:
                    t_nan += 1
                elif t != 0:
                    t_low, t_high = min(t_low, t), max(t_high, t)
        out[k, 0], out[k, 1], out[k, 2] = both, predicted, true
        out[k, 5], out[k, 6] = p_nan, t_nan
    out[:, 3], out[:, 4], out[:, 7], out[:, 8] = t_low, t_high, p_low, p_high
    return out


@njit(cache=True, nogil=True)
def _stats_unsigned(pred, truth, cls, any_class):  # pragma: no cover - numba
    """``_stats`` of two unsigned integer arrays, without branches (so that it vectorises):
    the smallest non-zero value is one more than the smallest of ``value - 1``, in which 0
    wraps round to the type's largest value."""
    planes = pred.shape[0]
    out = np.zeros((planes, 9))
    p_one, t_one = pred.dtype.type(1), truth.dtype.type(1)
    p_low, p_high = pred.dtype.type(-1), pred.dtype.type(0)
    t_low, t_high = truth.dtype.type(-1), truth.dtype.type(0)
    for k in range(planes):
        pp, tt = pred[k].ravel(), truth[k].ravel()
        both = predicted = true = 0
        for x in range(pp.size):
            p, t = pp[x], tt[x]
            fg = (p != 0) if any_class else (p == cls)
            seen = t != 0
            predicted += fg
            true += seen
            both += fg & seen
            p_low = min(p_low, p - p_one)
            p_high = max(p_high, p)
            t_low = min(t_low, t - t_one)
            t_high = max(t_high, t)
        out[k, 0], out[k, 1], out[k, 2] = both, predicted, true
    out[:, 3], out[:, 4] = (t_low + 1, t_high) if t_high else (np.inf, -np.inf)
    out[:, 7], out[:, 8] = (p_low + 1, p_high) if p_high else (np.inf, -np.inf)
    return out


def chunk_stats(prediction: np.ndarray, truth: np.ndarray, foreground_class) -> np.ndarray:
    """Per plane of the last two axes: TP, predicted, true pixels; the truth's lowest and
    highest non-zero value; NaN pixels of the prediction and of the truth; the prediction's
    lowest and highest non-zero value (the values over the whole chunk; NaNs left out).

    `foreground_class` None means every non-zero value is foreground.

    Examples
    --------
    >>> import numpy as np
    >>> chunk_stats(np.eye(2, dtype=np.uint8), np.ones((2, 2), bool), None).tolist()
    [2.0, 2.0, 4.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]
    """

    def planes(a: np.ndarray) -> np.ndarray:
        a = a.view(np.uint8) if a.dtype == bool else a
        return a.reshape(-1, *a.shape[-2:])

    pred, true = planes(prediction), planes(truth)
    unsigned = all(np.issubdtype(a.dtype, np.unsignedinteger) for a in (pred, true))
    cls = 0 if foreground_class is None else foreground_class
    if unsigned and float(cls).is_integer() and 0 <= cls <= np.iinfo(pred.dtype).max:
        out = _stats_unsigned(pred, true, pred.dtype.type(cls), foreground_class is None)
    else:
        out = _stats(pred, true, float(cls), foreground_class is None)
    return out.reshape(*prediction.shape[:-2], 9)
