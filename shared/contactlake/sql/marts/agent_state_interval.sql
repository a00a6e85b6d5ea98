-- agent_state_interval: seconds each agent spent in each state per local 15/30/60-minute interval, cut
-- from agent_activity spans (a span that crosses intervals is split by its overlap with each).
-- Shift-style exports (a `staffed` span with break/training spans inside it) and state-style exports
-- (mutually exclusive available / on_contact / after_call_work / break / training / other spans) both
-- work: logged-in time is the staffed time when there is any, else the sum of all states.
-- Formulas (occupancy, utilisation, shrinkage): docs/metrics.md.
--
-- Parameters:
--   centre_id, date_from, date_to   local dates of the intervals wanted, inclusive
--   activity_from                   first activity_date scanned (date_from - 1: night shifts start the day before)
--   grain_minutes                   15, 30 or 60
WITH spans AS (
    SELECT
        agent_id,
        team,
        state,
        started_local,
        date_add('millisecond', CAST(round(duration_seconds * 1000) AS BIGINT), started_local) AS ended_local,
        date_add(
            'minute',
            -(minute(started_local) % CAST(:grain_minutes AS INTEGER)),
            date_trunc('minute', started_local)
        ) AS first_slot
    FROM agent_activity
    WHERE centre_id = :centre_id
      AND activity_date BETWEEN CAST(:activity_from AS DATE) AND CAST(:date_to AS DATE)
      AND duration_seconds > 0
),

sliced AS (
    SELECT
        s.agent_id,
        s.team,
        s.state,
        s.started_local,
        s.ended_local,
        date_add('minute', t.slot * CAST(:grain_minutes AS INTEGER), s.first_slot) AS interval_start
    FROM spans AS s
    CROSS JOIN UNNEST(
        sequence(
            0,
            CAST(
                ceil(CAST(date_diff('millisecond', s.first_slot, s.ended_local) AS DOUBLE) / (60000 * :grain_minutes))
                AS BIGINT
            ) - 1
        )
    ) AS t (slot)
),

overlaps AS (
    SELECT
        CAST(interval_start AS DATE) AS contact_date,
        interval_start,
        agent_id,
        team,
        state,
        CAST(
            date_diff(
                'millisecond',
                greatest(started_local, interval_start),
                least(ended_local, date_add('minute', CAST(:grain_minutes AS INTEGER), interval_start))
            ) AS DOUBLE
        ) / 1000 AS seconds
    FROM sliced
),

per_agent AS (
    SELECT
        contact_date,
        interval_start,
        agent_id,
        max(team) AS team,
        sum(CASE WHEN state = 'staffed' THEN seconds ELSE 0 END) AS staffed_seconds,
        sum(CASE WHEN state = 'available' THEN seconds ELSE 0 END) AS ready_seconds,
        sum(CASE WHEN state = 'on_contact' THEN seconds ELSE 0 END) AS on_contact_seconds,
        sum(CASE WHEN state = 'after_call_work' THEN seconds ELSE 0 END) AS after_call_work_seconds,
        sum(CASE WHEN state = 'break' THEN seconds ELSE 0 END) AS break_seconds,
        sum(CASE WHEN state = 'training' THEN seconds ELSE 0 END) AS training_seconds,
        sum(CASE WHEN state NOT IN ('staffed', 'available', 'on_contact', 'after_call_work', 'break', 'training')
            THEN seconds ELSE 0 END) AS other_seconds
    FROM overlaps
    WHERE seconds > 0
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
    GROUP BY contact_date, interval_start, agent_id
),

logged AS (
    SELECT
        *,
        least(
            CASE WHEN staffed_seconds > 0 THEN staffed_seconds
                ELSE ready_seconds + on_contact_seconds + after_call_work_seconds + break_seconds
                    + training_seconds + other_seconds
            END,
            CAST(60 * :grain_minutes AS DOUBLE)
        ) AS logged_in_seconds
    FROM per_agent
)

SELECT
    contact_date,
    interval_start,
    CAST(:grain_minutes AS INTEGER) AS grain_minutes,
    agent_id,
    team,
    logged_in_seconds,
    staffed_seconds,
    ready_seconds,
    on_contact_seconds,
    after_call_work_seconds,
    break_seconds,
    training_seconds,
    other_seconds,
    greatest(logged_in_seconds - break_seconds - training_seconds - other_seconds, CAST(0 AS DOUBLE))
        AS net_staffed_seconds
FROM logged
ORDER BY interval_start, agent_id
