"""Chalice blueprints of the report function; every rule they apply lives in :mod:`contactlake.report.api`."""
