-- Schema-wide set-up.  The extension creates schema "privacy" itself (privacy.control).
REVOKE ALL ON SCHEMA privacy FROM PUBLIC;
GRANT USAGE ON SCHEMA privacy TO PUBLIC;
