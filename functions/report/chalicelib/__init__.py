"""The report function's own code beside its handlers: the scheduled-report handler (the API is
:mod:`contactlake.api`)."""
