"""The commit stage: checks that need state (duplicates), then stores an upload in the lake, exactly once.

:mod:`~contactlake.commit.committer` holds the stage (hold-back of the last day, partitioned writes,
manifest, replacement); :mod:`~contactlake.commit.idledger` finds ids repeated across batches,
:mod:`~contactlake.commit.spool` collects quarantined rows, :mod:`~contactlake.commit.lease` serialises
commits of one centre and source. The ``functions/validate`` Lambda runs this stage.
"""
