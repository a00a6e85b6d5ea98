-- kpi_interval: the additive KPI counts and sums of one centre per local-time interval, and the rates
-- derived from them. Every other KPI result (days, weeks, months, queues, agents) is a roll-up of these
-- counts, never an average of averages. Formulas: docs/metrics.md.
--
-- Parameters:
--   centre_id                     the centre (partition)
--   date_from, date_to            local dates, inclusive (partition)
--   lookahead_to                  last local date scanned for repeat contacts (first-contact resolution)
--   grain_minutes                 15, 30, 60 or 1440 (a whole local day)
--   breakdown                     'queue_channel' (queue x channel), 'agent' (agent x queue x channel),
--                                 'agent_only' (agent; queue and channel '(all)') or 'test_contact' (one
--                                 row per contact: used to verify synthetic test calls)
--   queue, channel                '' = all, else only that queue / channel
--   test_contacts                 false = business contacts only; true = synthetic test contacts only
--   sl_threshold_seconds, short_abandon_seconds, sl_variant, fcr_window_hours   from the centre's config
WITH scoped AS (
    SELECT *
    FROM contacts
    WHERE centre_id = :centre_id
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
      AND (test_case_id IS NOT NULL) = :test_contacts
      AND (:queue = '' OR coalesce(queue, '(none)') = :queue)
      AND (:channel = '' OR coalesce(channel, 'voice') = :channel)
),

first_contacts AS (
    -- Inbound first legs of each pseudonymised customer, over the window that can hold their repeats.
    SELECT
        contact_id,
        source_system,
        lead(initiated_utc) OVER (
            PARTITION BY customer_key ORDER BY initiated_utc, contact_id
        ) AS next_contact_utc
    FROM contacts
    WHERE centre_id = :centre_id
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:lookahead_to AS DATE)
      AND test_case_id IS NULL
      AND customer_key IS NOT NULL
      AND previous_contact_id IS NULL
      AND coalesce(direction, 'inbound') = 'inbound'
),

