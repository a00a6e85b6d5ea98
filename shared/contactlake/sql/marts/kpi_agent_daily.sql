-- kpi_agent_daily (materialised): the KPI counts and rates of one centre's business contacts per local
-- day, answering agent ('(none)' if unanswered), queue and channel. Agents are materialised per day (an
-- agent x interval table would be nearly as big as the detail); api/kpi_agent_interval.sql reads an
-- agent's intervals from the detail. Counts and rates: contactlake.metrics (docs/metrics.md).
--
-- Parameters: those of intermediate/int_contacts_classified.sql with grain_minutes = 1440 (a whole
-- local day), and sl_variant (the centre's).
WITH classified AS (
    -- @include int_contacts_classified
),

counted AS (
    SELECT
        contact_date,
        interval_start,
        queue,
        channel,
        agent_id,
        -- @include kpi_counts
    FROM classified
    WHERE NOT is_test_contact
    GROUP BY contact_date, interval_start, queue, channel, agent_id
)

SELECT
    *,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
    -- @include kpi_rates
FROM counted
ORDER BY interval_start, queue, channel, agent_id
