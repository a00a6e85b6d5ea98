-- report_uploads: every upload recorded for a centre's business days, one row per upload, for the
-- report completeness check ("is every expected export in?") and the API's uploads route.
-- The business day and source come from the dataset key <centre>/<source>/<day> (the day the export
-- covers), not from ingest_date (the day it arrived).
-- Parameters: centre_id, date_from, date_to (business days, inclusive, 'YYYY-MM-DD').
WITH uploads AS (
    SELECT
        upload_id,
        split_part(dataset_key, '/', 2) AS source,
        split_part(dataset_key, '/', 3) AS business_day,
        source_system,
        source_key,
        status,
        rows_read,
        rows_stored,
        rows_quarantined,
        rows_excluded,
        quarantined_by_rule,
        started_utc,
        finished_utc
    FROM ingest_log
    WHERE centre_id = :centre_id
)

SELECT
    upload_id,
    source,
    business_day,
    source_system,
    source_key,
    status,
    rows_read,
    rows_stored,
    rows_quarantined,
    rows_excluded,
    quarantined_by_rule,
    started_utc,
    finished_utc
FROM uploads
WHERE business_day BETWEEN :date_from AND :date_to
ORDER BY business_day, source, finished_utc, upload_id
