-- Counts for the portal's overview charts, kept as the records are written (one
-- upsert per distinct key of a batch). The overview used to count the window's
-- records from their rows (4.4 s at 10 M records); it now sums at most a few
-- thousand five-minute buckets. Buckets are created_ms / 300000. The records already
-- in the log are counted here, once (a pass over the log: 9 s for a million records
-- on the 2-core benchmark machine, the same counts as written incrementally).
CREATE TABLE signin_counts (
    tenant_id  TEXT NOT NULL,
    bucket     INTEGER NOT NULL,
    status     INTEGER NOT NULL,
    error_code INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, bucket, status, error_code)
) WITHOUT ROWID;
CREATE TABLE policy_counts (
    tenant_id  TEXT NOT NULL,
    bucket     INTEGER NOT NULL,
    policy_set TEXT NOT NULL,
    position   INTEGER NOT NULL,
    result     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, bucket, policy_set, position, result)
) WITHOUT ROWID;
INSERT INTO signin_counts (tenant_id, bucket, status, error_code, n)
    SELECT tenant_id, created_ms / 300000, status, error_code, COUNT(*)
      FROM signins GROUP BY 1, 2, 3, 4;
INSERT INTO policy_counts (tenant_id, bucket, policy_set, position, result, n)
    SELECT s.tenant_id, s.created_ms / 300000, s.policy_set, CAST(j.key AS INTEGER),
           coalesce(json_extract(j.value, '$[0]'), ''), COUNT(*)
      FROM signins s, json_each(s.record, '$.policyResults') AS j
     WHERE s.policy_set IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5;
