-- staffed_interval: agents actually on duty per local 15-minute interval of one centre, summed over
-- agents from the materialised agent_state_interval (staffing.py sets them against the requirement).
--
-- Parameters: centre_id, date_from, date_to (local dates, inclusive).
WITH per_agent AS (
    SELECT contact_date, interval_start, agent_id, logged_in_seconds, net_staffed_seconds,
        break_seconds + training_seconds + other_seconds AS aux_seconds
    FROM agent_state_interval
    WHERE centre_id = :centre_id
      AND contact_month BETWEEN date_trunc('month', CAST(:date_from AS DATE)) AND CAST(:date_to AS DATE)
      AND contact_date BETWEEN CAST(:date_from AS DATE) AND CAST(:date_to AS DATE)
)

SELECT
    contact_date,
    interval_start,
    count_if(logged_in_seconds > 0) AS agents_logged_in,
    sum(logged_in_seconds) AS logged_in_seconds,
    sum(net_staffed_seconds) AS net_staffed_seconds,
    sum(aux_seconds) AS aux_seconds
FROM per_agent
GROUP BY contact_date, interval_start
ORDER BY interval_start
