"""Tuned kernels: small, measured replacements for a plain library call on the hot path.

Each module says why it exists; kernels/README.md lists what each replaces, what it saved (figures in
docs/benchmarks.md) and the plain-library fallback. Kernels import nothing from the stages.
"""
