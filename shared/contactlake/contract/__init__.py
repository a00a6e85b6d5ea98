"""The contract between the stages: what the ingest stage hands the commit stage.

An :class:`Upload` (one raw object, identified by its content and routed to its adapter) is parsed by
:mod:`contactlake.ingest` into :class:`ParsedBatch` es (canonical tables plus the :class:`Reject` s and
exclusions met on the way); :mod:`contactlake.commit` stores them. An :class:`IngestError` means the
whole upload cannot be read. Both stages import these types from here and from nowhere else.
"""

from contactlake.contract.model import IngestError, ParsedBatch, Reject, Upload, make_upload_id

__all__ = ["IngestError", "ParsedBatch", "Reject", "Upload", "make_upload_id"]
