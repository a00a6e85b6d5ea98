-- kpi_series: the published KPI columns (contactlake.metrics.KPI_PUBLISHED) at any grain and dimension,
-- as the API and the reports show them: intermediate/int_kpi_rollup.sql with only those columns, so a
-- year of 15-minute rows carries 24 columns instead of 41 out of the engine (the widest read of the API).
--
-- Parameters: those of intermediate/int_kpi_rollup.sql.
SELECT
    period_start,
    queue,
    channel,
    agent_id,
    -- @include kpi_published_columns
FROM (
    -- @include int_kpi_rollup
) AS rolled
ORDER BY period_start, queue, channel, agent_id
