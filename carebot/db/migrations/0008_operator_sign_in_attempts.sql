-- Operator sign-ins not (yet) known to have succeeded, for throttling: counted per email tried
-- (an account or not, so that the answer does not tell which) and per client address. A
-- success deletes its email's rows; the rest age out of the window and are deleted then.
CREATE TABLE operator_sign_in_attempts (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL,
    client        text NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_sign_in_attempts_email ON operator_sign_in_attempts (email, attempted_at);
CREATE INDEX operator_sign_in_attempts_client ON operator_sign_in_attempts (client, attempted_at);
CREATE INDEX operator_sign_in_attempts_age ON operator_sign_in_attempts (attempted_at);
