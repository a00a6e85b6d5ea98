-- v_kpi_daily (a BI view): each centre's KPIs per local day, all queues and channels together, next to
-- its plan: service level by the centre's own variant and target, abandon rate, ASA and AHT against
-- plan. Built on the materialised kpi_daily and the centre_plan snapshot. Measures: contactlake.metrics.
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
        sum(talk_seconds) AS talk_seconds,
        sum(hold_seconds) AS hold_seconds,
        sum(acw_seconds) AS acw_seconds,
        sum(fcr_eligible) AS fcr_eligible,
        sum(fcr_resolved) AS fcr_resolved
    FROM kpi_daily
    GROUP BY centre_id, contact_date
),

planned AS (
    SELECT
        d.*,
        p.name AS centre_name,
        p.sl_variant,
        p.sl_threshold_seconds,
        coalesce(p.plan_service_level, p.sl_target) AS target_service_level,
        p.plan_offered_per_day,
        p.plan_abandon_rate,
        p.plan_asa_seconds,
        p.plan_aht_seconds
    FROM days AS d
    LEFT JOIN centre_plan AS p ON d.centre_id = p.centre_id
),

measured AS (
    SELECT
        centre_id,
        contact_date,
        centre_name,
        offered,
        answered,
        abandoned,
        short_abandoned,
        -- @measure service_level BY sl_variant,
        -- @measure abandon_rate,
        -- @measure asa_seconds,
        -- @measure aht_seconds,
        -- @measure fcr_rate,
        sl_variant,
        sl_threshold_seconds,
        target_service_level,
        plan_offered_per_day,
        plan_abandon_rate,
        plan_asa_seconds,
        plan_aht_seconds
    FROM planned
)

SELECT
    *,
    service_level >= target_service_level AS service_level_met,
    abandon_rate <= plan_abandon_rate AS abandon_rate_met,
    offered - plan_offered_per_day AS offered_vs_plan
FROM measured
