-- kpi_rollup: KPIs at any grain and dimension with every count and rate (intermediate/int_kpi_rollup.sql
-- says how they are rolled up), one row per period, queue, channel and agent ('(all)' where the dimension
-- does not split). Read by the analyses that need the counts (trends, plan, staffing, forecast).
--
-- Parameters: those of intermediate/int_kpi_rollup.sql.
SELECT *
FROM (
    -- @include int_kpi_rollup
) AS rolled
ORDER BY period_start, queue, channel, agent_id
