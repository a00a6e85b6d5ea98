-- test_contact_kpis (operational): each synthetic test contact (test_case_id set) measured by the same
-- KPI counts and rates as business contacts, one row per contact, so the measurement itself can be
-- checked against each test case's expected outcome (analyse/quality.py -> test_contact_results).
-- Counts and rates: contactlake.metrics (docs/metrics.md).
--
-- Parameters: those of intermediate/int_contacts_classified.sql, and sl_variant (the centre's).
WITH classified AS (
    -- @include int_contacts_classified
),

counted AS (
    SELECT
        contact_date,
        interval_start,
        queue,
        channel,
        agent_id,
        contact_id,
        test_case_id,
        -- @include kpi_counts
    FROM classified
    WHERE is_test_contact
    GROUP BY contact_date, interval_start, queue, channel, agent_id, contact_id, test_case_id
)

SELECT
    *,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
    -- @include kpi_rates
FROM counted
ORDER BY interval_start, queue, channel, agent_id, contact_id
