-- int_contacts_classified (intermediate, ephemeral: included by the KPI models): each contact of the
-- range with the flags the counts of contactlake.metrics are measured from (offered, short abandon,
-- within the SL threshold, first-contact resolution...), and its local interval. Test and business
-- contacts are both here (is_test_contact): each including model keeps the ones it measures.
--
-- One scan of the contacts: the range and the look-ahead days that can hold repeats are read together;
-- the next inbound first leg of the same customer is a window over that scan (partitioned by whether a
-- row is such a leg, so other rows never count as a repeat), and the look-ahead rows are dropped after
-- it. (A second scan of the look-ahead joined back on the contact id cost a third of the query.)
--
-- Parameters:
--   centre_id                     the centre (partition)
--   date_from, date_to            local dates, inclusive (partition)
--   lookahead_to                  last local date scanned for repeat contacts (first-contact resolution)
--   grain_minutes                 15, 30, 60 or 1440 (a whole local day): the interval_start column
--   sl_threshold_seconds, short_abandon_seconds, fcr_window_hours   from the centre's config
SELECT
    s.contact_date,
    date_add(
        'minute',
        CAST(
            floor((hour(s.initiated_local) * 60 + minute(s.initiated_local)) / CAST(:grain_minutes AS DOUBLE))
            AS BIGINT
        ) * :grain_minutes,
        date_trunc('day', s.initiated_local)
    ) AS interval_start,
    s.queue,
    s.channel,
    s.agent_id,
    s.contact_id,
    s.test_case_id,
    s.is_test_contact,
    s.is_inbound,
    s.outcome,
    s.queue_seconds,
    s.handle_seconds,
    s.talk_seconds,
    s.hold_seconds,
    s.acw_seconds,
    s.hold_count > 0 OR s.hold_seconds > 0 AS was_held,
    s.transfer_count,
    s.escalation_count,
    s.entered_ivr,
    s.outcome IN ('answered', 'abandoned', 'callback_requested', 'transferred') AS is_offered,
    s.outcome = 'abandoned' AND s.queue_seconds < :short_abandon_seconds AS is_short_abandon,
    s.queue_seconds <= :sl_threshold_seconds AS within_threshold,
    s.outcome = 'answered' AND s.customer_key IS NOT NULL AND s.previous_contact_id IS NULL AS fcr_eligible,
    s.next_contact_utc IS NULL
        OR s.next_contact_utc > date_add('hour', CAST(:fcr_window_hours AS INTEGER), s.initiated_utc)
        AS no_repeat
FROM (
    SELECT
        c.*,
        CASE WHEN c.is_first_leg THEN lead(c.initiated_utc) OVER (
            PARTITION BY c.is_first_leg, c.customer_key ORDER BY c.initiated_utc, c.contact_id
        ) END AS next_contact_utc
    FROM (
        SELECT
            *,
            -- Inbound first legs of a pseudonymised customer: the contacts a repeat is looked for among.
            NOT is_test_contact AND customer_key IS NOT NULL AND previous_contact_id IS NULL AND is_inbound
                AS is_first_leg
        FROM (
            -- @include stg_contacts(date_to=lookahead_to)
        ) AS scanned
    ) AS c
) AS s
WHERE s.contact_date <= CAST(:date_to AS DATE)
