-- kpi_daily: the day's KPIs per centre, queue and channel, rolled up from the materialised
-- 15-minute intervals (so a daily figure always equals the sum of its intervals).
-- Parameters: centre_id, date_from, date_to (local dates, inclusive), sl_variant.
WITH intervals AS (
    SELECT *
    FROM kpi_interval
    WHERE centre_id = :centre_id
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
),

summed AS (
    SELECT
        contact_date,
        queue,
        channel,
        sum(offered) AS offered,
        sum(answered) AS answered,
        sum(abandoned) AS abandoned,
        sum(short_abandoned) AS short_abandoned,
        sum(answered_within_sl) AS answered_within_sl,
        sum(abandoned_within_sl) AS abandoned_within_sl,
        sum(answered_wait_seconds) AS answered_wait_seconds,
        max(longest_wait_seconds) AS longest_wait_seconds,
        sum(avg_time_to_abandon_seconds * abandoned) AS abandoned_wait_seconds,
        sum(talk_seconds) AS talk_seconds,
        sum(hold_seconds) AS hold_seconds,
        sum(acw_seconds) AS acw_seconds
    FROM intervals
    GROUP BY contact_date, queue, channel
)

SELECT
    contact_date,
    queue,
    channel,
    offered,
    answered,
    abandoned,
    short_abandoned,
    answered_within_sl,
    abandoned_within_sl,
    CASE :sl_variant
        WHEN 'answered_only' THEN CAST(answered_within_sl AS DOUBLE) / nullif(answered, 0)
        WHEN 'abandons_ignored' THEN CAST(answered_within_sl AS DOUBLE) / nullif(offered - abandoned_within_sl, 0)
        WHEN 'abandons_negative' THEN CAST(answered_within_sl AS DOUBLE) / nullif(offered, 0)
        WHEN 'short_abandons_positive'
            THEN CAST(answered_within_sl + abandoned_within_sl AS DOUBLE) / nullif(offered, 0)
    END AS service_level,
    answered_wait_seconds / nullif(answered, 0) AS asa_seconds,
    longest_wait_seconds,
    abandoned_wait_seconds / nullif(abandoned, 0) AS avg_time_to_abandon_seconds,
    (talk_seconds + hold_seconds + acw_seconds) / nullif(answered, 0) AS aht_seconds,
    CAST(abandoned AS DOUBLE) / nullif(offered - short_abandoned, 0) AS abandon_rate,
    answered_wait_seconds,
    talk_seconds,
    hold_seconds,
    acw_seconds
FROM summed
ORDER BY contact_date, queue, channel
