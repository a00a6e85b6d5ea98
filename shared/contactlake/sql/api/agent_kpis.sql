-- agent_kpis: per agent over a date range, the contacts they handled (kpi_agent_daily) next to the time
-- they were logged in (agent_state_interval): AHT and its parts, hold and transfer rates, occupancy,
-- utilisation and shrinkage. Measures: contactlake.metrics (docs/metrics.md).
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive).
WITH handled AS (
    SELECT
        agent_id,
        sum(answered) AS answered,
        sum(talk_seconds) AS talk_seconds,
        sum(hold_seconds) AS hold_seconds,
        sum(acw_seconds) AS acw_seconds,
        sum(other_handle_seconds) AS other_handle_seconds,
        sum(held) AS held,
        sum(transferred) AS transferred,
        sum(transfers) AS transfers,
        sum(escalated) AS escalated,
        sum(answered_within_sl) AS answered_within_sl,
        sum(fcr_eligible) AS fcr_eligible,
        sum(fcr_resolved) AS fcr_resolved
    FROM kpi_agent_daily
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
      AND agent_id <> '(none)'
    GROUP BY agent_id
),

logged AS (
    SELECT
        agent_id,
        max(team) AS team,
        sum(logged_in_seconds) AS logged_in_seconds,
        sum(net_staffed_seconds) AS net_staffed_seconds,
        sum(break_seconds) + sum(training_seconds) + sum(other_seconds) AS aux_seconds
    FROM agent_state_interval
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY agent_id
),

joined AS (
    SELECT
        coalesce(h.agent_id, l.agent_id) AS agent_id,
        l.team,
        coalesce(h.answered, 0) AS answered,
        coalesce(h.talk_seconds, 0) AS talk_seconds,
        coalesce(h.hold_seconds, 0) AS hold_seconds,
        coalesce(h.acw_seconds, 0) AS acw_seconds,
        coalesce(h.other_handle_seconds, 0) AS other_handle_seconds,
        coalesce(h.held, 0) AS held,
        coalesce(h.transferred, 0) AS transferred,
        coalesce(h.transfers, 0) AS transfers,
        coalesce(h.escalated, 0) AS escalated,
        coalesce(h.fcr_eligible, 0) AS fcr_eligible,
        coalesce(h.fcr_resolved, 0) AS fcr_resolved,
        coalesce(l.logged_in_seconds, 0) AS logged_in_seconds,
        coalesce(l.net_staffed_seconds, 0) AS net_staffed_seconds,
        coalesce(l.aux_seconds, 0) AS aux_seconds,
        coalesce(h.talk_seconds, 0) + coalesce(h.hold_seconds, 0) + coalesce(h.acw_seconds, 0)
            + coalesce(h.other_handle_seconds, 0) AS handle_seconds
    FROM handled AS h
    FULL OUTER JOIN logged AS l ON h.agent_id = l.agent_id
)

SELECT
    agent_id,
    team,
    answered,
    -- @measure aht_seconds,
    -- @measure avg_talk_seconds AS talk_seconds,
    -- @measure avg_hold_seconds AS hold_seconds,
    -- @measure avg_acw_seconds AS acw_seconds,
    -- @measure hold_rate,
    transfers,
    -- @measure transfer_rate,
    -- @measure escalation_rate,
    -- @measure fcr_rate,
    logged_in_seconds / 3600 AS staffed_hours,
    -- @measure occupancy,
    -- @measure utilisation,
    -- @measure shrinkage
FROM joined
ORDER BY agent_id
