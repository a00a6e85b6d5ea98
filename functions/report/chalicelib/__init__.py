"""The report function's own code beside its handlers: the scheduled-report handler, the restatement
handler and their shared logger (the API is :mod:`contactlake.api`)."""
