-- The derived rates of docs/metrics.md, from a row's summed counts. Included (not copied) by
-- kpi_interval.sql and kpi_rollup.sql: one definition of every rate whatever the grain.
    CASE :sl_variant
        WHEN 'answered_only' THEN CAST(answered_within_sl AS DOUBLE) / nullif(answered, 0)
        WHEN 'abandons_ignored' THEN CAST(answered_within_sl AS DOUBLE) / nullif(offered - abandoned_within_sl, 0)
        WHEN 'abandons_negative' THEN CAST(answered_within_sl AS DOUBLE) / nullif(offered, 0)
        WHEN 'short_abandons_positive'
            THEN CAST(answered_within_sl + abandoned_within_sl AS DOUBLE) / nullif(offered, 0)
    END AS service_level,
    answered_wait_seconds / nullif(answered, 0) AS asa_seconds,
    abandoned_wait_seconds / nullif(abandoned, 0) AS avg_time_to_abandon_seconds,
    (talk_seconds + hold_seconds + acw_seconds) / nullif(answered, 0) AS aht_seconds,
    CAST(abandoned AS DOUBLE) / nullif(offered - short_abandoned, 0) AS abandon_rate,
    CAST(held AS DOUBLE) / nullif(answered, 0) AS hold_rate,
    CAST(transferred AS DOUBLE) / nullif(answered, 0) AS transfer_rate,
    CAST(escalated AS DOUBLE) / nullif(answered, 0) AS escalation_rate,
    CAST(self_served AS DOUBLE) / nullif(ivr_entered, 0) AS ivr_containment,
    CAST(callback_requested AS DOUBLE) / nullif(offered, 0) AS callback_rate,
    CAST(fcr_resolved AS DOUBLE) / nullif(fcr_eligible, 0) AS fcr_rate
