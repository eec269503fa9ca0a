-- The (tenant, time) index has no reader left: the page query names its index or
-- keeps time comparisons out of index choice (`+created_ms`), replay walks (tenant,
-- seq), and the overview sums its counts (migration 4). It cost 60 bytes and a b-tree
-- insert per record. (The time index stays: retention purges oldest first by it.)
DROP INDEX IF EXISTS signins_tenant_time;
