-- int_contacts_classified (intermediate, ephemeral: included by the per-agent and per-test-contact KPI
-- models): each contact of the range with every flag the counts of contactlake.metrics are measured
-- from, first-contact resolution included (no_repeat). Test and business contacts are both here
-- (is_test_contact): each including model keeps the ones it measures.
--
-- The contacts that are not inbound first legs of a known customer are never a repeat nor repeated
-- (no_repeat is true); the first legs come with their look-ahead from int_contact_repeats.sql. The
-- nightly materialisation (marts/kpi_interval.sql) counts the two halves apart instead, so its window
-- carries only the few columns it needs.
--
-- Parameters: those of int_contact_repeats.sql (centre_id, date_from, date_to, lookahead_to,
-- grain_minutes, sl_threshold_seconds, short_abandon_seconds, fcr_window_hours).
SELECT
    f.*,
    true AS no_repeat
FROM (
    -- @include int_contact_flags
) AS f
WHERE NOT f.is_first_leg
  AND f.contact_date <= CAST(:date_to AS DATE)
UNION ALL
SELECT *
FROM (
    -- @include int_contact_repeats
) AS r
