-- Settings with a value syntax are checked when they are set, not when they
-- are first used: a bad value is refused with 22023 and a detail.
BEGIN;
SELECT plan(9);

SELECT throws_ok($$ SET privacy.request_deadline = 'banana' $$, '22023', NULL,
                 'request_deadline: not an interval is refused');
SELECT throws_ok($$ SET privacy.request_deadline = '-3 days' $$, '22023', NULL,
                 'request_deadline: a negative interval is refused');
SELECT throws_ok($$ SET privacy.request_deadline = '0' $$, '22023', NULL,
                 'request_deadline: zero is refused');
SELECT lives_ok($$ SET privacy.request_deadline = '1 month 2 days' $$,
                'request_deadline: an interval is accepted');
SELECT is(current_setting('privacy.request_deadline'), '1 month 2 days', 'and kept as written');
SELECT lives_ok($$ SET privacy.request_deadline = 'P30D' $$,
                'request_deadline: an ISO 8601 interval is accepted');
RESET privacy.request_deadline;

SELECT throws_ok($$ SET privacy.masked_schema = '' $$, '22023', NULL,
                 'masked_schema: an empty name is refused');
SELECT throws_ok(format('SET privacy.masked_schema = %L', repeat('x', 64)), '22023', NULL,
                 'masked_schema: a name longer than NAMEDATALEN is refused');
SELECT is(current_setting('privacy.masked_schema'), 'privacy_masked', 'masked_schema unchanged');

SELECT * FROM finish();
ROLLBACK;
