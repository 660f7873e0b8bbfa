-- The shop's data rich enough to act on (issue 23): a catalogue of products and their variants,
-- customers' addresses and payment methods, order lines that name their variant, payments and
-- refunds as rows, and every action taken on an order, once per idempotency key.

-- The shop's own ids (strings: "c-1001", "yusuf_rossi_9620"): `carebot shop import` upserts by them.
ALTER TABLE customers ADD COLUMN shop_id text UNIQUE;
ALTER TABLE customers ADD COLUMN address jsonb;      -- {"line1", "line2", "city", "state", "country", "zip"}
-- Customers from before have the app's own id as theirs, in a form no shop's file is likely to use.
UPDATE customers SET shop_id = 'customer-' || id WHERE shop_id IS NULL;

CREATE TABLE products (
    id    text PRIMARY KEY,
    name  text NOT NULL
);

CREATE TABLE product_variants (
    id          text PRIMARY KEY,
    product_id  text NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    options     jsonb NOT NULL DEFAULT '{}',            -- {"colour": "white", "size": "M"}
    price       numeric(12, 2) NOT NULL CHECK (price >= 0),
    available   boolean NOT NULL DEFAULT true,
    position    int NOT NULL DEFAULT 0                  -- the catalogue's order, for numbered choices
);
CREATE INDEX product_variants_product ON product_variants (product_id, position);

CREATE TABLE payment_methods (
    id           text PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('card', 'paypal', 'bank_transfer', 'cod', 'gift_card')),
    label        text NOT NULL,
    balance      numeric(12, 2) CHECK (balance IS NULL OR balance >= 0),   -- gift cards only
    position     int NOT NULL DEFAULT 0
);
CREATE INDEX payment_methods_customer ON payment_methods (customer_id, position);

-- What actions do to an order. Order lines stay in `orders.items`, now one line per unit:
-- [{"id", "product_id", "variant_id", "name", "options", "price"}].
ALTER TABLE orders ADD COLUMN address jsonb;
ALTER TABLE orders ADD COLUMN cancel_reason text;
ALTER TABLE orders ADD COLUMN items_changed boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN return_request jsonb;     -- {"items": [item ids], "refund_to": method id}
ALTER TABLE orders ADD COLUMN exchange_request jsonb;   -- {"items", "new_variants", "payment_method_id"}
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN (
    'pending', 'processing', 'shipped', 'delivered', 'cancelled', 'returned',
    'return_requested', 'exchange_requested'));

-- Lines of the old shape ({"sku", "name", "quantity", "unit_price"}) become one line per unit.
UPDATE orders o SET items = (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'id', o.number || '-' || line.n || '-' || unit.u,
               'product_id', line.item->>'sku',
               'variant_id', line.item->>'sku',
               'name', line.item->>'name',
               'options', '{}'::jsonb,
               'price', line.item->>'unit_price') ORDER BY line.n, unit.u), '[]'::jsonb)
    FROM jsonb_array_elements(o.items) WITH ORDINALITY AS line(item, n),
         generate_series(1, greatest(coalesce((line.item->>'quantity')::int, 1), 1)) AS unit(u)
) WHERE o.items <> '[]'::jsonb AND NOT (o.items->0 ? 'variant_id');

CREATE TABLE order_payments (
    id                 bigserial PRIMARY KEY,
    order_id           bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position           int NOT NULL,
    payment_method_id  text NOT NULL,
    amount             numeric(12, 2) NOT NULL CHECK (amount >= 0),
    kind               text NOT NULL CHECK (kind IN ('payment', 'refund')),
    UNIQUE (order_id, position)
);

-- Every action taken on an order, by the bot or an operator. The idempotency key is derived from
-- the confirmed request, so a retried job or a restarted worker finds its action done and does
-- not do it again.
CREATE TABLE order_actions (
    id                  bigserial PRIMARY KEY,
    idempotency_key     text NOT NULL UNIQUE,
    order_id            bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN
                            ('cancel', 'change_address', 'change_items', 'return', 'exchange')),
    actor               text NOT NULL CHECK (actor IN ('bot', 'operator')),
    operator_email      text,
    thread_id           text,
    confirming_message  text,
    request             jsonb NOT NULL,
    before              jsonb NOT NULL,
    after               jsonb NOT NULL,
    at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_actions_order ON order_actions (order_id, at);
CREATE INDEX order_actions_recent ON order_actions (at DESC);
CREATE INDEX order_actions_thread ON order_actions (thread_id, at) WHERE thread_id IS NOT NULL;
