-- report_uploads: every upload recorded for a centre, one row per upload, with the business days its
-- rows fall in (coverage, a JSON object day -> rows stored), for the report completeness check ("is
-- every expected export in?") and the API's uploads route. Which days an upload delivered comes from its
-- rows (contactlake.analyse.quality.upload_days reads coverage), whatever the object's name: a monthly
-- file covers every day of its month, a Firehose-keyed CTR file the days of its records.
-- Parameters: centre_id.
WITH uploads AS (
    SELECT
        upload_id,
        split_part(source_key, '/', 2) AS source,
        dataset_key,
        source_system,
        source_key,
        status,
        rows_read,
        rows_stored,
        rows_quarantined,
        rows_excluded,
        rows_flagged,
        quarantined_by_rule,
        flagged_by_rule,
        coverage,
        started_utc,
        finished_utc
    FROM ingest_log
    WHERE centre_id = :centre_id
)

SELECT *
FROM uploads
ORDER BY finished_utc, upload_id
