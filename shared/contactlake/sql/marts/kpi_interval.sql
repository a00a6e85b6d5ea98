-- kpi_interval, kpi_daily and kpi_agent_daily (materialised, one query): the additive KPI counts and
-- sums of one centre's business contacts, and the rates derived from them, in three grouping sets over
-- one scan of the classified contacts (grain_set says which row is which):
--   'interval'   per local 15-minute interval, queue and channel      -> kpi_interval
--   'day'        per local day, queue and channel                      -> kpi_daily
--   'agent_day'  per local day, answering agent, queue and channel     -> kpi_agent_daily
-- Agents are materialised per day (an agent x interval table would be nearly as big as the detail);
-- api/kpi_agent_interval.sql reads an agent's intervals from the detail. Every other KPI result (weeks,
-- months, 30 and 60 minutes) is a roll-up of these counts (api/kpi_rollup.sql), never an average of
-- averages. Counts and rates: contactlake.metrics (docs/metrics.md).
--
-- Parameters: those of intermediate/int_contacts_classified.sql (grain_minutes = 15), and sl_variant.
WITH classified AS (
    -- @include int_contacts_classified
),

counted AS (
    SELECT
        -- grouping() sets a bit for each column the row is summed over: interval_start, then agent_id.
        CASE grouping(interval_start, agent_id) WHEN 1 THEN 'interval' WHEN 3 THEN 'day' ELSE 'agent_day' END
            AS grain_set,
        contact_date,
        interval_start,
        queue,
        channel,
        coalesce(agent_id, '(all)') AS agent_id,
        -- @include kpi_counts
    FROM classified
    WHERE NOT is_test_contact
    GROUP BY GROUPING SETS (
        (contact_date, interval_start, queue, channel),
        (contact_date, queue, channel),
        (contact_date, queue, channel, agent_id)
    )
)

SELECT
    *,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
    -- @include kpi_rates
FROM counted
