-- int_contact_flags (intermediate, ephemeral): each contact of the range and its FCR look-ahead days with
-- the flags the counts of contactlake.metrics are measured from (offered, short abandon, within the SL
-- threshold, eligible for first-contact resolution...), its local interval, and whether it is an inbound
-- first leg of a known customer (is_first_leg: the contacts a repeat is looked for among). Everything a
-- contact says about itself; whether the customer came back is int_contact_repeats.sql.
--
-- The scan runs to lookahead_to, so the models that need no look-ahead filter
-- contact_date <= date_to (the filter reaches the partitions: the look-ahead days are not read).
--
-- Parameters:
--   centre_id                     the centre (partition)
--   date_from                     first local date, inclusive (partition)
--   lookahead_to                  last local date scanned (the range's end plus the FCR window)
--   grain_minutes                 15, 30, 60 or 1440 (a whole local day): the interval_start column
--   sl_threshold_seconds, short_abandon_seconds   from the centre's config
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
    s.customer_key,
    s.initiated_utc,
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
    NOT s.is_test_contact AND s.customer_key IS NOT NULL AND s.previous_contact_id IS NULL AND s.is_inbound
        AS is_first_leg
FROM (
    -- @include stg_contacts(date_to=lookahead_to)
) AS s
