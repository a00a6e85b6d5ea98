-- v_cost_daily (a BI view): each centre's staffed hours, staff cost and cost per answered contact per
-- local day against its budget per contact, from the materialised agent_state_interval and kpi_daily
-- aggregates and the centre_plan snapshot. Parameters: none.
WITH staffed AS (
    SELECT centre_id, contact_date, sum(logged_in_seconds) / 3600 AS staffed_hours
    FROM agent_state_interval
    GROUP BY centre_id, contact_date
),

handled AS (
    SELECT centre_id, contact_date, sum(answered) AS answered
    FROM kpi_daily
    GROUP BY centre_id, contact_date
),

costed AS (
    SELECT
        coalesce(s.centre_id, h.centre_id) AS centre_id,
        coalesce(s.contact_date, h.contact_date) AS contact_date,
        coalesce(h.answered, 0) AS answered,
        coalesce(s.staffed_hours, 0) AS staffed_hours
    FROM staffed AS s
    FULL OUTER JOIN handled AS h ON s.centre_id = h.centre_id AND s.contact_date = h.contact_date
),

priced AS (
    SELECT
        c.centre_id,
        c.contact_date,
        c.answered,
        c.staffed_hours,
        c.staffed_hours * p.cost_per_agent_hour AS staff_cost,
        p.plan_budget_per_contact AS budget_per_contact
    FROM costed AS c
    LEFT JOIN centre_plan AS p ON c.centre_id = p.centre_id
),

measured AS (
    SELECT
        centre_id,
        contact_date,
        answered,
        staffed_hours,
        staff_cost,
        -- @measure cost_per_contact,
        budget_per_contact
    FROM priced
)

SELECT
    *,
    cost_per_contact - budget_per_contact AS variance
FROM measured
