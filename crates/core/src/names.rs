//! Names that appear in URLs.

use crate::{Error, ErrorCode};

/// Top-level path segments Portvakt uses itself; no tenant may take one.
pub const RESERVED_TENANT_NAMES: &[&str] = &[
    "admin",
    "portal",
    "errors",
    "metrics",
    "health",
    "healthz",
    "ready",
    "static",
    "assets",
    "api",
    "oauth2",
    "login",
    "logout",
    "docs",
    "openapi",
    "system",
    "favicon.ico",
    "robots.txt",
];

/// The name of the built-in tenant that issues admin API tokens.
pub const SYSTEM_TENANT: &str = "system";

/// Check a tenant name: 1-63 chars of `a-z 0-9 -`, starting with a letter or digit,
/// not ending with `-`, and not reserved. The same rules as a DNS label, so a tenant
/// name can also become a subdomain.
pub fn validate_tenant_name(name: &str) -> Result<(), Error> {
    let ok_chars = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok_chars {
        return Err(Error::new(
            ErrorCode::TenantNameInvalid,
            format!("tenant name '{name}' must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'"),
        ));
    }
    if RESERVED_TENANT_NAMES.contains(&name) {
        return Err(Error::new(
            ErrorCode::TenantNameInvalid,
            format!("tenant name '{name}' is reserved for Portvakt's own paths; choose another"),
        ));
    }
    Ok(())
}

/// Is `s` an absolute URI without a fragment (RFC 3986 §4.3; RFC 8707 §2)?
pub fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut sb = scheme.bytes();
    matches!(sb.next(), Some(b) if b.is_ascii_alphabetic())
        && sb.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !s.contains('#')
        && !s
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names() {
        for ok in ["contoso", "a", "x-1", "0abc"] {
            assert!(validate_tenant_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Contoso",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "admin",
            "errors",
            ".well-known",
            &"a".repeat(64),
        ] {
            assert_eq!(
                validate_tenant_name(bad).map_err(|e| e.code),
                Err(ErrorCode::TenantNameInvalid),
                "{bad}"
            );
        }
    }

    #[test]
    fn absolute_uris() {
        for ok in [
            "api://analytics",
            "https://api.example.com/v1",
            "urn:portvakt:admin",
        ] {
            assert!(is_absolute_uri(ok), "{ok}");
        }
        for bad in [
            "analytics",
            "/relative",
            "api://x#frag",
            "1http://x",
            "http:",
            "api://a b",
        ] {
            assert!(!is_absolute_uri(bad), "{bad}");
        }
    }
}
