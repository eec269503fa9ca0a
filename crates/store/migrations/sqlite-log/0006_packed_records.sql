-- Records and facts packed with a per-tenant dictionary (docs/design/sign-in-log-packing.md):
-- a packed row holds '' in `record` (`facts`), its zstd frame in `record_z` (`facts_z`)
-- and its dictionary's id in `dict_id`. Rows written before keep their text and no
-- dictionary. A dictionary holds copies of the records it was made of, so it goes
-- with the last record packed with it (`last_seq`, as the group and policy sets).
CREATE TABLE record_dicts (
    id         INTEGER PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    dict       BLOB NOT NULL,
    last_seq   INTEGER NOT NULL
);
-- What a `$filter` compares that only the record held (appDisplayName, resourceId,
-- clientAppUsed), in columns of their own: a packed record cannot be read by SQL.
ALTER TABLE signins ADD COLUMN app_name TEXT;
ALTER TABLE signins ADD COLUMN resource_id TEXT;
ALTER TABLE signins ADD COLUMN client_app TEXT;
ALTER TABLE signins ADD COLUMN record_z BLOB;
ALTER TABLE signins ADD COLUMN dict_id INTEGER;
ALTER TABLE signin_facts ADD COLUMN facts_z BLOB;
ALTER TABLE signin_facts ADD COLUMN dict_id INTEGER;
