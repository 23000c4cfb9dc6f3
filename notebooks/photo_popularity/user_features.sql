-- user_features: per user and day, what the app log says about each user's activity.
--
-- One row per user and day for the 7 days before :day (day = :day - 7 .. :day - 1), for
-- every user with at least one event in the 7 days ending that day. Only events before
-- :day are read, so a row for day D describes the user as known at the end of D: the
-- training set joins the row of the last day before its cutoff and never sees later
-- events. The rolling columns (*_7d, active_days_7d) cover D - 6 .. D.
-- Written by the pipeline runner to warehouse.user_features (replacing the table).
WITH daily AS (                        -- one row per user and active day, from the day partitions
    SELECT e.user_id, e.day,
           count(*) FILTER (WHERE e.event = 'login') AS logins,
           count(*) FILTER (WHERE e.event = 'view') AS views,
           count(*) FILTER (WHERE e.event = 'like') AS likes_given,
           count(DISTINCT e.photo_id) FILTER (WHERE e.event = 'view') AS photos_viewed,
           max(e.ts) AS last_event_at
    FROM events e
    WHERE e.day >= CAST(:day AS DATE) - 13 AND e.day < CAST(:day AS DATE)
    GROUP BY e.user_id, e.day
), days AS (                         -- the 7 days a row is written for
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(CAST(:day AS DATE) - INTERVAL 7 DAY, CAST(:day AS DATE) - INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(d)
)
SELECT d.user_id, d.day,
       CAST(coalesce(sum(x.logins) FILTER (WHERE x.day = d.day), 0) AS BIGINT) AS logins,
       CAST(coalesce(sum(x.views) FILTER (WHERE x.day = d.day), 0) AS BIGINT) AS views,
       CAST(coalesce(sum(x.likes_given) FILTER (WHERE x.day = d.day), 0) AS BIGINT) AS likes_given,
       CAST(sum(x.logins) AS BIGINT) AS logins_7d,
       CAST(sum(x.views) AS BIGINT) AS views_7d,
       CAST(sum(x.likes_given) AS BIGINT) AS likes_given_7d,
       CAST(sum(x.photos_viewed) AS BIGINT) AS photos_viewed_7d,
       count(*) AS active_days_7d,
       max(x.last_event_at) AS last_event_at
FROM (SELECT DISTINCT u.user_id, days.day FROM daily u, days
      WHERE u.day BETWEEN days.day - 6 AND days.day) AS d
JOIN daily x ON x.user_id = d.user_id AND x.day BETWEEN d.day - 6 AND d.day
GROUP BY d.user_id, d.day
ORDER BY d.user_id, d.day
