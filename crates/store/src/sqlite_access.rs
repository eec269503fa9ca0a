//! The SQLite side of Conditional Access: policies and named locations (Graph JSON),
//! the tenant's roles, and what policy references resolve against.

use crate::conns::{all, exec};
use crate::{DirectoryNames, Result, StoreError, StoredGraphObject};
use portvakt_core::model::Role;
use rusqlite::{params, Connection};

/// The tenant's roles, by name.
pub(crate) fn roles(c: &Connection, tenant_id: &str) -> Result<Vec<Role>> {
    all(
        c,
        "SELECT name, template_id FROM tenant_roles WHERE tenant_id = ? ORDER BY name",
        [tenant_id],
        |r| {
            Ok(Role {
                name: r.get(0)?,
                template_id: r.get(1)?,
            })
        },
    )
}

/// The rows of `table` (`ca_policies` or `named_locations`), by display name.
pub(crate) fn graph_objects(
    c: &Connection,
    table: &str,
    tenant_id: &str,
) -> Result<Vec<StoredGraphObject>> {
    let sql = format!(
        "SELECT id, display_name, json FROM {table} WHERE tenant_id = ? ORDER BY display_name"
    );
    all(c, &sql, [tenant_id], |r| {
        Ok(StoredGraphObject {
            id: r.get(0)?,
            display_name: r.get(1)?,
            json: r.get(2)?,
        })
    })
}

/// Users, groups and roles by id and name.
pub(crate) fn directory_names(c: &Connection, tenant_id: &str) -> Result<DirectoryNames> {
    let pair = |r: &rusqlite::Row<'_>| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?));
    Ok(DirectoryNames {
        users: all(
            c,
            "SELECT id, user_principal_name FROM users WHERE tenant_id = ? ORDER BY id",
            [tenant_id],
            pair,
        )?,
        groups: all(
            c,
            "SELECT id, display_name FROM groups WHERE tenant_id = ? ORDER BY id",
            [tenant_id],
            pair,
        )?,
        roles: roles(c, tenant_id)?,
    })
}

/// Upsert roles by name.
pub(crate) fn import_roles(tx: &Connection, tenant_id: &str, roles: &[Role]) -> Result<()> {
    for r in roles {
        exec(
            tx,
            "INSERT INTO tenant_roles (tenant_id, name, template_id) VALUES (?,?,?)
             ON CONFLICT (tenant_id, name) DO UPDATE SET template_id = excluded.template_id",
            params![tenant_id, r.name, r.template_id],
        )?;
    }
    Ok(())
}

/// Upsert policies and named locations by id, inside the caller's transaction.
pub(crate) fn put_access_in(
    tx: &Connection,
    tenant_id: &str,
    policies: &[StoredGraphObject],
    locations: &[StoredGraphObject],
) -> Result<()> {
    for (table, what, items) in [
        ("named_locations", "named location", locations),
        ("ca_policies", "policy", policies),
    ] {
        let sql = format!(
            "INSERT INTO {table} (tenant_id, id, display_name, json) VALUES (?,?,?,?)
             ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = excluded.display_name, json = excluded.json"
        );
        for o in items {
            exec(tx, &sql, params![tenant_id, o.id, o.display_name, o.json]).map_err(
                |e| match e {
                    StoreError::Conflict(_) => StoreError::Conflict(format!(
                        "{what} display name '{}' (another {what} has it)",
                        o.display_name
                    )),
                    other => other,
                },
            )?;
        }
    }
    Ok(())
}
