//! What a policy's references resolve against: the tenant's users, groups, roles,
//! applications and service principals, as the caller knows them.
//!
//! The server implements [`Directory`] over its store (or fills a
//! [`DirectoryTables`]); this crate only asks it questions, so it stays pure.
//! Every answer is a *canonical* id: the same string the server later puts in
//! [`crate::SignInFacts`] (user id, group ids, role ids, client id, resource
//! identifier).

/// A canonical application: a client app (by client id) or a resource (by its
/// resource identifier, e.g. `api://analytics`), exactly as they appear in
/// [`crate::SignInFacts::client_id`] and [`crate::SignInFacts::resource`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AppRef {
    /// An application that signs users in or uses client credentials.
    Client(String),
    /// A resource (API) tokens are issued for.
    Resource(String),
}

/// The tenant's directory, as reference resolution needs it. Each method takes a
/// reference as written in a policy and returns the canonical id, or `None` when the
/// tenant has no such thing (the import is then refused at that reference's path).
pub trait Directory {
    /// A user by id or by UPN (Entra's `includeUsers` takes ids; Portvakt also takes
    /// UPNs). Returns the user id.
    fn user(&self, reference: &str) -> Option<String>;
    /// A group by id or display name. Returns the group id.
    fn group(&self, reference: &str) -> Option<String>;
    /// A role by Entra role template id (e.g. `62e90394-69f5-4237-9190-012177145e10`,
    /// Global Administrator) or by name. Returns the role id the server puts in
    /// [`crate::UserFacts::roles`].
    fn role(&self, reference: &str) -> Option<String>;
    /// An application by client id or resource identifier.
    fn application(&self, reference: &str) -> Option<AppRef>;
    /// A service principal (a confidential client that uses client credentials) by
    /// client id. Returns the id the server puts in
    /// [`crate::ServicePrincipalFacts::service_principal_id`].
    fn service_principal(&self, reference: &str) -> Option<String>;
    /// What Graph's `MicrosoftAdminPortals` means in this tenant: Portvakt's own
    /// admin clients and the admin resource.
    fn admin_portals(&self) -> Vec<AppRef>;
}

/// A [`Directory`] held in memory: lists of what the tenant has. Users match by id or
/// (case-insensitively) by UPN; groups and roles by id or exact name.
#[derive(Debug, Clone, Default)]
pub struct DirectoryTables {
    /// `(id, upn)`.
    pub users: Vec<(String, String)>,
    /// `(id, display name)`.
    pub groups: Vec<(String, String)>,
    /// `(id, name)`; the id is what sign-in facts carry (an Entra role template id
    /// when the server uses those).
    pub roles: Vec<(String, String)>,
    /// Client ids.
    pub clients: Vec<String>,
    /// Resource identifiers.
    pub resources: Vec<String>,
    /// Client ids of service principals (confidential clients).
    pub service_principals: Vec<String>,
    /// `MicrosoftAdminPortals`.
    pub admin_portals: Vec<AppRef>,
}

impl Directory for DirectoryTables {
    fn user(&self, r: &str) -> Option<String> {
        self.users
            .iter()
            .find(|(id, upn)| id == r || upn.eq_ignore_ascii_case(r))
            .map(|(id, _)| id.clone())
    }
    fn group(&self, r: &str) -> Option<String> {
        by_id_or_name(&self.groups, r)
    }
    fn role(&self, r: &str) -> Option<String> {
        by_id_or_name(&self.roles, r)
    }
    fn application(&self, r: &str) -> Option<AppRef> {
        if self.clients.iter().any(|c| c == r) {
            Some(AppRef::Client(r.to_owned()))
        } else if self.resources.iter().any(|c| c == r) {
            Some(AppRef::Resource(r.to_owned()))
        } else {
            None
        }
    }
    fn service_principal(&self, r: &str) -> Option<String> {
        self.service_principals.iter().find(|c| *c == r).cloned()
    }
    fn admin_portals(&self) -> Vec<AppRef> {
        self.admin_portals.clone()
    }
}

fn by_id_or_name(t: &[(String, String)], r: &str) -> Option<String> {
    t.iter()
        .find(|(id, _)| id == r)
        .or_else(|| t.iter().find(|(_, name)| name == r))
        .map(|(id, _)| id.clone())
}

/// A [`Directory`] that resolves every reference to itself (applications as
/// clients). For tests and for checking a file's shape before the tenant exists;
/// never for a real import.
#[derive(Debug, Clone, Copy, Default)]
pub struct PermissiveDirectory;

impl Directory for PermissiveDirectory {
    fn user(&self, r: &str) -> Option<String> {
        Some(r.to_owned())
    }
    fn group(&self, r: &str) -> Option<String> {
        Some(r.to_owned())
    }
    fn role(&self, r: &str) -> Option<String> {
        Some(r.to_owned())
    }
    fn application(&self, r: &str) -> Option<AppRef> {
        Some(AppRef::Client(r.to_owned()))
    }
    fn service_principal(&self, r: &str) -> Option<String> {
        Some(r.to_owned())
    }
    fn admin_portals(&self) -> Vec<AppRef> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_resolve_by_id_upn_and_name() {
        let d = DirectoryTables {
            users: vec![("u1".into(), "Ada@Example.com".into())],
            groups: vec![("g1".into(), "Admins".into())],
            roles: vec![(
                "62e90394-69f5-4237-9190-012177145e10".into(),
                "Global Administrator".into(),
            )],
            clients: vec!["c1".into()],
            resources: vec!["api://x".into()],
            ..Default::default()
        };
        assert_eq!(d.user("ada@example.com").as_deref(), Some("u1"));
        assert_eq!(d.user("u1").as_deref(), Some("u1"));
        assert_eq!(d.user("bob"), None);
        assert_eq!(d.group("Admins").as_deref(), Some("g1"));
        assert_eq!(
            d.role("Global Administrator").as_deref(),
            Some("62e90394-69f5-4237-9190-012177145e10")
        );
        assert_eq!(
            d.application("api://x"),
            Some(AppRef::Resource("api://x".into()))
        );
        assert_eq!(d.application("c1"), Some(AppRef::Client("c1".into())));
        assert_eq!(d.application("nope"), None);
    }
}
