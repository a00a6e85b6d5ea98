-- reconcile_days: per local day, contact counts recounted from the detail next to the same counts in
-- every materialised KPI aggregate, so a broken aggregate (or a stale partition) shows as a difference.
-- The detail recount deliberately does not reuse the KPI models or contactlake.metrics' counts: it is the
-- independent side (it shares only the staging defaults of staging/stg_contacts.sql).
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive).
WITH detail AS (
    SELECT
        contact_date,
        count_if(NOT is_test_contact AND is_inbound) AS contacts,
        count_if(NOT is_test_contact AND is_inbound
            AND outcome IN ('answered', 'abandoned', 'callback_requested', 'transferred')) AS offered,
        count_if(NOT is_test_contact AND is_inbound AND outcome = 'answered') AS answered,
        count_if(NOT is_test_contact AND is_inbound AND outcome = 'abandoned') AS abandoned_all,
        count_if(is_test_contact) AS test_contacts
    FROM (
        -- @include stg_contacts
    ) AS c
    GROUP BY contact_date
),

intervals AS (
    SELECT
        contact_date,
        sum(contacts) AS contacts,
        sum(offered) AS offered,
        sum(answered) AS answered,
        sum(abandoned) + sum(short_abandoned) AS abandoned_all,
        sum(callback_requested) AS callback_requested,
        sum(queue_transferred) AS queue_transferred
    FROM kpi_interval
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY contact_date
),

agents AS (
    SELECT contact_date, sum(offered) AS offered, sum(answered) AS answered
    FROM kpi_agent_daily
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY contact_date
),

daily AS (
    SELECT contact_date, sum(offered) AS offered, sum(answered) AS answered
    FROM kpi_daily
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY contact_date
)

SELECT
    coalesce(d.contact_date, i.contact_date) AS contact_date,
    coalesce(d.contacts, 0) AS detail_contacts,
    coalesce(d.offered, 0) AS detail_offered,
    coalesce(d.answered, 0) AS detail_answered,
    coalesce(d.abandoned_all, 0) AS detail_abandoned,
    coalesce(d.test_contacts, 0) AS detail_test_contacts,
    coalesce(i.contacts, 0) AS interval_contacts,
    coalesce(i.offered, 0) AS interval_offered,
    coalesce(i.answered, 0) AS interval_answered,
    coalesce(i.abandoned_all, 0) AS interval_abandoned,
    coalesce(i.callback_requested, 0) AS interval_callback_requested,
    coalesce(i.queue_transferred, 0) AS interval_queue_transferred,
    coalesce(a.offered, 0) AS agent_offered,
    coalesce(a.answered, 0) AS agent_answered,
    coalesce(y.offered, 0) AS daily_offered,
    coalesce(y.answered, 0) AS daily_answered
FROM detail AS d
FULL OUTER JOIN intervals AS i ON d.contact_date = i.contact_date
LEFT JOIN agents AS a ON coalesce(d.contact_date, i.contact_date) = a.contact_date
LEFT JOIN daily AS y ON coalesce(d.contact_date, i.contact_date) = y.contact_date
ORDER BY 1
