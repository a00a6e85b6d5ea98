-- int_contacts_classified (intermediate, ephemeral: included by the KPI models): each contact of the
-- range with the flags the counts of contactlake.metrics are measured from (offered, short abandon,
-- within the SL threshold, first-contact resolution...), and its local interval. Test and business
-- contacts are both here (is_test_contact): each including model keeps the ones it measures.
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
    f.next_contact_utc IS NULL
        OR f.next_contact_utc > date_add('hour', CAST(:fcr_window_hours AS INTEGER), s.initiated_utc)
        AS no_repeat
FROM (
    -- @include stg_contacts
) AS s
LEFT JOIN (
    -- Inbound first legs of each pseudonymised customer, over the window that can hold their repeats.
    SELECT
        contact_id,
        source_system,
        lead(initiated_utc) OVER (
            PARTITION BY customer_key ORDER BY initiated_utc, contact_id
        ) AS next_contact_utc
    FROM (
        -- @include stg_contacts(date_to=lookahead_to)
    ) AS c
    WHERE NOT is_test_contact
      AND customer_key IS NOT NULL
      AND previous_contact_id IS NULL
      AND is_inbound
) AS f
    ON s.contact_id = f.contact_id AND s.source_system = f.source_system
