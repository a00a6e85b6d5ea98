-- kpi_interval (materialised): the additive KPI counts and sums of one centre's business contacts per
-- local 15-minute interval, queue and channel, and the rates derived from them. Every other KPI result
-- (days, weeks, months, queues, channels) is a roll-up of these counts (api/kpi_rollup.sql), never an
-- average of averages. Counts and rates: contactlake.metrics (docs/metrics.md).
--
-- Parameters: those of intermediate/int_contacts_classified.sql, and sl_variant (the centre's).
WITH classified AS (
    -- @include int_contacts_classified
),

counted AS (
    SELECT
        contact_date,
        interval_start,
        queue,
        channel,
        '(all)' AS agent_id,
        -- @include kpi_counts
    FROM classified
    WHERE NOT is_test_contact
    GROUP BY contact_date, interval_start, queue, channel
)

SELECT
    *,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
    -- @include kpi_rates
FROM counted
ORDER BY interval_start, queue, channel, agent_id
