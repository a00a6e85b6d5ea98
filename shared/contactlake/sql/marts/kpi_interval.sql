-- kpi_interval, kpi_daily and kpi_agent_daily (materialised, one query): the additive KPI counts and
-- sums of one centre's business contacts, and the rates derived from them (grain_set says which row is
-- which):
--   'interval'   per local 15-minute interval, queue and channel      -> kpi_interval
--   'day'        per local day, queue and channel                      -> kpi_daily
--   'agent_day'  per local day, answering agent, queue and channel     -> kpi_agent_daily
-- Agents are materialised per day (an agent x interval table would be nearly as big as the detail);
-- api/kpi_agent_interval.sql reads an agent's intervals from the detail. Every other KPI result (weeks,
-- months, 30 and 60 minutes) is a roll-up of these counts (intermediate/int_kpi_rollup.sql), never an average of
-- averages. Counts and rates: contactlake.metrics (docs/metrics.md).
--
-- How, and why so (docs/benchmarks.md has the measurements):
--   counted    the counts each contact gives alone, grouped by interval and by agent-day, in the order
--              the contacts are read (one scan of the range; the look-ahead days are not read here).
--   repeats    first-contact resolution: the first legs with only the columns the grouping needs pass
--              through the look-ahead window (int_contact_repeats.sql), grouped the same way.
--   the two joined per group; a day is then the sum of its intervals (both are sums of the same
--   contacts), so no third pass over the contacts.
--
-- Parameters: those of intermediate/int_contact_repeats.sql (grain_minutes = 15), and sl_variant.
WITH counted AS (
    SELECT
        -- grouping() sets a bit for each column the row is summed over: interval_start, then agent_id.
        CASE grouping(interval_start, agent_id) WHEN 1 THEN 'interval' ELSE 'agent_day' END AS grain_set,
        contact_date,
        interval_start,
        queue,
        channel,
        coalesce(agent_id, '(all)') AS agent_id,
        -- @include kpi_contact_counts
    FROM (
        -- @include int_contact_flags
    ) AS contacts
    WHERE contact_date <= CAST(:date_to AS DATE)
      AND NOT is_test_contact
    GROUP BY GROUPING SETS (
        (contact_date, interval_start, queue, channel),
        (contact_date, queue, channel, agent_id)
    )
),

repeats AS (
    SELECT
        CASE grouping(interval_start, agent_id) WHEN 1 THEN 'interval' ELSE 'agent_day' END AS grain_set,
        contact_date,
        interval_start,
        queue,
        channel,
        coalesce(agent_id, '(all)') AS agent_id,
        -- @include kpi_look_ahead_counts
    FROM (
        SELECT contact_date, interval_start, queue, channel, agent_id, is_inbound, fcr_eligible, no_repeat
        FROM (
            -- @include int_contact_repeats
        ) AS legs
    ) AS legs
    WHERE fcr_eligible
    GROUP BY GROUPING SETS (
        (contact_date, interval_start, queue, channel),
        (contact_date, queue, channel, agent_id)
    )
),

intervals_and_agent_days AS (
    SELECT
        c.grain_set,
        c.contact_date,
        c.interval_start,
        c.queue,
        c.channel,
        c.agent_id,
        -- @include kpi_count_columns_joined
    FROM counted AS c
    LEFT JOIN repeats AS r
        ON r.grain_set = c.grain_set
        AND r.contact_date = c.contact_date
        AND r.interval_start IS NOT DISTINCT FROM c.interval_start
        AND r.queue = c.queue
        AND r.channel = c.channel
        AND r.agent_id = c.agent_id
),

days AS (
    SELECT
        'day' AS grain_set,
        contact_date,
        CAST(NULL AS TIMESTAMP) AS interval_start,
        queue,
        channel,
        '(all)' AS agent_id,
        -- @include kpi_count_rollup
    FROM intervals_and_agent_days
    WHERE grain_set = 'interval'
    GROUP BY contact_date, queue, channel
),

counts AS (
    SELECT * FROM intervals_and_agent_days
    UNION ALL
    SELECT * FROM days
)

SELECT
    *,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
    -- @include kpi_rates
FROM counts
