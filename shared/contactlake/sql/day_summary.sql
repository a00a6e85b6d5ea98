-- day_summary: one line per centre for a local day, from the daily aggregates (the demo's summary).
-- Parameters: day.
WITH day_rows AS (
    SELECT *
    FROM kpi_daily
    WHERE contact_date = CAST(:day AS DATE)
)

SELECT
    centre_id,
    sum(offered) AS offered,
    sum(answered) AS answered,
    sum(abandoned) AS abandoned,
    sum(answered_within_sl) AS answered_within_sl,
    sum(answered_wait_seconds) / nullif(sum(answered), 0) AS asa_seconds,
    (sum(talk_seconds) + sum(hold_seconds) + sum(acw_seconds)) / nullif(sum(answered), 0) AS aht_seconds
FROM day_rows
GROUP BY centre_id
ORDER BY centre_id
