//! The catalogue of stable Portvakt error codes.
//!
//! Each code fixes the OAuth error (RFC 6749 §5.2, RFC 6750 §3.1, RFC 8707 §2), the
//! HTTP status, a title and the fix. The catalogue is rendered to `docs/errors.md`
//! and served at `/errors/{code}`; a test keeps the document in step with this table.
//!
//! Ranges: PV10xx request shape, PV11xx client authentication, PV12xx scopes and
//! resources, PV13xx tenants, PV14xx admin API, PV15xx server. PV2xxx is reserved for
//! token validation (the guard), PV3xxx for user sign-in and user tokens, PV4xxx for Conditional Access.

use std::fmt;

macro_rules! catalogue {
    ($( $variant:ident = $code:literal, $oauth:literal, $status:literal, $title:literal, $fix:literal; )*) => {
        /// A stable Portvakt error code. The string form (`PV1103`) never changes meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( #[doc = $title] $variant, )* }

        impl ErrorCode {
            /// Every code, in catalogue order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The stable code string, e.g. `PV1103`.
            pub fn code(self) -> &'static str { match self { $( ErrorCode::$variant => $code, )* } }
            /// The OAuth 2.0 `error` value sent with it.
            pub fn oauth_error(self) -> &'static str { match self { $( ErrorCode::$variant => $oauth, )* } }
            /// The HTTP status.
            pub fn status(self) -> u16 { match self { $( ErrorCode::$variant => $status, )* } }
            /// A one-line title.
            pub fn title(self) -> &'static str { match self { $( ErrorCode::$variant => $title, )* } }
            /// What to do about it.
            pub fn fix(self) -> &'static str { match self { $( ErrorCode::$variant => $fix, )* } }
        }
    };
}

