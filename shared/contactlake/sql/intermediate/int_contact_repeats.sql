-- int_contact_repeats (intermediate, ephemeral): the inbound first legs of the range (is_first_leg of
-- int_contact_flags.sql, every column of it) and whether the same customer's next inbound first leg
-- started more than fcr_window_hours later, or never (no_repeat: first-contact resolution).
--
-- The next leg is a window over the first legs of the range and the look-ahead days, ordered by start
-- and then contact id (legs starting at the same instant are ordered, never left to chance); the
-- look-ahead rows are dropped after it. The window sorts what passes through it, so a model should
-- select only the columns it needs from here: the engine then carries only those through the sort
-- (carrying every column of a contact made this window most of the nightly job's time).
--
-- Parameters: those of int_contact_flags.sql, and
--   date_to                       last local date of the range, inclusive
--   fcr_window_hours              from the centre's config
SELECT *
FROM (
    SELECT
        f.*,
        NOT coalesce(
            lead(f.initiated_utc) OVER (PARTITION BY f.customer_key ORDER BY f.initiated_utc, f.contact_id)
                <= date_add('hour', CAST(:fcr_window_hours AS INTEGER), f.initiated_utc),
            false
        ) AS no_repeat
    FROM (
        -- @include int_contact_flags
    ) AS f
    WHERE f.is_first_leg
) AS legs
WHERE legs.contact_date <= CAST(:date_to AS DATE)
