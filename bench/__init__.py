"""Benchmarks for contactlake: ingest speed and memory, KPI computation and bytes read (``make bench``).

Every figure is measured against a baseline *in the same run* and reported as a ratio, so results from
different machines compare by ratio, not by absolute seconds. Each contender and each baseline runs as
its own process (whole-process wall time, peak RSS from the kernel), pinned to one CPU with every thread
pool limited to one thread. ``python -m bench --help`` lists the options; docs/benchmarks.md gives the
method and the latest figures.
"""

__all__: list[str] = []
