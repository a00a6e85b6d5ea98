-- lake_date_range: the local days each centre has contacts for (what `analyse` recomputes by default).
-- Parameters: none.
WITH days AS (
    SELECT centre_id, contact_date
    FROM contacts
    GROUP BY centre_id, contact_date
)

SELECT
    centre_id,
    min(contact_date) AS first_date,
    max(contact_date) AS last_date,
    count(*) AS days
FROM days
GROUP BY centre_id
ORDER BY centre_id