catalogue! {
    BodyMalformed = "PV1001", "invalid_request", 400, "The request body could not be parsed",
        "Send the parameters as application/x-www-form-urlencoded (RFC 6749 §3.2), UTF-8, with each name=value pair separated by '&'.";
    UnsupportedContentType = "PV1002", "invalid_request", 400, "The request has the wrong Content-Type",
        "Token, introspection and revocation requests must be POSTed with 'Content-Type: application/x-www-form-urlencoded'; the admin API takes 'application/json'.";
    BodyTooLarge = "PV1003", "invalid_request", 413, "The request body is too large",
        "Token requests are small; check that the client is not sending a file or a token where a parameter belongs. Import files larger than the limit can be split.";
    MissingParameter = "PV1004", "invalid_request", 400, "A required parameter is missing",
        "Add the parameter named in the description to the request.";
    DuplicateParameter = "PV1005", "invalid_request", 400, "A parameter was sent more than once",
        "RFC 6749 §3.1 forbids repeating a parameter; send it once. (Only 'resource' may repeat, RFC 8707.)";
    UnsupportedGrantType = "PV1006", "unsupported_grant_type", 400, "The grant type is not supported",
        "Use a grant_type listed in the issuer's discovery document under grant_types_supported.";
    InvalidParameter = "PV1007", "invalid_request", 400, "A parameter has an invalid value",
        "Correct the parameter named in the description; its allowed values are given there.";
    NotFound = "PV1008", "not_found", 404, "No such endpoint",
        "Check the URL against the issuer's discovery document ({issuer}/.well-known/openid-configuration).";
    MethodNotAllowed = "PV1009", "invalid_request", 405, "The HTTP method is not allowed here",
        "Token endpoints take POST; discovery and JWKS take GET.";
    InvalidJson = "PV1010", "invalid_request", 400, "The JSON body is invalid",
        "Fix the JSON at the path given in the description.";
    RateLimited = "PV1011", "temporarily_unavailable", 429, "Too many requests of this kind from this address",
        "Wait for the time in the Retry-After header, then try again. Each address may start only so many sign-ins and device authorizations per minute (docs/limits.md); a client that needs more is starting a flow per request instead of reusing one.";

    ClientAuthMissing = "PV1101", "invalid_client", 401, "The client did not authenticate",
        "Send the client id and secret, either in an 'Authorization: Basic' header (client_secret_basic) or as client_id and client_secret form parameters (client_secret_post).";
    ClientUnknown = "PV1102", "invalid_client", 401, "The client id is not registered in this tenant",
        "Check the client id and the tenant in the token URL: the application must be registered in the tenant whose issuer you call ('portvakt app list --tenant T').";
    ClientSecretWrong = "PV1103", "invalid_client", 401, "The client secret is wrong",
        "Use the secret shown when the application was created or last given a secret. Secrets are stored hashed and cannot be shown again; set a new one if it was lost. With client_secret_basic, the id and secret must be form-urlencoded before base64 (RFC 6749 §2.3.1).";
    ClientAuthMultipleMethods = "PV1104", "invalid_request", 400, "The client used more than one authentication method",
        "Send the credentials either in the Authorization header or in the body, not both (RFC 6749 §2.3).";
    ClientAuthMalformed = "PV1105", "invalid_client", 401, "The Authorization header could not be read",
        "Use 'Authorization: Basic base64(urlencode(client_id) \":\" urlencode(client_secret))' (RFC 6749 §2.3.1, RFC 7617).";
    PublicClientNotAllowed = "PV1106", "unauthorized_client", 400, "A public client cannot use this grant",
        "The client credentials grant needs a confidential client: give the application a client secret.";
    GrantTypeNotAllowed = "PV1107", "unauthorized_client", 400, "The application may not use this grant type",
        "Add the grant type to the application's grantTypes, or use a grant it is registered for.";
    ClientIdMismatch = "PV1108", "invalid_request", 400, "The client_id parameter does not match the authenticated client",
        "Send the same client id in the body as in the Authorization header, or leave client_id out of the body.";
    ClientAuthThrottled = "PV1109", "invalid_client", 429, "Too many failed client authentications; try again later",
        "Wait for the time in the Retry-After header, then send the right secret. Failures are counted per client and address (5), per address across clients (20) and per client from addresses it never authenticated from (100); the wait starts at 30 s and doubles up to 15 minutes (docs/limits.md).";

    ScopeRequired = "PV1201", "invalid_scope", 400, "The request does not say which resource the token is for",
        "Ask for '{resource}/.default' or '{resource}/{scope}', or send resource={resource} (RFC 8707) with plain scope names.";
    ResourceUnknown = "PV1202", "invalid_target", 400, "The resource is not registered in this tenant",
        "Register the resource (API) in the tenant, or correct its identifier; identifiers match exactly, including scheme and trailing slash.";
    ScopeUnknown = "PV1203", "invalid_scope", 400, "The resource does not define this scope",
        "Use one of the scopes the resource defines ('portvakt resource list --tenant T'), or add the scope to the resource.";
    ScopeNotAllowed = "PV1204", "invalid_scope", 400, "The application is not allowed this scope",
        "Grant the scope to the application (allowedScopes), or ask for fewer scopes.";
    MultipleResources = "PV1205", "invalid_target", 400, "The request names more than one resource",
        "An access token has one audience: request a separate token for each resource.";
    ResourceInvalid = "PV1206", "invalid_target", 400, "The resource parameter is not an absolute URI",
        "RFC 8707 §2: resource must be an absolute URI without a fragment, e.g. 'api://analytics' or 'https://api.example.com'.";
    ScopeNotForGrant = "PV1207", "invalid_scope", 400, "The scope cannot be used with this grant",
        "OpenID Connect scopes (openid, profile, email, offline_access) need a signed-in user; the client credentials grant has none.";
    ScopeDefaultCombined = "PV1208", "invalid_scope", 400, "'.default' was combined with other scopes",
        "'{resource}/.default' already means every scope the application is allowed on that resource; send it alone.";

    TenantUnknown = "PV1301", "not_found", 404, "No such tenant",
        "Check the tenant name in the URL (it is the first path segment of the issuer). 'portvakt tenant list' shows the tenants.";
    TenantNameInvalid = "PV1302", "invalid_request", 400, "The tenant name is not allowed",
        "Tenant names are 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit, and may not be one of Portvakt's own paths (admin, portal, errors, metrics, ...).";

    AdminTokenMissing = "PV1401", "invalid_request", 401, "The admin API needs an access token",
        "Send 'Authorization: Bearer <token>' with a token for the admin API; the CLI does this for you using DATA/admin.json.";
    AdminTokenInvalid = "PV1402", "invalid_token", 401, "The admin access token is not valid",
        "Get a new token for the admin client (client credentials at the system tenant, scope 'urn:portvakt:admin/.default'); the description says which check failed.";
    AdminScopeMissing = "PV1403", "insufficient_scope", 403, "The token does not grant admin access",
        "Use a token issued to the admin client for the resource 'urn:portvakt:admin' with the scope 'admin'.";
    EntityNotFound = "PV1404", "not_found", 404, "The object does not exist",
        "Check the name or id; list the objects with the matching 'list' command.";
    EntityExists = "PV1405", "conflict", 409, "An object with that name already exists",
        "Choose another name, or update the existing object (an import upserts).";
    ImportInvalid = "PV1406", "invalid_request", 400, "The import file is invalid; nothing was changed",
        "Fix the file at the JSON path given in the description and import it again. An import is one transaction: all or nothing.";
    InvalidInput = "PV1407", "invalid_request", 400, "The request body has an invalid value",
        "Correct the field named in the description.";

    Internal = "PV1501", "server_error", 500, "Internal error",
        "This is a bug or an environment problem; the server log has the details under the correlation id.";
    StorageUnavailable = "PV1502", "temporarily_unavailable", 503, "Storage is unavailable",
        "The database could not be reached or written (disk full, file permissions, PostgreSQL down). Check the server log for the correlation id and retry.";
    SigningKeyUnavailable = "PV1503", "server_error", 500, "The tenant has no usable signing key",
        "Run 'portvakt keys rotate --tenant T --prepublish 0' to create one, and check PORTVAKT_MASTER_KEY if the keys cannot be opened.";

    TokenMissing = "PV2001", "invalid_request", 401, "No access token was sent",
        "Send the access token in an 'Authorization: Bearer <token>' header (RFC 6750 §2.1). Get one from the issuer's token endpoint for this API's resource or scope.";
    AuthorizationMalformed = "PV2002", "invalid_request", 400, "The access token was sent in a way that is not accepted",
        "Send exactly one 'Authorization: Bearer <token>' header, and no access_token query or form parameter besides it (RFC 6750 §2).";
    TokenMalformed = "PV2003", "invalid_token", 401, "The access token is malformed",
        "Send the access token exactly as the token endpoint returned it: three base64url parts of JSON separated by dots, without 'Bearer ', quotes or whitespace. The description names the broken part; an ID token, a refresh token, an encrypted (5-part) or an opaque token is not an access token.";
    TokenTooLarge = "PV2004", "invalid_token", 401, "The access token is larger than the accepted limit",
        "Portvakt access tokens are well under 2 KB. Check that the caller sends the access token and nothing else; raise the guard's max_token_bytes only if the issuer really puts that many claims in tokens.";
    AlgorithmForbidden = "PV2005", "invalid_token", 401, "The signing algorithm of the token is not accepted",
        "Access tokens must be signed with one of the issuer's published asymmetric keys (ES256, EdDSA, RS256). 'none' and HMAC (HS256...) are always refused (RFC 8725 §3.1); an HMAC token is either an issuer-internal token or a forgery made with the public key.";
    AlgorithmMismatch = "PV2006", "invalid_token", 401, "The token's alg does not match the algorithm of its key",
        "The algorithm comes from the issuer's key, never from the token (RFC 8725 §3.1). A token whose alg differs from the key named by its kid was forged or built by a misconfigured issuer.";
    HeaderForbidden = "PV2007", "invalid_token", 401, "The token header names a key source of its own",
        "jku, x5u, jwk, x5c and crit headers are refused: keys come only from the issuer's JWKS (RFC 8725 §3.10). Issue tokens without these headers.";
    KeyUnknown = "PV2008", "invalid_token", 401, "The token was signed with a key the issuer does not publish",
        "Compare the token's kid with the issuer's JWKS ({issuer}/oauth2/keys). If the kid is absent there, the token comes from another issuer or environment, or the issuer replaced its keys; get a new token.";
    SignatureInvalid = "PV2009", "invalid_token", 401, "The token's signature does not verify",
        "The token was altered after signing, or signed by another issuer using the same kid. Get a new token from the issuer; never edit a token.";
    TokenTypeWrong = "PV2010", "invalid_token", 401, "The token is not an access token (typ is not at+jwt)",
        "Send the access_token from the token response, not the id_token or another JWT. Access tokens carry the header typ 'at+jwt' (RFC 9068 §2.1, §4).";
    TokenExpired = "PV2011", "invalid_token", 401, "The access token has expired",
        "The client should get a new access token (refresh token or a new grant) and retry. If fresh tokens fail too, compare this host's clock with the issuer's.";
    TokenNotYetValid = "PV2012", "invalid_token", 401, "The access token is not valid yet (nbf is in the future)",
        "The clock of this host is probably behind the issuer's: synchronise it (NTP). The description says by how much.";
    TokenIssuedInFuture = "PV2013", "invalid_token", 401, "The access token was issued in the future (iat)",
        "The clock of this host is probably behind the issuer's: synchronise it (NTP). The description says by how much.";
    IssuerMismatch = "PV2014", "invalid_token", 401, "The token was issued by another issuer",
        "The issuer must match exactly, including scheme, host, port, path and trailing slash. Configure the API with the issuer the token was minted by, or fix the issuer's public URL (a proxy often changes it).";
    AudienceMismatch = "PV2015", "invalid_token", 401, "The token is meant for another audience",
        "Request the token for this API (scope '{resource}/...' or resource={resource}); an ID token's audience is the client id and is never accepted by an API.";
    ClaimMissing = "PV2016", "invalid_token", 401, "A required claim is missing or has the wrong type",
        "Access tokens must carry iss, sub, aud, exp, iat, jti and client_id (RFC 9068 §2.2). Check that this is an access token from the expected issuer.";
    ScopeInsufficient = "PV2017", "insufficient_scope", 403, "The token lacks a scope this API requires",
        "Request a token with the scope named in the response (RFC 6750 §3.1), and make sure the application is allowed that scope.";
    RoleInsufficient = "PV2018", "insufficient_scope", 403, "The token lacks a role this API requires",
        "Assign the role named in the response to the user or application, then get a new token.";
    TokenRevoked = "PV2019", "invalid_token", 401, "The access token has been revoked",
        "Get a new access token; if that fails too, the user's or application's access was withdrawn.";
    KeysUnavailable = "PV2020", "temporarily_unavailable", 503, "The issuer's signing keys could not be obtained",
        "The API could not fetch the issuer's discovery document or JWKS and has no earlier copy. Check the URL, DNS and network from the API host, and that the issuer is running.";

    InteractionUnknown = "PV3001", "invalid_request", 400, "The sign-in page has expired or was opened in another browser",
        "Go back to the application and sign in again. Sign-in pages are valid for 15 minutes and only in the browser that started them.";
    CsrfFailed = "PV3002", "invalid_request", 403, "The form could not be verified (missing or wrong CSRF token)",
        "Reload the sign-in page and submit it again; do not post the form from another site or an old tab.";
    RedirectUriMismatch = "PV3003", "invalid_request", 400, "The redirect URI is not registered for this application",
        "Register the exact redirect URI on the application (scheme, host, port, path and trailing slash must match), or send the registered one.";
    UnsupportedResponseType = "PV3004", "unsupported_response_type", 400, "The response type is not supported",
        "Use response_type=code (the authorization code flow with PKCE).";
    PkceRequired = "PV3005", "invalid_request", 400, "PKCE is required",
        "Send code_challenge (BASE64URL(SHA-256(code_verifier))) with code_challenge_method=S256; public clients must use PKCE (RFC 7636, OAuth 2.0 Security BCP).";
    PkceMethodUnsupported = "PV3006", "invalid_request", 400, "Only the S256 PKCE method is accepted",
        "Use code_challenge_method=S256; 'plain' is refused.";
    LoginRequired = "PV3007", "login_required", 400, "The user must sign in",
        "The request had prompt=none but there is no valid session (or it is older than max_age). Start an interactive sign-in.";
    ConsentRequired = "PV3008", "consent_required", 400, "The user must consent",
        "The request had prompt=none but the user has not consented to these scopes. Start an interactive sign-in, or have an admin grant tenant-wide consent.";
    AccessDenied = "PV3009", "access_denied", 400, "The user declined",
        "The user refused consent. Ask for fewer scopes or explain why the application needs them.";
    CredentialsWrong = "PV3010", "invalid_grant", 400, "The user name or password is wrong",
        "Check the user name and password. Repeated failures slow down further attempts.";
    SignInThrottled = "PV3011", "invalid_grant", 429, "Too many failed sign-ins; try again later",
        "Wait for the time given, then try again with the right password. An administrator can check the account in the sign-in logs.";
    AccountDisabled = "PV3012", "invalid_grant", 400, "The account is disabled",
        "An administrator disabled this account ('portvakt user enable' turns it back on).";
    CodeInvalid = "PV3101", "invalid_grant", 400, "The authorization code is unknown or expired",
        "Codes are single-use and valid for 60 seconds: exchange the code at once, and only once.";
    CodeReused = "PV3102", "invalid_grant", 400, "The authorization code was already used; the tokens issued from it are revoked",
        "A code may be exchanged once. A second use means it leaked or the client retried: start a new sign-in.";
    CodeClientMismatch = "PV3103", "invalid_grant", 400, "The authorization code was issued to another client",
        "Exchange the code with the client that requested it.";
    CodeRedirectMismatch = "PV3104", "invalid_grant", 400, "The redirect_uri does not match the authorization request",
        "Send exactly the redirect_uri used in the authorization request (RFC 6749 §4.1.3).";
    PkceMismatch = "PV3105", "invalid_grant", 400, "The code_verifier does not match the code_challenge",
        "Send the code_verifier whose S256 hash was sent as code_challenge in the authorization request.";
    RefreshTokenInvalid = "PV3201", "invalid_grant", 400, "The refresh token is unknown",
        "Sign in again to get a new refresh token.";
    RefreshTokenExpired = "PV3202", "invalid_grant", 400, "The refresh token has expired",
        "The refresh token was unused for too long or reached its maximum lifetime; sign in again.";
    RefreshTokenRevoked = "PV3203", "invalid_grant", 400, "The refresh token was revoked",
        "Its sessions were revoked (by an administrator, at sign-out, or after reuse was detected). Sign in again.";
    RefreshTokenReused = "PV3204", "invalid_grant", 400, "A used refresh token was presented again; its whole family is revoked",
        "Refresh tokens rotate: use the newest one, once. A client that lost a response may retry with the used token only within the retry window (default 10 s) and before the token issued for it is used (docs/refresh-tokens.md). Anything else means the token was copied or replayed; the user must sign in again.";
    RefreshConcurrent = "PV3205", "invalid_grant", 400, "The refresh token was just used by a concurrent request",
        "Two refreshes raced; use the tokens from the one that succeeded. Serialize refreshes in the client.";
    RefreshClientMismatch = "PV3206", "invalid_grant", 400, "The refresh token was issued to another client",
        "Use the refresh token only with the client it was issued to.";
    ScopeBroadened = "PV3207", "invalid_scope", 400, "A refresh cannot add scopes",
        "Ask for the original scopes or fewer (RFC 6749 §6); new scopes need a new sign-in.";
    UserTokenInvalid = "PV3301", "invalid_token", 401, "The access token is not valid for this endpoint",
        "Send a current access token from this issuer that was granted the 'openid' scope.";
    DeviceCodePending = "PV3401", "authorization_pending", 400, "The user has not finished signing in on the other device",
        "Keep polling at the given interval (RFC 8628 §3.5).";
    DeviceCodeSlowDown = "PV3402", "slow_down", 400, "Polling too fast",
        "Increase the polling interval by 5 seconds (RFC 8628 §3.5).";
    DeviceCodeExpired = "PV3403", "expired_token", 400, "The device code has expired",
        "Start the device flow again.";
    DeviceCodeDenied = "PV3404", "access_denied", 400, "The user declined the device sign-in",
        "Start the device flow again if this was a mistake.";
    UserCodeInvalid = "PV3405", "invalid_request", 400, "The code is unknown or expired",
        "Check the code shown on the device, or start the device flow again.";
    DeviceCodeInvalid = "PV3406", "invalid_grant", 400, "The device code is unknown or was already used",
        "Start the device flow again; a device code gives tokens once.";
    UserCodeThrottled = "PV3407", "invalid_request", 429, "Too many wrong device codes from this address; try again later",
        "Wait for the time given, then type the code shown on the device carefully. Repeated wrong codes from one address are slowed down (RFC 8628 §5.1).";
    ConditionalAccessBlocked = "PV4001", "access_denied", 400, "A Conditional Access policy blocks this sign-in",
        "The description names the policy and its id. Nothing the user does will help: an administrator decides. Check the policy's conditions against the sign-in record (portal: Sign-in logs → Conditional Access; 'portvakt diagnose --correlation-id ID'), then exclude the account or a group of it, narrow the conditions, or set the policy to report-only ('portvakt policy set-state --tenant T ID enabledForReportingButNotEnforced').";
    MfaRequired = "PV4002", "interaction_required", 400, "A Conditional Access policy requires multifactor authentication",
        "Sign in again interactively and complete MFA: the application must start a new authorization request (MSAL: acquire_token_interactive; a web app: redirect to /authorize). A user without an authenticator registers one during that sign-in. A refresh token cannot satisfy MFA by itself.";
    ReauthenticationRequired = "PV4003", "interaction_required", 400, "The sign-in frequency of a Conditional Access policy requires signing in again",
        "The session is older than the policy's sign-in frequency: sign in again interactively (a new authorization request with the login page). Refreshing tokens does not reset the frequency; only an interactive sign-in does.";
    PasswordChangeRequired = "PV4004", "interaction_required", 400, "A Conditional Access policy requires a password change",
        "Sign in again interactively: after the password, the sign-in page asks for a new one. Refreshing tokens cannot satisfy it.";
    ConditionalAccessUnsatisfiable = "PV4005", "access_denied", 400, "A Conditional Access policy requires a control Portvakt cannot satisfy",
        "The policy requires a control Portvakt does not implement yet (a compliant or joined device, an approved app, terms of use, a strength other than multifactor authentication), so access is denied rather than granted without it. Change the policy's grant controls (e.g. to mfa), exclude the account, or set the policy to report-only.";
    PolicyInvalid = "PV4006", "invalid_request", 400, "The Conditional Access policy or named location is invalid; nothing was changed",
        "Fix the field at the JSON path given in the description. Portvakt refuses every Graph feature it does not implement instead of ignoring it, and every reference (user, group, role, application, named location) must exist in the tenant.";
    PoliciesUnavailable = "PV4007", "server_error", 500, "The tenant's Conditional Access policies cannot be evaluated",
        "A stored policy no longer resolves (e.g. it names something that was removed), so sign-ins fail closed rather than skip the policy. The server log names the policy and the path; fix or delete the policy ('portvakt policy list --tenant T').";
    OtpWrong = "PV4008", "invalid_grant", 400, "The verification code is wrong or was already used",
        "Type the current 6-digit code from the authenticator app (it changes every 30 seconds; each code works once). If codes are always refused, check that the phone's clock is set automatically; an administrator can reset the user's MFA ('portvakt user reset-mfa').";
    OtpThrottled = "PV4009", "invalid_grant", 429, "Too many wrong verification codes; try again later",
        "Wait for the time given, then type the current code from the authenticator app.";
    PolicyNotFound = "PV4010", "not_found", 404, "No such Conditional Access policy or named location",
        "Check the id ('portvakt policy list --tenant T' or GET …/identity/conditionalAccess/policies).";
}

