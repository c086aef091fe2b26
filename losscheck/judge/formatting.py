"""Numbers as a finding's message shows them: one format for every check, so reports read alike."""
import numpy as np


def number(x) -> str:
    """A number or an array as a message shows it: 8 significant digits, arrays with at most 6 decimals."""
    a = np.asarray(x, dtype=np.float64)
    return np.array2string(a, precision=6, separator=", ") if a.ndim else f"{float(a):.8g}"
