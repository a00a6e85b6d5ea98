-- workforce: occupancy, utilisation, shrinkage and staff cost per contact of one centre per period,
-- from the materialised interval aggregates (contacts: kpi_interval; agent time: agent_state_interval).
-- Measures: contactlake.metrics (docs/metrics.md, "Workforce").
--
-- Parameters:
--   centre_id, date_from, date_to   local dates, inclusive
--   grain                           'day' | 'week' (ISO, Monday) | 'month' | 'all' (the whole range)
--   cost_per_agent_hour             the centre's loaded cost of one staffed agent hour
WITH periods AS (
    -- Each local date of the range and the start of its period (the one place :grain is read).
    SELECT
        contact_date,
        CASE :grain
            WHEN 'day' THEN contact_date
            WHEN 'week' THEN CAST(date_trunc('week', contact_date) AS DATE)
            WHEN 'month' THEN CAST(date_trunc('month', contact_date) AS DATE)
            WHEN 'all' THEN CAST(:date_from AS DATE)
        END AS period_start
    FROM (
        SELECT CAST(local_day AS DATE) AS contact_date
        FROM UNNEST(sequence(CAST(:date_from AS DATE), CAST(:date_to AS DATE), INTERVAL '1' DAY)) AS days (local_day)
    )
),

work AS (
    SELECT
        p.period_start,
        sum(offered) AS offered,
        sum(answered) AS answered,
        sum(talk_seconds) + sum(hold_seconds) + sum(acw_seconds) AS inbound_handle_seconds,
        sum(other_handle_seconds) AS other_handle_seconds
    FROM kpi_interval
    INNER JOIN periods AS p USING (contact_date)
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY 1
),

staff AS (
    SELECT
        p.period_start,
        count(DISTINCT agent_id) AS agents,
        sum(logged_in_seconds) AS logged_in_seconds,
        sum(net_staffed_seconds) AS net_staffed_seconds,
        sum(break_seconds) AS break_seconds,
        sum(training_seconds) AS training_seconds,
        sum(other_seconds) AS other_seconds
    FROM agent_state_interval
    INNER JOIN periods AS p USING (contact_date)
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY 1
),

joined AS (
    SELECT
        coalesce(w.period_start, s.period_start) AS period_start,
        coalesce(w.offered, 0) AS offered,
        coalesce(w.answered, 0) AS answered,
        coalesce(s.agents, 0) AS agents,
        coalesce(s.logged_in_seconds, 0) AS logged_in_seconds,
        coalesce(s.net_staffed_seconds, 0) AS net_staffed_seconds,
        coalesce(s.break_seconds, 0) AS break_seconds,
        coalesce(s.training_seconds, 0) AS training_seconds,
        coalesce(s.other_seconds, 0) AS other_seconds,
        -- Handle time always comes from the contacts (one definition whatever the agent export holds).
        coalesce(w.inbound_handle_seconds, 0) + coalesce(w.other_handle_seconds, 0) AS handle_seconds,
        coalesce(s.break_seconds, 0) + coalesce(s.training_seconds, 0) + coalesce(s.other_seconds, 0) AS aux_seconds
    FROM work AS w
    FULL OUTER JOIN staff AS s ON w.period_start = s.period_start
),

costed AS (
    SELECT
        *,
        logged_in_seconds / 3600 * :cost_per_agent_hour AS staff_cost
    FROM joined
)

SELECT
    period_start,
    offered,
    answered,
    agents,
    logged_in_seconds / 3600 AS staffed_hours,
    net_staffed_seconds / 3600 AS net_staffed_hours,
    handle_seconds / 3600 AS handle_hours,
    break_seconds / 3600 AS break_hours,
    training_seconds / 3600 AS training_hours,
    other_seconds / 3600 AS other_aux_hours,
    -- @measure occupancy,
    -- @measure utilisation,
    -- @measure shrinkage,
    staff_cost,
    -- @measure cost_per_contact
FROM costed
ORDER BY period_start