impl ErrorCode {
    /// Look a code up by its string form.
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == s)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Render the catalogue as Markdown (the content of `docs/errors.md`).
pub fn catalogue_markdown() -> String {
    let mut s = String::from(
        "# Portvakt error codes\n\nGenerated from `crates/core/src/error_code.rs`; `cargo test` fails when this file is out of date\n(regenerate with `PORTVAKT_BLESS=1 cargo test -p portvakt-core`).\nEvery error response carries `error_code`, and `error_uri` points at `/errors/{code}` on the server.\n\n| code | OAuth error | HTTP | what happened | what to do |\n|---|---|---|---|---|\n",
    );
    for c in ErrorCode::ALL {
        s.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            c.code(),
            c.oauth_error(),
            c.status(),
            c.title(),
            c.fix().replace('|', "\\|")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate {}", c.code());
            assert!(
                c.code().starts_with("PV") && c.code().len() == 6,
                "{}",
                c.code()
            );
            assert_eq!(ErrorCode::from_code(c.code()), Some(*c));
            assert!((400..600).contains(&c.status()));
        }
    }

    #[test]
    fn docs_errors_md_matches_the_catalogue() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
        let want = catalogue_markdown();
        if std::env::var_os("PORTVAKT_BLESS").is_some() {
            std::fs::write(path, &want).expect("write docs/errors.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/errors.md is stale: run PORTVAKT_BLESS=1 cargo test -p portvakt-core"
        );
    }
}
