-- sl_presets: one centre's business contacts over a range (the API and the operations report ask for one
-- day) counted for the service level at each threshold the centre may be compared on, per queue and for
-- all queues, so analyse/presets.py can show every declared definition (contactlake.metrics' service-level
-- variants) at each threshold. The stored aggregates hold these counts at the centre's own threshold
-- only; another threshold needs the contacts' queue times, so this reads the contacts.
--
-- Parameters: those of intermediate/int_contacts_classified.sql (grain_minutes = 1440 and lookahead_to =
-- date_to: no interval or repeat is needed here), queue ('' for every queue) and thresholds: the seconds,
-- comma-separated ('20,30,60').
WITH classified AS (
    -- @include int_contacts_classified
),

thresholds AS (
    SELECT DISTINCT CAST(trim(seconds) AS INTEGER) AS threshold_seconds
    FROM UNNEST(split(:thresholds, ',')) AS t (seconds)
),

at_threshold AS (
    SELECT
        h.threshold_seconds,
        c.queue,
        c.is_inbound,
        c.is_offered,
        c.outcome,
        c.queue_seconds <= h.threshold_seconds AS within_threshold
    FROM classified AS c
    CROSS JOIN thresholds AS h
    WHERE NOT c.is_test_contact AND (:queue = '' OR c.queue = :queue)
)

SELECT
    threshold_seconds,
    CASE WHEN grouping(queue) = 1 THEN 'all' ELSE queue END AS queue,
    -- @include sl_counts
FROM at_threshold
GROUP BY GROUPING SETS ((threshold_seconds, queue), (threshold_seconds))
ORDER BY threshold_seconds, queue
