-- Actions on orders the app does not hold. A shop with its own order API (ORDERS_API_URL) keeps its
-- orders there, so the app's `orders` table has no row for them; the action's row names the order
-- by its number instead (actions on the app's own orders have both), and is recorded all the same,
-- for the transcript, the stats and the colleague.
ALTER TABLE order_actions ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE order_actions ADD COLUMN order_number text;
UPDATE order_actions a SET order_number = o.number FROM orders o WHERE o.id = a.order_id;
ALTER TABLE order_actions ADD CONSTRAINT order_actions_names_an_order
    CHECK (order_id IS NOT NULL OR order_number IS NOT NULL);

-- An action sent to the shop's API and not answered yet (a timeout, a 5xx, a worker stopped
-- mid-call): the plan it was sent with. The next run of the same confirmation sends it again with
-- the same idempotency key, without planning again (the shop may have done it already, and then
-- the policy would refuse what is in fact done); the shop's answer moves it to order_actions.
CREATE TABLE order_api_requests (
    idempotency_key  text PRIMARY KEY,
    plan             jsonb NOT NULL,
    at               timestamptz NOT NULL DEFAULT now()
);
