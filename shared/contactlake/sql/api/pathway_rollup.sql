-- pathway_rollup: path volumes, outcomes, waits and handle times over a date range, from the materialised
-- pathway_daily aggregate (most frequent first).
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive).
WITH days AS (
    SELECT path, path_source, contacts, answered, abandoned, self_served, ivr_abandoned, queue_seconds,
        handle_seconds, transfers, escalations
    FROM pathway_daily
    WHERE centre_id = :centre_id
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
)

SELECT
    path,
    path_source,
    sum(contacts) AS contacts,
    sum(answered) AS answered,
    sum(abandoned) AS abandoned,
    sum(self_served) AS self_served,
    sum(ivr_abandoned) AS ivr_abandoned,
    sum(queue_seconds) AS queue_seconds,
    sum(handle_seconds) AS handle_seconds,
    sum(transfers) AS transfers,
    sum(escalations) AS escalations
FROM days
GROUP BY path, path_source
ORDER BY contacts DESC, path
