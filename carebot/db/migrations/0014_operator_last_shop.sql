-- The shop an operator used last: their next sign-in opens in it (the tenant picker's memory,
-- which outlives the session that made the choice).
ALTER TABLE operator_memberships ADD COLUMN last_used_at timestamptz;