classified AS (
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
        CASE WHEN :breakdown IN ('agent', 'agent_only', 'test_contact')
            THEN coalesce(s.agent_id, '(none)') ELSE '(all)' END AS agent_id,
        CASE WHEN :breakdown = 'test_contact' THEN s.contact_id END AS contact_id,
        CASE WHEN :breakdown = 'test_contact' THEN s.test_case_id END AS test_case_id,
        CASE WHEN :breakdown = 'agent_only' THEN '(all)' ELSE coalesce(s.queue, '(none)') END AS queue,
        CASE WHEN :breakdown = 'agent_only' THEN '(all)' ELSE coalesce(s.channel, 'voice') END AS channel,
        coalesce(s.direction, 'inbound') = 'inbound' AS is_inbound,
        s.outcome,
        coalesce(s.queue_seconds, 0) AS queue_seconds,
        coalesce(s.talk_seconds, 0) + coalesce(s.hold_seconds, 0) + coalesce(s.acw_seconds, 0) AS handle_seconds,
        coalesce(s.talk_seconds, 0) AS talk_seconds,
        coalesce(s.hold_seconds, 0) AS hold_seconds,
        coalesce(s.acw_seconds, 0) AS acw_seconds,
        coalesce(s.hold_count, 0) > 0 OR coalesce(s.hold_seconds, 0) > 0 AS was_held,
        coalesce(s.transfer_count, 0) AS transfer_count,
        coalesce(s.escalation_count, 0) AS escalation_count,
        s.ivr_entered_utc IS NOT NULL
            OR coalesce(s.ivr_seconds, 0) > 0
            OR s.outcome IN ('self_served', 'ivr_abandoned') AS entered_ivr,
        s.outcome IN ('answered', 'abandoned', 'callback_requested') AS is_offered,
        s.outcome = 'abandoned' AND coalesce(s.queue_seconds, 0) < :short_abandon_seconds AS is_short_abandon,
        coalesce(s.queue_seconds, 0) <= :sl_threshold_seconds AS within_threshold,
        s.outcome = 'answered' AND s.customer_key IS NOT NULL AND s.previous_contact_id IS NULL AS fcr_eligible,
        f.next_contact_utc IS NULL
            OR f.next_contact_utc > date_add('hour', CAST(:fcr_window_hours AS INTEGER), s.initiated_utc)
            AS no_repeat
    FROM scoped AS s
    LEFT JOIN first_contacts AS f
        ON s.contact_id = f.contact_id AND s.source_system = f.source_system
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
        count_if(is_inbound) AS contacts,
        count_if(is_inbound AND is_offered) AS offered,
        count_if(is_inbound AND outcome = 'answered') AS answered,
        count_if(is_inbound AND outcome = 'abandoned' AND NOT is_short_abandon) AS abandoned,
        count_if(is_inbound AND is_short_abandon) AS short_abandoned,
        count_if(is_inbound AND outcome = 'callback_requested') AS callback_requested,
        count_if(is_inbound AND outcome = 'self_served') AS self_served,
        count_if(is_inbound AND outcome = 'ivr_abandoned') AS ivr_abandoned,
        count_if(is_inbound AND entered_ivr) AS ivr_entered,
        count_if(is_inbound AND outcome = 'answered' AND within_threshold) AS answered_within_sl,
        count_if(is_inbound AND outcome = 'abandoned' AND within_threshold) AS abandoned_within_sl,
        sum(CASE WHEN is_inbound AND outcome = 'answered' THEN queue_seconds ELSE 0 END) AS answered_wait_seconds,
        sum(CASE WHEN is_inbound AND outcome = 'abandoned' AND NOT is_short_abandon THEN queue_seconds ELSE 0 END)
            AS abandoned_wait_seconds,
        sum(CASE WHEN is_inbound AND is_offered THEN queue_seconds ELSE 0 END) AS queued_wait_seconds,
        max(CASE WHEN is_inbound AND is_offered THEN queue_seconds END) AS longest_wait_seconds,
        sum(CASE WHEN is_inbound AND outcome = 'answered' THEN talk_seconds ELSE 0 END) AS talk_seconds,
        sum(CASE WHEN is_inbound AND outcome = 'answered' THEN hold_seconds ELSE 0 END) AS hold_seconds,
        sum(CASE WHEN is_inbound AND outcome = 'answered' THEN acw_seconds ELSE 0 END) AS acw_seconds,
        sum(CASE WHEN NOT is_inbound THEN handle_seconds ELSE 0 END) AS other_handle_seconds,
        count_if(is_inbound AND outcome = 'answered' AND was_held) AS held,
        count_if(is_inbound AND outcome = 'answered' AND transfer_count > 0) AS transferred,
        sum(CASE WHEN is_inbound AND outcome = 'answered' THEN transfer_count ELSE 0 END) AS transfers,
        count_if(is_inbound AND outcome = 'answered' AND escalation_count > 0) AS escalated,
        count_if(is_inbound AND fcr_eligible) AS fcr_eligible,
        count_if(is_inbound AND fcr_eligible AND no_repeat) AS fcr_resolved
    FROM classified
    GROUP BY contact_date, interval_start, queue, channel, agent_id, contact_id, test_case_id
)

SELECT
    contact_date,
    interval_start,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
    queue,
    channel,
    agent_id,
    contact_id,
    test_case_id,
    contacts,
    offered,
    answered,
    abandoned,
    short_abandoned,
    callback_requested,
    self_served,
    ivr_abandoned,
    ivr_entered,
    answered_within_sl,
    abandoned_within_sl,
    answered_wait_seconds,
    abandoned_wait_seconds,
    queued_wait_seconds,
    longest_wait_seconds,
    talk_seconds,
    hold_seconds,
    acw_seconds,
    other_handle_seconds,
    held,
    transferred,
    transfers,
    escalated,
    fcr_eligible,
    fcr_resolved,
    -- @include kpi_rates
FROM counted
ORDER BY interval_start, queue, channel, agent_id, contact_id
