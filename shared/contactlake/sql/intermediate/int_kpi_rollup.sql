-- int_kpi_rollup (intermediate, ephemeral: included by api/kpi_rollup.sql and api/kpi_series.sql, which
-- choose the columns and the order): KPIs at any grain and dimension, rolled up from the materialised
-- counts, so a day always equals the sum of its intervals and rates are ratios of summed counts (never
-- averages of averages). Counts and rates: contactlake.metrics, the same as marts/kpi_interval.sql
-- (docs/metrics.md).
--
-- The interval grains (and week_hour) read kpi_interval; day, week, month and 'all' read kpi_daily (a
-- row per day, queue and channel rather than 96); agents read kpi_agent_daily. Each table is kept in one
-- file per centre and month, so contact_month prunes the files and contact_date the rows.
--
-- Parameters:
--   centre_id, date_from, date_to   local dates, inclusive (partition pruning on the aggregate tables)
--   grain       '15min' | '30min' | '60min' | 'day' | 'week' (ISO, Monday) | 'month' | 'all' (whole range)
--               | 'week_hour' (day of week x hour of day, keyed on the week of Monday 2001-01-01)
--   dimension   'none' | 'queue' | 'channel' | 'queue_channel' |
--               'agent' (from kpi_agent_daily: day-based grains only)
--   queue, channel                  '' = all, else only that queue / channel
--   sl_variant                      the centre's service-level variant
WITH base AS (
    SELECT
        contact_date,
        interval_start,
        queue,
        channel,
        agent_id,
        -- @include kpi_count_columns
    FROM kpi_interval
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
      AND :dimension <> 'agent'
      AND :grain IN ('15min', '30min', '60min', 'week_hour')
    UNION ALL
    SELECT
        contact_date,
        CAST(contact_date AS TIMESTAMP) AS interval_start,
        queue,
        channel,
        '(all)' AS agent_id,
        -- @include kpi_count_columns
    FROM kpi_daily
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
      AND :dimension <> 'agent'
      AND :grain NOT IN ('15min', '30min', '60min', 'week_hour')
    UNION ALL
    -- Agents are materialised per day (an agent x interval table would be nearly as big as the detail):
    -- day, week, month and 'all' only; kpis() reads an agent's intervals from api/kpi_agent_interval.sql.
    SELECT
        contact_date,
        CAST(contact_date AS TIMESTAMP) AS interval_start,
        queue,
        channel,
        agent_id,
        -- @include kpi_count_columns
    FROM kpi_agent_daily
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
      AND :dimension = 'agent'
),

keyed AS (
    SELECT
        CASE :grain
            WHEN '15min' THEN interval_start
            WHEN '30min' THEN date_add('minute', -(minute(interval_start) % 30), interval_start)
            WHEN '60min' THEN date_trunc('hour', interval_start)
            WHEN 'day' THEN date_trunc('day', interval_start)
            WHEN 'week' THEN date_trunc('week', interval_start)
            WHEN 'month' THEN date_trunc('month', interval_start)
            WHEN 'all' THEN CAST(CAST(:date_from AS DATE) AS TIMESTAMP)
            -- The week's shape: every Monday 09:00 lands on Monday 2001-01-01 09:00 (a Monday), and so on.
            WHEN 'week_hour' THEN date_add(
                'hour', hour(interval_start),
                date_add('day', day_of_week(interval_start) - 1, TIMESTAMP '2001-01-01 00:00:00')
            )
        END AS period_start,
        CASE WHEN :dimension IN ('queue', 'queue_channel') THEN queue ELSE '(all)' END AS queue,
        CASE WHEN :dimension IN ('channel', 'queue_channel') THEN channel ELSE '(all)' END AS channel,
        CASE WHEN :dimension = 'agent' THEN agent_id ELSE '(all)' END AS agent_id,
        -- @include kpi_count_columns
    FROM base
    WHERE (:queue = '' OR queue = :queue)
      AND (:channel = '' OR channel = :channel)
),

summed AS (
    SELECT
        period_start,
        queue,
        channel,
        agent_id,
        -- @include kpi_count_rollup
    FROM keyed
    GROUP BY period_start, queue, channel, agent_id
)

SELECT
    period_start,
    queue,
    channel,
    agent_id,
    -- @include kpi_count_columns,
    -- @include kpi_rates
FROM summed
