-- A tail block's time range beside its keys (as PostgreSQL's migration 7): a lookup
-- narrows the tail to its window, and a seal gives its run its range, without reading
-- the blocks (on PostgreSQL a block read by id alone visits every day's partition).
-- NULL for a block written before: the block's own row says.
ALTER TABLE signin_tail ADD COLUMN min_ms INTEGER;
ALTER TABLE signin_tail ADD COLUMN max_ms INTEGER;
