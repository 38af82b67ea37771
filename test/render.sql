-- The subject's copy as a page (export_subject_html): readable words, values
-- in tables, everything escaped, nothing of the export left out or raw.
BEGIN;
SELECT plan(14);

CREATE TEMP TABLE page AS SELECT privacy._export_html(jsonb_build_object(
    'meta', jsonb_build_object('subject', 's<1>', 'generated_at', '2026-11-28T10:00:00+00:00',
                               'controller', 'Acme & Co', 'request_id', 12, 'restricted', false,
                               'data_found', true, 'complete', false, 'dpo_contact', 'dpo@acme.example',
                               'supervisory_authority', 'Data Protection Commission, Dublin'),
    'data', jsonb_build_object(
        'public.message_events', jsonb_build_array(
            jsonb_build_object('id', 1, 'kind', '<script>alert(1)</script>', 'tags', jsonb_build_array('a', 'b'),
                               'sent_at', '2026-01-02T03:04:05.123+00:00')),
        'public.subscribers', jsonb_build_array(
            jsonb_build_object('id', 1, 'phone', jsonb_build_object('encrypted', true, 'ciphertext', 'AAAA')))),
    'processing', jsonb_build_object(
        'public.message_events', jsonb_build_object('purpose', 'delivery reports', 'categories', jsonb_build_array('contact', 'usage'),
            'retention', jsonb_build_object('period', '1 year', 'counted_from', 'sent_at', 'action', 'delete'),
            'recipients', jsonb_build_array(jsonb_build_object('name', 'Gateway', 'purpose', 'delivery', 'country', 'US', 'safeguard', 'SCC')))),
    'consents', '[]'::jsonb, 'requests', '[]'::jsonb, 'holds', '[]'::jsonb,
    'rights', jsonb_build_object('erasure', 'You may ask us to erase your data.'))) AS html;

SELECT alike((SELECT html FROM page), '<!DOCTYPE html><html lang="en">%<style>%', 'a full page with lang and CSS');
SELECT alike((SELECT html FROM page), '%<h3>Message events</h3>%', 'table names in plain words');
SELECT alike((SELECT html FROM page), '%<th scope="col">Sent at</th>%', 'column names in plain words');
SELECT unalike((SELECT html FROM page), '%<script>%', 'values are escaped');
SELECT alike((SELECT html FROM page), '%&lt;script&gt;alert(1)&lt;/script&gt;%', 'an escaped value is still shown');
SELECT alike((SELECT html FROM page), '%<td>a, b</td>%', 'arrays as lists, not JSON');
SELECT unalike((SELECT html FROM page), '%["%', 'no raw JSON array');
SELECT alike((SELECT html FROM page), '%2026-01-02 03:04 UTC%', 'timestamps in plain form');
SELECT alike((SELECT html FROM page), '%Kept for 1 year, counted from &quot;Sent at&quot;, then deleted%', 'retention as a sentence');
SELECT alike((SELECT html FROM page), '%Gateway, for delivery, in US, protected by SCC%', 'recipients as a sentence');
SELECT alike((SELECT html FROM page), '%could not be read when this copy was made%(encrypted: not readable%', 'an incomplete copy says so');
SELECT alike((SELECT html FROM page), '%Your rights%Erasure:%Supervisory authority:</strong> Data Protection Commission, Dublin%',
             'rights and the supervisory authority');
SELECT alike((SELECT html FROM page), '%reference <strong>s&lt;1&gt;</strong>%Acme &amp; Co%', 'subject and controller escaped');

SELECT alike(privacy._export_html('{"meta": {"subject": "x", "data_found": false}, "data": {}}'),
             '%We hold no personal data about you.%', 'an unknown subject: said in words');

SELECT * FROM finish();
ROLLBACK;
