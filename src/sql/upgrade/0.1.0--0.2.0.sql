-- Upgrade prelude 0.1.0 -> 0.2.0.  Runs before the fragments (src/sql/*.sql),
-- which then create or replace every object of 0.2.0.  What belongs here: what
-- the fragments cannot express re-runnably — dropping objects that 0.2.0 no
-- longer has or whose signature, result type or argument names changed,
-- dropping views whose columns changed, and data migrations.

-- render.sql: the HTML table builder takes the keys to leave out
DROP FUNCTION IF EXISTS privacy._html_table(jsonb);
