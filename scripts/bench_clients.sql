-- The table of the masked-read benches (scripts/bench_views.sh and
-- scripts/bench_cost.sh): :rows clients with two masked columns, a masked
-- role, and the same view without privacy (an ordinary role, an ordinary
-- security_invoker view, the same masks).  Run with psql -v rows=N.
CREATE EXTENSION privacy;
CREATE TABLE bench_clients (id int PRIMARY KEY, email text, phone text, country text);
INSERT INTO bench_clients
SELECT g, 'user' || g || '@mail.example', '+1-650-' || lpad((g % 1000)::text, 3, '0') || '-' || lpad((g % 10000)::text, 4, '0'),
       (ARRAY['US', 'FR', 'DE'])[1 + g % 3]
FROM generate_series(1, :rows) g;
VACUUM ANALYZE bench_clients;
SECURITY LABEL FOR privacy ON COLUMN bench_clients.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN bench_clients.phone IS 'MASKED WITH FUNCTION privacy.mask_phone(phone)';
CREATE ROLE privacy_bench_bi LOGIN;
SECURITY LABEL FOR privacy ON ROLE privacy_bench_bi IS 'MASKED';
-- masked views are security_invoker: the masked role reads what it is granted
GRANT SELECT ON bench_clients TO privacy_bench_bi;
CREATE ROLE privacy_bench_plain LOGIN;
CREATE VIEW public.bench_clients_plain WITH (security_invoker = true, security_barrier = true) AS
    SELECT id, privacy.mask_email(email) AS email, privacy.mask_phone(phone) AS phone, country FROM bench_clients;
GRANT SELECT ON bench_clients, bench_clients_plain TO privacy_bench_plain;
