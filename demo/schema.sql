-- Sample schema of an SMS-marketing platform (SPEC section 9), with a little
-- generated data.  Used by `make demo` and the README's guides.
CREATE TABLE clients (
    id         serial PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL,
    phone      varchar(20),
    company    text,
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at  timestamptz
);

CREATE TABLE subscribers (
    id          serial PRIMARY KEY,
    client_id   int NOT NULL REFERENCES clients,
    phone       varchar(20) NOT NULL,
    email       text UNIQUE,
    name        text,
    country     char(2),
    birth_date  date,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id            bigserial PRIMARY KEY,
    subscriber_id int NOT NULL REFERENCES subscribers,
    body          text NOT NULL,
    sent_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
    id              bigserial PRIMARY KEY,
    client_id       int NOT NULL REFERENCES clients,
    card_number     text NOT NULL,
    billing_address text,
    amount          numeric(10,2) NOT NULL,
    paid_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contact_forms (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL,
    message    text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE support_tickets (
    id         bigserial PRIMARY KEY,
    client_id  int REFERENCES clients,
    subject    text,
    body       text,
    opened_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE web_logs (
    id         bigserial PRIMARY KEY,
    ip         inet NOT NULL,
    path       text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE consents (
    id            bigserial PRIMARY KEY,
    subscriber_id int NOT NULL REFERENCES subscribers,
    purpose       text NOT NULL CHECK (purpose IN ('marketing', 'analytics')),
    granted       boolean NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);

INSERT INTO clients (name, email, phone, company) VALUES
    ('Ada Lovelace',   'ada@analytical.example',   '+44 20 7946 0018', 'Analytical Engines Ltd'),
    ('Grace Hopper',   'grace@cobol.example',      '+1-202-555-0143',  'Compilers Inc'),
    ('Alan Turing',    'alan@bletchley.example',   '+44 1908 640404',  'Bletchley Park Trust');

INSERT INTO subscribers (client_id, phone, email, name, country, birth_date)
SELECT 1 + g % 3,
       '+1-650-' || lpad((200 + g)::text, 3, '0') || '-' || lpad((g * 37 % 10000)::text, 4, '0'),
       'subscriber' || g || '@mail.example',
       (ARRAY['Zoë', 'Jürgen', 'Amélie', 'Søren', 'Nuno', 'Mei', 'Ola', 'Ibrahim'])[1 + g % 8] || ' ' || g,
       (ARRAY['US', 'FR', 'DE', 'GB', 'PT'])[1 + g % 5],
       date '1960-01-01' + (g * 397 % 15000)
FROM generate_series(1, 50) g;

INSERT INTO messages (subscriber_id, body, sent_at)
SELECT 1 + g % 50, 'Spring sale: 20% off with code SPRING' || g, now() - (g || ' hours')::interval
FROM generate_series(1, 200) g;

INSERT INTO payments (client_id, card_number, billing_address, amount)
VALUES (1, '4111 1111 1111 1111', '12 St James''s Square, London', 49.00),
       (2, '5500-0000-0000-0004', '1600 Pennsylvania Ave, Washington', 99.00);

INSERT INTO web_logs (ip, path)
SELECT ('192.0.2.' || (g % 250 + 1))::inet, '/campaigns/' || g % 7 FROM generate_series(1, 30) g;
INSERT INTO web_logs (ip, path) VALUES ('2001:db8:85a3::8a2e:370:7334', '/login');

INSERT INTO consents (subscriber_id, purpose, granted)
SELECT g, 'marketing', g % 4 <> 0 FROM generate_series(1, 50) g;
