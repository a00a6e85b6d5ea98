-- forecast_read: the stored interval forecast of one centre for a date range, with the actual arrivals
-- once they are known (null for days with no contacts in the aggregates yet, 0 for a quiet interval of a
-- day that has data).
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive).
WITH forecast AS (
    SELECT contact_date, interval_start, forecast_offered, method, made_through
    FROM forecast_interval
    WHERE centre_id = :centre_id
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
),

actual AS (
    SELECT contact_date, interval_start, sum(offered) AS offered
    FROM kpi_interval
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY contact_date, interval_start
),

known_days AS (
    SELECT DISTINCT contact_date
    FROM actual
)

SELECT
    f.contact_date,
    f.interval_start,
    f.forecast_offered,
    CASE WHEN k.contact_date IS NULL THEN NULL ELSE coalesce(a.offered, 0) END AS actual_offered,
    f.method,
    f.made_through
FROM forecast AS f
LEFT JOIN actual AS a ON f.contact_date = a.contact_date AND f.interval_start = a.interval_start
LEFT JOIN known_days AS k ON f.contact_date = k.contact_date
ORDER BY f.interval_start
