-- kpi_interval: contact-centre KPIs per centre, local-time interval, queue and channel.
-- Grain: :grain_minutes (15, 30 or 60) within each local day. Formulas: docs/metrics.md.
-- Parameters: centre_id, date_from, date_to (local dates, inclusive), grain_minutes,
--             sl_threshold_seconds, short_abandon_seconds, sl_variant.
WITH scoped AS (
    SELECT *
    FROM contacts
    WHERE centre_id = :centre_id
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
      AND test_case_id IS NULL
),

classified AS (
    SELECT
        contact_date,
        date_add(
            'minute',
            -(minute(initiated_local) % CAST(:grain_minutes AS INTEGER)),
            date_trunc('minute', initiated_local)
        ) AS interval_start,
        coalesce(queue, '(none)') AS queue,
        coalesce(channel, 'voice') AS channel,
        outcome,
        queue_seconds,
        coalesce(talk_seconds, 0) AS talk_seconds,
        coalesce(hold_seconds, 0) AS hold_seconds,
        coalesce(acw_seconds, 0) AS acw_seconds,
        outcome IN ('answered', 'abandoned', 'callback_requested') AS is_offered,
        outcome = 'abandoned' AND coalesce(queue_seconds, 0) < :short_abandon_seconds AS is_short_abandon,
        coalesce(queue_seconds, 0) <= :sl_threshold_seconds AS within_threshold
    FROM scoped
),

counted AS (
    SELECT
        contact_date,
        interval_start,
        queue,
        channel,
        count_if(is_offered) AS offered,
        count_if(outcome = 'answered') AS answered,
        count_if(outcome = 'abandoned' AND NOT is_short_abandon) AS abandoned,
        count_if(is_short_abandon) AS short_abandoned,
        count_if(outcome = 'answered' AND within_threshold) AS answered_within_sl,
        count_if(outcome = 'abandoned' AND within_threshold) AS abandoned_within_sl,
        sum(CASE WHEN outcome = 'answered' THEN queue_seconds ELSE 0 END) AS answered_wait_seconds,
        max(CASE WHEN is_offered THEN queue_seconds END) AS longest_wait_seconds,
        sum(CASE WHEN outcome = 'abandoned' AND NOT is_short_abandon THEN queue_seconds ELSE 0 END)
            AS abandoned_wait_seconds,
        sum(CASE WHEN outcome = 'answered' THEN talk_seconds ELSE 0 END) AS talk_seconds,
        sum(CASE WHEN outcome = 'answered' THEN hold_seconds ELSE 0 END) AS hold_seconds,
        sum(CASE WHEN outcome = 'answered' THEN acw_seconds ELSE 0 END) AS acw_seconds
    FROM classified
    GROUP BY contact_date, interval_start, queue, channel
)

SELECT
    contact_date,
    interval_start,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
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
FROM counted
ORDER BY interval_start, queue, channel
