-- pathway_daily: contacts per path per local day. A path is the contact's steps in order (IVR menus,
-- queues, agent legs, transfers, escalations, callbacks, web) ending in its outcome, e.g.
-- "ivr:main > queue:billing > agent > transfer > queue:sales > agent > outcome:answered".
-- Hold and end steps are left out (hold is measured by the hold rate). Contacts without pathway steps
-- (exports that carry none) get a path derived from their own columns, marked path_source = 'derived'.
-- Agents are not named in paths, so the number of distinct paths stays small.
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive).
WITH scoped AS (
    SELECT
        contact_id,
        source_system,
        contact_date,
        outcome,
        queue,
        queue_seconds,
        CASE WHEN outcome = 'answered' THEN handle_seconds ELSE 0 END AS handle_seconds,
        transfer_count,
        escalation_count,
        entered_ivr
    FROM (
        -- @include stg_contacts
    ) AS c
    WHERE NOT is_test_contact
      AND is_inbound
),

labelled AS (
    SELECT
        contact_id,
        source_system,
        step_index,
        CASE step_type
            WHEN 'ivr_menu' THEN 'ivr:' || coalesce(replace(step_name, '>', '/'), '?')
            WHEN 'queue' THEN 'queue:' || coalesce(replace(step_name, '>', '/'), '?')
            WHEN 'web' THEN 'web:' || coalesce(replace(step_name, '>', '/'), '?')
            ELSE step_type
        END AS label
    FROM pathway_steps
    WHERE centre_id = :centre_id
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
      AND step_type NOT IN ('hold', 'end')
),

stepped AS (
    SELECT
        contact_id,
        source_system,
        array_join(array_agg(label ORDER BY step_index), ' > ') AS steps_path
    FROM labelled
    GROUP BY contact_id, source_system
),

paths AS (
    SELECT
        c.contact_date,
        concat_ws(
            ' > ',
            coalesce(
                p.steps_path,
                nullif(
                    concat_ws(
                        ' > ',
                        CASE WHEN c.entered_ivr THEN 'ivr' END,
                        CASE WHEN c.outcome IN ('answered', 'abandoned', 'callback_requested', 'transferred')
                            THEN 'queue:' || replace(c.queue, '>', '/') END,
                        CASE WHEN c.outcome = 'answered' THEN 'agent' END,
                        CASE WHEN c.transfer_count > 0 THEN 'transfer' END,
                        CASE WHEN c.escalation_count > 0 THEN 'escalation' END
                    ),
                    ''
                )
            ),
            'outcome:' || c.outcome
        ) AS path,
        CASE WHEN p.steps_path IS NULL THEN 'derived' ELSE 'steps' END AS path_source,
        c.outcome,
        c.queue_seconds,
        c.handle_seconds,
        c.transfer_count,
        c.escalation_count
    FROM scoped AS c
    LEFT JOIN stepped AS p ON c.contact_id = p.contact_id AND c.source_system = p.source_system
)

SELECT
    contact_date,
    path,
    path_source,
    count(*) AS contacts,
    count_if(outcome = 'answered') AS answered,
    count_if(outcome = 'abandoned') AS abandoned,
    count_if(outcome = 'self_served') AS self_served,
    count_if(outcome = 'ivr_abandoned') AS ivr_abandoned,
    sum(queue_seconds) AS queue_seconds,
    sum(handle_seconds) AS handle_seconds,
    sum(transfer_count) AS transfers,
    sum(escalation_count) AS escalations
FROM paths
GROUP BY contact_date, path, path_source
ORDER BY contact_date, contacts DESC, path
