-- ingest_log_since: every upload a centre's ingest recorded on or after a date (one row per upload: status,
-- rows read / stored / quarantined / excluded / flagged / carried, by rule, the business days it covers and
-- when it first arrived). The log is partitioned by the day the upload
-- arrived, which is never before the business day it describes, so scanning from date_from is enough.
--
-- Parameters: centre_id, date_from (local date).
WITH uploads AS (
    SELECT
        ingest_date,
        upload_id,
        source_system,
        source_key,
        dataset_key,
        status,
        rows_read,
        rows_stored,
        rows_quarantined,
        rows_excluded,
        quarantined_by_rule,
        excluded_by_rule,
        rows_flagged,
        flagged_by_rule,
        coverage,
        rows_carried,
        rows_carried_in,
        arrived_utc,
        files_written,
        started_utc,
        finished_utc
    FROM ingest_log
    WHERE centre_id = :centre_id
      AND ingest_date >= CAST(:date_from AS DATE)
)

SELECT *
FROM uploads
ORDER BY dataset_key, finished_utc, upload_id
