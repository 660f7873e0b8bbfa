-- Sending through the job queue: a part is `sending` from the moment it is handed to the
-- provider until the provider answers. A part found `sending` later (a timeout, or a process
-- killed mid-request) has an unknown outcome and is reconciled with the provider before it is
-- sent again. `attempted_at` is when that last hand-over started.
ALTER TABLE outbox ADD COLUMN attempted_at timestamptz;
DROP INDEX outbox_pending;
CREATE INDEX outbox_unsent ON outbox (inbox_id, part) WHERE status IN ('pending', 'sending');
-- Retention deletes by age.
CREATE INDEX inbox_received_at ON inbox (received_at);
