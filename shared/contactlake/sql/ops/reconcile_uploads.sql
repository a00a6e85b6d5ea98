-- reconcile_uploads: rows actually in the lake per upload and table, to compare with the manifests.
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive; cover every partition the uploads wrote).
WITH contact_rows AS (
    SELECT upload_id, 'contacts' AS table_name, count(*) AS lake_rows
    FROM contacts
    WHERE centre_id = :centre_id
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY upload_id
),

activity_rows AS (
    SELECT upload_id, 'agent_activity' AS table_name, count(*) AS lake_rows
    FROM agent_activity
    WHERE centre_id = :centre_id
      AND activity_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY upload_id
)

SELECT upload_id, table_name, lake_rows FROM contact_rows
UNION ALL
SELECT upload_id, table_name, lake_rows FROM activity_rows
ORDER BY upload_id, table_name
