"""The oracle: float64 NumPy/SciPy references for every loss in the catalogue. Never imports torch."""
