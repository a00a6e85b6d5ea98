-- v_kpi_daily (a BI view): each centre's KPIs per local day, all queues and channels together, next to
-- its plan: service level by the centre's own variant and target, abandon rate, ASA and AHT against
-- plan. Built on the materialised kpi_daily and the centre_plan snapshot. Formulas: docs/metrics.md.
-- Parameters: none.
WITH days AS (
    SELECT
        centre_id,
        contact_date,
        sum(offered) AS offered,
        sum(answered) AS answered,
        sum(abandoned) AS abandoned,
        sum(short_abandoned) AS short_abandoned,
        sum(answered_within_sl) AS answered_within_sl,
        sum(abandoned_within_sl) AS abandoned_within_sl,
        sum(answered_wait_seconds) AS answered_wait_seconds,
        sum(talk_seconds) + sum(hold_seconds) + sum(acw_seconds) AS handle_seconds,
        sum(fcr_eligible) AS fcr_eligible,
        sum(fcr_resolved) AS fcr_resolved
    FROM kpi_daily
    GROUP BY centre_id, contact_date
),

measured AS (
    SELECT
        d.centre_id,
        d.contact_date,
        p.name AS centre_name,
        d.offered,
        d.answered,
        d.abandoned,
        d.short_abandoned,
        CASE p.sl_variant
            WHEN 'answered_only' THEN CAST(d.answered_within_sl AS DOUBLE) / nullif(d.answered, 0)
            WHEN 'abandons_ignored'
                THEN CAST(d.answered_within_sl AS DOUBLE) / nullif(d.offered - d.abandoned_within_sl, 0)
            WHEN 'abandons_negative' THEN CAST(d.answered_within_sl AS DOUBLE) / nullif(d.offered, 0)
            WHEN 'short_abandons_positive'
                THEN CAST(d.answered_within_sl + d.abandoned_within_sl AS DOUBLE) / nullif(d.offered, 0)
        END AS service_level,
        CAST(d.abandoned AS DOUBLE) / nullif(d.offered - d.short_abandoned, 0) AS abandon_rate,
        d.answered_wait_seconds / nullif(d.answered, 0) AS asa_seconds,
        d.handle_seconds / nullif(d.answered, 0) AS aht_seconds,
        CAST(d.fcr_resolved AS DOUBLE) / nullif(d.fcr_eligible, 0) AS fcr_rate,
        p.sl_variant,
        p.sl_threshold_seconds,
        coalesce(p.plan_service_level, p.sl_target) AS target_service_level,
        p.plan_offered_per_day,
        p.plan_abandon_rate,
        p.plan_asa_seconds,
        p.plan_aht_seconds
    FROM days AS d
    LEFT JOIN centre_plan AS p ON d.centre_id = p.centre_id
)

SELECT
    *,
    service_level >= target_service_level AS service_level_met,
    abandon_rate <= plan_abandon_rate AS abandon_rate_met,
    offered - plan_offered_per_day AS offered_vs_plan
FROM measured
