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

/// The client id of the admin portal, a public client every tenant has without
/// storing it (`docs/design/portal.md`); no application may take it.
pub const PORTAL_CLIENT_ID: &str = "portvakt-portal";

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

/// Decode RFC 4648 base32 (`A-Z2-7`, case-insensitive, spaces and `=` padding
/// ignored), as authenticator apps show TOTP secrets. `None` if a character is not
/// base32.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buf, mut bits) = (0u64, 0u32);
    for c in s.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Schemes a redirect URI may never use: they run script, read local files or
/// address no application (RFC 9700 §4.1, RFC 8252 §7.1).
const FORBIDDEN_REDIRECT_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "about",
    "blob",
    "filesystem",
    "ws",
    "wss",
];

/// Why `uri` cannot be a redirect URI, or `None` if it can. A redirect URI is
/// absolute, has no fragment (RFC 6749 §3.1.2), no wildcard and no user info, and is
/// - `https://host…`; or
/// - `http://` to a loopback host only: `127.0.0.1` (any `127.x.y.z`), `[::1]` or
///   `localhost` (RFC 9700 §2.1; RFC 8252 §7.3 for native apps, any port); or
/// - a private-use scheme of a native app, named after a domain it owns in reverse
///   order, so with a period (`com.example.app:/callback`, RFC 8252 §7.1).
pub fn redirect_uri_problem(uri: &str) -> Option<String> {
    if uri.len() > 2048 {
        return Some(format!(
            "is {} characters; at most 2048 are accepted",
            uri.len()
        ));
    }
    if !is_absolute_uri(uri) {
        return Some(
            "must be an absolute URI without a fragment, spaces or control characters".into(),
        );
    }
    if uri.contains('*') {
        return Some("must not contain a wildcard: redirect URIs are matched exactly".into());
    }
    let (scheme, rest) = uri.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    if FORBIDDEN_REDIRECT_SCHEMES.contains(&scheme.as_str()) {
        return Some(format!("the scheme '{scheme}:' cannot be a redirect URI"));
    }
    match scheme.as_str() {
        "https" | "http" => {
            let Some(after) = rest.strip_prefix("//") else {
                return Some(format!("must be {scheme}://host/…"));
            };
            let authority = after.split(['/', '?']).next().unwrap_or("");
            if authority.contains('@') {
                return Some("must not carry user information (user@host)".into());
            }
            let host = host_of(authority);
            if host.is_empty() {
                return Some("has no host".into());
            }
            if scheme == "http" && !is_loopback_host(&host) {
                return Some(format!("uses http to '{host}': only https, or http to a loopback address (127.0.0.1, [::1], localhost), is accepted (RFC 9700 §2.1)"));
            }
            None
        }
        _ if !scheme.contains('.') => Some(format!(
            "the private-use scheme '{scheme}:' must be a reverse domain name the app owns, e.g. 'com.example.app:/callback' (RFC 8252 §7.1); web apps use https"
        )),
        _ => None,
    }
}

fn host_of(authority: &str) -> String {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("").to_ascii_lowercase();
    }
    authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(authority)
        .to_ascii_lowercase()
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_as_rfc_4648_section_10() {
        assert_eq!(
            base32_decode("MZXW6YTBOI======").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(
            base32_decode("mzxw 6ytb oi").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(base32_decode("MY").as_deref(), Some(&b"f"[..]));
        assert_eq!(base32_decode("M1"), None);
    }

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://web.example.com/cb",
            "https://web.example.com:8443/cb?x=1",
            "http://127.0.0.1:5173/cb",
            "http://127.0.0.2/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/callback",
            "com.example.app:/oauth2redirect",
            "com.example.app://callback",
        ] {
            assert_eq!(redirect_uri_problem(ok), None, "{ok}");
        }
        for bad in [
            "javascript:alert(1)//",
            "JavaScript:alert(1)",
            "data:text/html,<script>",
            "file:///etc/passwd",
            "http://evil.example.com/cb",
            "http://127.0.0.1.evil.example/cb",
            "https://a@b.example.com/cb",
            "https://*.example.com/cb",
            "https://web.example.com/cb#frag",
            "myapp:/cb",
            "https:/no-slashes",
            "https://",
            "/relative",
        ] {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }

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
