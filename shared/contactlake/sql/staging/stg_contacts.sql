-- stg_contacts (staging, ephemeral: included where a model reads contacts): one centre's contacts over
-- a range of local dates, cleaned once. The defaults every result applies are written here and nowhere
-- else: a missing direction is inbound, a missing queue '(none)', a missing channel voice, a missing
-- agent '(none)', missing durations and counts 0; synthetic test contacts are flagged (is_test_contact),
-- never silently mixed in. Filter on is_test_contact and is_inbound in the including model.
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive: the partition pruning). Include it
-- as "-- @include stg_contacts(date_to=lookahead_to)" to read up to another bound parameter.
SELECT
    contact_id,
    source_system,
    contact_date,
    initiated_utc,
    initiated_local,
    test_case_id,
    test_case_id IS NOT NULL AS is_test_contact,
    coalesce(direction, 'inbound') = 'inbound' AS is_inbound,
    coalesce(queue, '(none)') AS queue,
    coalesce(channel, 'voice') AS channel,
    coalesce(agent_id, '(none)') AS agent_id,
    outcome,
    customer_key,
    previous_contact_id,
    coalesce(queue_seconds, 0) AS queue_seconds,
    coalesce(talk_seconds, 0) + coalesce(hold_seconds, 0) + coalesce(acw_seconds, 0) AS handle_seconds,
    coalesce(talk_seconds, 0) AS talk_seconds,
    coalesce(hold_seconds, 0) AS hold_seconds,
    coalesce(acw_seconds, 0) AS acw_seconds,
    coalesce(hold_count, 0) AS hold_count,
    coalesce(transfer_count, 0) AS transfer_count,
    coalesce(escalation_count, 0) AS escalation_count,
    ivr_entered_utc IS NOT NULL
        OR coalesce(ivr_seconds, 0) > 0
        OR outcome IN ('self_served', 'ivr_abandoned') AS entered_ivr
FROM contacts
WHERE centre_id = :centre_id
  AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
