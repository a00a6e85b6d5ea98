-- kpi_agent_interval (API read): the KPI counts and rates of one centre's business contacts per agent
-- and local 15/30/60-minute interval, read from the (partition-pruned) detail, because agents are
-- materialised per day only (marts/kpi_agent_daily.sql). Queue and channel are '(all)'; they filter.
-- Counts and rates: contactlake.metrics (docs/metrics.md).
--
-- Parameters: those of intermediate/int_contacts_classified.sql, sl_variant (the centre's), and
--   queue, channel                '' = all, else only that queue / channel
WITH classified AS (
    -- @include int_contacts_classified
),

counted AS (
    SELECT
        contact_date,
        interval_start,
        '(all)' AS queue,
        '(all)' AS channel,
        agent_id,
        -- @include kpi_counts
    FROM classified
    WHERE NOT is_test_contact
      AND (:queue = '' OR queue = :queue)
      AND (:channel = '' OR channel = :channel)
    GROUP BY contact_date, interval_start, agent_id
)

SELECT
    *,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
    -- @include kpi_rates
FROM counted
ORDER BY interval_start, queue, channel, agent_id
