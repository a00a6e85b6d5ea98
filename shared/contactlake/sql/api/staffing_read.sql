-- staffing_read: the materialised per-interval staffing requirement and actual staffing of one centre.
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive).
WITH rows_in_range AS (
    SELECT *
    FROM staffing_interval
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
)

SELECT *
FROM rows_in_range
ORDER BY interval_start
