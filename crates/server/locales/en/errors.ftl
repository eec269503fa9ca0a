# Portvakt: the troubleshooting page of every error code (/errors/{code}).
#
# One message per code, named by the code in lower case (pv1103), with these attributes:
#   .title     one line, the same as the catalogue's title (crates/core/src/error_code.rs)
#   .means     what the code means
#   .fix       what to do, the same as the catalogue's fix
#   .persists  why the problem can persist when the obvious fix does not help
#   .check     what to check: one item per line starting with "- " (an item may go on
#              over more lines, indented); `text` between backticks is shown as code
# Text in braces is written {"{resource}"} (a Fluent string literal), because a bare
# brace starts a placeable. Tests check that every code of the catalogue has its
# message in en and sv with every attribute, that titles and fixes here match the
# catalogue, and that both languages list the same number of checks.

## PV10xx: requests

pv1001 =
    .title = The request body could not be parsed
    .means =
        Portvakt could not read the request body as form parameters. The body is not UTF-8,
        a percent-escape decodes to bytes that are not UTF-8, or the body could not be read
        to its end (the connection closed or the body timeout passed).
    .fix =
        Send the parameters as application/x-www-form-urlencoded (RFC 6749 §3.2), UTF-8,
        with each name=value pair separated by '&'.
    .persists =
        Most clients encode forms correctly, so a repeated failure points at the code that
        builds the body by hand, or at something between the client and Portvakt: a proxy
        that rewrites or truncates bodies, or a client that sends Latin-1 text. Retrying the
        same request gives the same error.
    .check =
        - The error_description: it names the parameter whose value is not UTF-8, or says
          the body could not be read.
        - The exact bytes the client sends (for example `curl --trace-ascii -`): names and
          values percent-encoded, pairs joined with '&'.
        - Whether a proxy in front of Portvakt changes or cuts the body, and whether slow
          clients hit the body timeout (`--body-timeout`).

pv1002 =
    .title = The request has the wrong Content-Type
    .means =
        The request was sent with a Content-Type this endpoint does not take. The token,
        introspection, revocation and device authorization endpoints read only
        application/x-www-form-urlencoded; the admin API reads only application/json. A
        request without a Content-Type is refused too.
    .fix =
        Token, introspection and revocation requests must be POSTed with 'Content-Type:
        application/x-www-form-urlencoded'; the admin API takes 'application/json'.
    .persists =
        It persists when the HTTP library picks the content type for you: many send JSON by
        default when given an object, or multipart/form-data when given a form object.
        Changing the body without changing how it is sent does not help.
    .check =
        - The Content-Type header the client really sends (the error_description repeats
          it).
        - How the body is built: a URL-encoded string or the library's form option, not a
          JSON object or multipart form data.
        - For the admin API: prefer the `portvakt` CLI, which sends application/json for
          you.

pv1003 =
    .title = The request body is too large
    .means =
        The request body is larger than this endpoint accepts: 16 KiB for form posts (token,
        introspection, revocation, sign-in forms), 64 KiB for admin API JSON and 8 MiB for
        an import file. Portvakt stops reading at the limit, so nothing in the request was
        processed.
    .fix =
        Token requests are small; check that the client is not sending a file or a token
        where a parameter belongs. Import files larger than the limit can be split.
    .persists =
        A token request is a few hundred bytes. A body that keeps exceeding the limit
        usually carries something that does not belong there (a whole token or file in a
        parameter, a scope list built in a loop), or an import file that has simply outgrown
        one request.
    .check =
        - The size of the body and which parameter makes it large (the error_description
          gives the limit).
        - That the client sends a token only where one belongs, and only once.
        - For imports: split the file by tenant or object type and import the parts one
          after another.

pv1004 =
    .title = A required parameter is missing
    .means =
        A parameter the endpoint needs was not in the request. The error_description names
        it, for example grant_type at the token endpoint, client_id or response_type at the
        authorization endpoint, or client_id when only a client_secret was sent.
    .fix = Add the parameter named in the description to the request.
    .persists =
        If the parameter is in your code but still reported missing, it is lost on the way:
        sent in the query string of a POST instead of the body, misspelled (grant-type,
        clientId), or sent in a JSON body that is not read as a form.
    .check =
        - The parameter named in the error_description, spelled exactly as in RFC 6749 or
          OpenID Connect.
        - That form parameters of a POST are in the body, not the URL.
        - The Content-Type: with anything but application/x-www-form-urlencoded the body is
          not read (see PV1002).

pv1005 =
    .title = A parameter was sent more than once
    .means =
        The same parameter appears more than once in the request. RFC 6749 §3.1 forbids
        that, and Portvakt refuses the request rather than guess which value was meant. Only
        resource may repeat (RFC 8707).
    .fix =
        RFC 6749 §3.1 forbids repeating a parameter; send it once. (Only 'resource' may
        repeat, RFC 8707.)
    .persists =
        Duplicates usually come from two layers adding the same parameter: a library that
        adds client_id or scope itself while your code adds it too, or default parameters
        merged with per-request ones. It returns on every request until one of the layers
        stops adding it.
    .check =
        - The error_description: it names the repeated parameter.
        - The raw body the client sends, not the code that builds it: look for the name
          twice.
        - Library options that add parameters for you (client_id, scope, redirect_uri).

pv1006 =
    .title = The grant type is not supported
    .means =
        The token request names a grant_type Portvakt does not implement, for example
        password (the resource owner password grant, removed by the OAuth 2.0 Security BCP)
        or a misspelled value.
    .fix =
        Use a grant_type listed in the issuer's discovery document under
        grant_types_supported.
    .persists =
        Changing credentials does not help: the grant itself is not available. A client
        built for another provider may assume grants Portvakt does not offer; it needs
        another flow, such as the authorization code flow with PKCE for users or client
        credentials for services.
    .check =
        - The grant_types_supported list in the issuer's discovery document
          (`{"{issuer}"}/.well-known/openid-configuration`).
        - The exact grant_type value the client sends (for the device flow it is the URN
          urn:ietf:params:oauth:grant-type:device_code).
        - Which flow the client really needs: a user signing in, a device without a browser,
          or a service acting as itself.

pv1007 =
    .title = A parameter has an invalid value
    .means =
        A parameter is present but its value is not accepted: too long (each authorization
        request parameter has a size limit), not one of the allowed values (response_mode,
        prompt), or not well formed (code_challenge, max_age). The error_description names
        the parameter and what is allowed.
    .fix =
        Correct the parameter named in the description; its allowed values are given there.
    .persists =
        The value usually comes from configuration or a library default rather than from the
        request at hand, so every request carries it: a response_mode of form_post or
        fragment, prompt combinations such as none with login, or a state value that grows
        with each redirect.
    .check =
        - The parameter and the allowed values in the error_description.
        - Library defaults that set response_mode, prompt or max_age for you.
        - The length of state and nonce: Portvakt stores them with the pending sign-in, so
          they are bounded (2048 and 512 bytes).

pv1008 =
    .title = No such endpoint
    .means =
        There is no endpoint at this path. Every Portvakt endpoint is under a tenant's
        issuer ({"{public-url}"}/{"{tenant}"}/…), under /admin/v1/ or under /errors/;
        anything else answers PV1008. On this page it also answers a code that does not
        exist.
    .fix =
        Check the URL against the issuer's discovery document
        ({"{issuer}"}/.well-known/openid-configuration).
    .persists =
        A client that builds URLs from a guessed pattern (/oauth/token, /connect/token,
        /v2.0/…) keeps failing however the request is changed. So does one configured with
        an issuer without the tenant, or behind a proxy that adds or strips a path prefix.
    .check =
        - The endpoint URLs in the tenant's discovery document
          (`{"{issuer}"}/.well-known/openid-configuration`); configure clients with the
          issuer and let them read it.
        - That the URL includes the tenant as its first path segment (`portvakt tenant list`
          shows the issuers).
        - Path rewriting in a proxy in front of Portvakt, and the configured public URL
          (`--public-url`).

pv1009 =
    .title = The HTTP method is not allowed here
    .means =
        The endpoint exists but not for this HTTP method: the token, introspection,
        revocation and device authorization endpoints take POST; discovery, JWKS and the
        troubleshooting pages take GET.
    .fix = Token endpoints take POST; discovery and JWKS take GET.
    .persists =
        A client that follows a redirect after a POST may turn it into a GET, and some tools
        default to GET. Pasting the token URL into a browser always gives this error; that
        is expected.
    .check =
        - The method the client sends, after any redirects (a 301 or 302 turns POST into GET
          in most clients).
        - That the URL is the endpoint you meant: the token endpoint and the JWKS differ by
          one path segment.
        - The endpoints and methods in the tenant's discovery document.

pv1010 =
    .title = The JSON body is invalid
    .means =
        The admin API could not read the JSON body: it is not valid JSON, or a field has the
        wrong type or an unknown name. The error_description gives the JSON path of the
        first problem, for example $.displayName.
    .fix = Fix the JSON at the path given in the description.
    .persists =
        Field names are camelCase and unknown fields are refused, so JSON copied from
        another tool or written in snake_case fails the same way every time. Shell quoting
        can also break JSON before it is sent.
    .check =
        - The JSON path in the error_description and the field names in the OpenAPI document
          (`/admin/v1/openapi.json`).
        - The body exactly as sent, after shell quoting (for example with `curl -v` or `jq .
          file.json`).
        - Whether the `portvakt` CLI has a command for the change; it builds the JSON for
          you.

pv1011 =
    .title = Too many requests of this kind from this address
    .means =
        One client address started more sign-ins (300 a minute) or device authorizations (60
        a minute) than Portvakt allows. Each one stores a pending record, so the number is
        bounded per address; the Retry-After header says how many seconds to wait.
    .fix =
        Wait for the time in the Retry-After header, then try again. Each address may start
        only so many sign-ins and device authorizations per minute (docs/limits.md); a
        client that needs more is starting a flow per request instead of reusing one.
    .persists =
        Limits count the TCP peer's address, IPv6 by its /64. Behind a reverse proxy or a
        NAT every user shares one address, so the limit is reached by all of them together
        and keeps returning at busy times. A client that starts a new sign-in for every
        request, instead of keeping its tokens, reaches it alone.
    .check =
        - The Retry-After header and the error_description, which says which limit was
          reached.
        - Whether the requests come through a proxy or NAT, so that many users share one
          address.
        - Whether the client reuses its session, access token and refresh token, or starts a
          flow per request.
        - The sign-in logs: many sign-ins from one address in a short time, and whether they
          are finished.

## PV11xx: client authentication

pv1101 =
    .title = The client did not authenticate
    .means =
        The request needs an authenticated client and carried no credentials: no
        Authorization header and no client_secret in the body, or a confidential client that
        sent only its client_id. Introspection, and the code and refresh grants of a
        confidential client, need the secret too.
    .fix =
        Send the client id and secret, either in an 'Authorization: Basic' header
        (client_secret_basic) or as client_id and client_secret form parameters
        (client_secret_post).
    .persists =
        It persists when the credentials are configured but not sent: a library set to the
        wrong authentication method (none or private_key_jwt instead of client_secret_basic
        or client_secret_post), a secret read from an empty environment variable, or a proxy
        that removes the Authorization header.
    .check =
        - The request as it arrives: an 'Authorization: Basic …' header, or client_id and
          client_secret in the form body.
        - The client library's token endpoint authentication method setting.
        - That the application is confidential and that the client has its secret (`portvakt
          app list --tenant T` shows the type).

pv1102 =
    .title = The client id is not registered in this tenant
    .means =
        No application with this client id is registered in the tenant of the URL. Client
        ids are per tenant: the same id in another tenant is another application.
    .fix =
        Check the client id and the tenant in the token URL: the application must be
        registered in the tenant whose issuer you call ('portvakt app list --tenant T').
    .persists =
        It persists when the client talks to the wrong tenant or the wrong Portvakt (staging
        instead of production), when the id was copied with a typo or whitespace, or when
        the application was never imported into this environment. Resending the same request
        cannot succeed.
    .check =
        - The tenant in the token URL and the client id, character for character (the
          error_description repeats both).
        - The registered applications: `portvakt app list --tenant T`.
        - That the import that creates the application has run against this server
          (`portvakt import FILE`).

pv1103 =
    .title = The client secret is wrong
    .means =
        The client id is known but the secret does not match the one stored for it, or a
        public client (which has no secret) sent one. Portvakt stores only a SHA-256 hash of
        each secret and compares in constant time; it cannot tell you what the right secret
        is.
    .fix =
        Use the secret shown when the application was created or last given a secret.
        Secrets are stored hashed and cannot be shown again; set a new one if it was lost.
        With client_secret_basic, the id and secret must be form-urlencoded before base64
        (RFC 6749 §2.3.1).
    .persists =
        It persists after a secret was changed by an import while clients still use the old
        one, when a secret is stored with a trailing newline or quotes, or with
        client_secret_basic when the id or secret contains characters that must be
        form-urlencoded before base64 (RFC 6749 §2.3.1) and the client skips that step.
    .check =
        - Where the client reads its secret from, and that the value has no trailing
          newline, spaces or quotes.
        - Whether the secret was changed recently (an import sets it) and every client was
          given the new one.
        - With Basic authentication: that id and secret are URL-encoded before base64; or
          try client_secret_post once to compare.
        - The sign-in logs: failures for this client id, and from which addresses.

pv1104 =
    .title = The client used more than one authentication method
    .means =
        The client sent its credentials twice: in the Authorization header and as
        client_secret in the body. RFC 6749 §2.3 allows one method per request, so Portvakt
        refuses instead of choosing one.
    .fix =
        Send the credentials either in the Authorization header or in the body, not both
        (RFC 6749 §2.3).
    .persists =
        This is almost always a library adding Basic authentication on its own while the
        application code also puts the secret in the form. It happens on every request until
        one of the two is turned off.
    .check =
        - The raw request: an Authorization header and a client_secret parameter together.
        - The library's client authentication setting, and code that adds client_secret to
          the form by hand.
        - An HTTP client or proxy configured to add an Authorization header to every
          request.

pv1105 =
    .title = The Authorization header could not be read
    .means =
        The Authorization header of a token request could not be read as Basic credentials:
        it is not ASCII, not valid base64, has no ':' between id and secret, or uses another
        scheme such as Bearer.
    .fix =
        Use 'Authorization: Basic base64(urlencode(client_id) ":" urlencode(client_secret))'
        (RFC 6749 §2.3.1, RFC 7617).
    .persists =
        It persists when the header is built by hand: base64url instead of base64, a line
        break inserted by a base64 tool, the id and secret not URL-encoded first, or a
        bearer token sent to the token endpoint where client credentials belong.
    .check =
        - The error_description: it says which part failed (base64, ':' or the scheme).
        - The header value decoded: `echo VALUE | base64 -d` should print id:secret.
        - That the client sends client credentials to the token endpoint, and a bearer token
          only to APIs.

pv1106 =
    .title = A public client cannot use this grant
    .means =
        A public client (one registered without a secret, such as a single-page or mobile
        app) asked for a grant that needs a confidential client. The client credentials
        grant acts as the application itself, so it must prove who it is with a secret.
    .fix =
        The client credentials grant needs a confidential client: give the application a
        client secret.
    .persists =
        A public client cannot be fixed by sending a secret: it has none, and any secret
        shipped in a browser or app is readable by its users. It persists until the
        application is registered as confidential, or the client uses a user flow
        (authorization code with PKCE).
    .check =
        - The application's type: `portvakt app list --tenant T` (public or confidential).
        - Whether this client should act as itself (a service: give it a secret) or for a
          signed-in user (use the authorization code flow).
        - That the client id is the one you meant: a service and its front end often have
          separate applications.

pv1107 =
    .title = The application may not use this grant type
    .means =
        The application is registered, but not for this grant type. Each application lists
        the grants it may use (grantTypes): client_credentials, authorization_code,
        refresh_token, the device code grant. Asking for another, or starting the
        authorization code or device flow without it, is refused.
    .fix =
        Add the grant type to the application's grantTypes, or use a grant it is registered
        for.
    .persists =
        It persists when the client was given a new flow (refresh tokens, the device flow)
        but the application's registration was not updated, or when the import that adds the
        grant type was applied to another tenant or server.
    .check =
        - The application's grant types: `portvakt app list --tenant T`.
        - The grant the client asks for (the error_description lists the registered ones).
        - For refresh tokens: the grant type refresh_token and the scope offline_access are
          both needed.

pv1108 =
    .title = The client_id parameter does not match the authenticated client
    .means =
        The client authenticated with one client id in the Authorization header and named
        another in the client_id form parameter. Portvakt refuses rather than decide which
        one is meant.
    .fix =
        Send the same client id in the body as in the Authorization header, or leave
        client_id out of the body.
    .persists =
        It persists when a client is configured in two places, for example a Basic header
        built from one setting and client_id added from another, often after an application
        was replaced by a new one.
    .check =
        - Both ids: the error_description shows the one in the body and the one in the
          header.
        - Where the client takes each from; leave client_id out of the body when sending
          Basic credentials.
        - That the secret belongs to the id in the header.

pv1109 =
    .title = Too many failed client authentications; try again later
    .means =
        Too many token, introspection, revocation or device requests failed to authenticate
        their client, so further attempts wait, even with the right secret: five failures of
        one client from one address, twenty from one address across clients, or a hundred
        for one client from addresses it never authenticated from. The wait starts at 30
        seconds and doubles, up to 15 minutes. These counts are kept apart from passwords:
        a service with a wrong secret never locks people out of signing in.
    .fix =
        Wait for the time in the Retry-After header, then send the right secret. Failures
        are counted per client and address (5), per address across clients (20) and per
        client from addresses it never authenticated from (100); the wait starts at 30 s
        and doubles up to 15 minutes (docs/limits.md).
    .persists =
        It persists while something keeps sending a wrong secret: a service still
        configured with a secret that was replaced, a second instance with an old
        configuration, or someone scanning for client ids. Each new failure while held back
        makes the next wait longer.
    .check =
        - The sign-in logs for the client id (service principal sign-ins): the failures
          before this one, their code (PV1103 wrong secret, PV1102 unknown client) and
          their addresses.
        - Every place the service's secret is configured, after the secret was changed.
        - Whether the failures come from an address of yours at all.

## PV12xx: scopes and resources

pv1201 =
    .title = The request does not say which resource the token is for
    .means =
        An access token has exactly one audience, and this request does not say which API it
        is for: there is no resource parameter and the scopes are plain names (Reports.Read)
        rather than names under a resource (api://analytics/Reports.Read), or there is no
        scope at all.
    .fix =
        Ask for '{"{resource}"}/.default' or '{"{resource}"}/{"{scope}"}', or send
        resource={"{resource}"} (RFC 8707) with plain scope names.
    .persists =
        Clients written for providers that guess the audience, or that issue a token for a
        default API, send plain scope names and keep failing. Adding more scopes does not
        help; the resource has to be named.
    .check =
        - The scope the client sends: '{"{resource}"}/.default' or
          '{"{resource}"}/{"{scope}"}', or a resource parameter beside plain scope names.
        - The resource identifiers of the tenant: `portvakt resource list --tenant T`.
        - For user sign-in: openid alone is enough for an ID token; an API needs its
          resource as well.

pv1202 =
    .title = The resource is not registered in this tenant
    .means =
        The resource named by the scope or the resource parameter is not registered in this
        tenant. Resource identifiers compare as exact strings: api://analytics and
        api://analytics/ are two different resources.
    .fix =
        Register the resource (API) in the tenant, or correct its identifier; identifiers
        match exactly, including scheme and trailing slash.
    .persists =
        It persists when the identifier differs by a trailing slash, scheme or case from the
        registered one, when the API is registered in another tenant, or when the client
        uses the API's URL where its identifier belongs. The identifier is what the resource
        was registered with, not where it runs.
    .check =
        - The identifier in the error_description against `portvakt resource list --tenant
          T`, character for character.
        - That the resource is registered in the tenant whose token endpoint is called.
        - Whether the client takes the identifier from configuration that differs between
          environments.

pv1203 =
    .title = The resource does not define this scope
    .means =
        The resource exists but does not define a scope by this name. Scope names are
        case-sensitive; the error_description lists the scopes the resource does define.
    .fix =
        Use one of the scopes the resource defines ('portvakt resource list --tenant T'), or
        add the scope to the resource.
    .persists =
        It persists when the API added a scope in code but not in its registration, when the
        name differs in case (reports.read against Reports.Read), or when the client asks
        for the scope of another API under this resource's identifier.
    .check =
        - The scopes the resource defines: `portvakt resource list --tenant T`.
        - The scope name the client sends, including case.
        - If the scope is new: that the import adding it to the resource has been applied.

pv1204 =
    .title = The application is not allowed this scope
    .means =
        The scope exists on the resource, but this application is not allowed it. Each
        application lists its allowed scopes ({"{resource}"}/{"{scope}"}, or
        {"{resource}"}/.default for all of a resource's scopes); a request for anything else
        is refused, and nothing is issued.
    .fix = Grant the scope to the application (allowedScopes), or ask for fewer scopes.
    .persists =
        It persists when a new scope was added to the resource but not to the application's
        allowedScopes, or when several applications share code and one of them is narrower
        than the others.
    .check =
        - The application's allowed scopes: `portvakt app list --tenant T`.
        - The scope requested (the error_description names the application and the scope).
        - Whether the client should ask for fewer scopes instead of the application being
          allowed more.

pv1205 =
    .title = The request names more than one resource
    .means =
        The request names more than one resource, through repeated resource parameters or
        scopes under different resources. A Portvakt access token has one audience, so one
        request can serve one API.
    .fix = An access token has one audience: request a separate token for each resource.
    .persists =
        A client that calls several APIs and asks for all their scopes at once fails on
        every request. It needs one token per API, each requested separately (a refresh
        token can be used to get each of them).
    .check =
        - The scopes and resource parameters sent: all of them must name the same resource.
        - Whether the client caches one token per API, keyed by the resource.
        - The resources in the error_description.

pv1206 =
    .title = The resource parameter is not an absolute URI
    .means =
        The resource parameter is not an absolute URI without a fragment (RFC 8707 §2). A
        bare name such as analytics, or a value with #, is not a resource identifier.
    .fix =
        RFC 8707 §2: resource must be an absolute URI without a fragment, e.g.
        'api://analytics' or 'https://api.example.com'.
    .persists =
        It persists when the client is configured with a short API name, or builds the
        identifier by joining strings and loses the scheme.
    .check =
        - The value of resource in the request (the error_description repeats it).
        - The registered identifiers: `portvakt resource list --tenant T`; send one of them
          exactly.
        - URL-encoding of the parameter: api%3A%2F%2Fanalytics decodes to api://analytics.

pv1207 =
    .title = The scope cannot be used with this grant
    .means =
        A scope that describes a user (openid, profile, email, offline_access) was asked for
        with the client credentials grant, where there is no user. Such a token is issued to
        the application itself.
    .fix =
        OpenID Connect scopes (openid, profile, email, offline_access) need a signed-in
        user; the client credentials grant has none.
    .persists =
        It persists when one scope list is shared between a service's background jobs and
        its user sign-in. The service part must ask only for API scopes.
    .check =
        - The scope list of the client credentials request; remove the OpenID Connect scopes
          from it.
        - Whether the client should sign a user in instead (authorization code with PKCE, or
          the device flow).
        - Where the scope list comes from in the client's configuration.

pv1208 =
    .title = '.default' was combined with other scopes
    .means =
        The scope {"{resource}"}/.default means every scope the application is allowed on
        that resource. Combining it with other scopes is contradictory, so Portvakt refuses
        rather than guess.
    .fix =
        '{"{resource}"}/.default' already means every scope the application is allowed on
        that resource; send it alone.
    .persists =
        It persists when a library appends its own scopes (openid, offline_access, or a
        default list) to the .default scope you configured.
    .check =
        - The full scope parameter as sent, not as configured.
        - Library options that add scopes for you.
        - Whether specific scopes ({"{resource}"}/{"{scope}"}) would say better what the
          client needs.

## PV13xx: tenants

pv1301 =
    .title = No such tenant
    .means =
        There is no tenant with the name in the URL. The tenant is the first path segment of
        every issuer, token endpoint and sign-in page: {"{public-url}"}/{"{tenant}"}/…
    .fix =
        Check the tenant name in the URL (it is the first path segment of the issuer).
        'portvakt tenant list' shows the tenants.
    .persists =
        It persists when the client points at another environment where the tenant was never
        created, when the name differs in case or spelling, or when a proxy adds a path
        prefix so that Portvakt reads the prefix as the tenant.
    .check =
        - The tenants of this server: `portvakt tenant list`.
        - The issuer the client is configured with, compared with the issuer column of that
          list.
        - Path prefixes added or removed by a proxy, and `--public-url`.

pv1302 =
    .title = The tenant name is not allowed
    .means =
        A tenant cannot be created with this name. Names follow the rules of a DNS label
        (1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'), so that a
        tenant can later become a subdomain, and some names are kept for Portvakt's own
        paths (admin, portal, errors, metrics, …).
    .fix =
        Tenant names are 1-63 characters of a-z, 0-9 and '-', starting with a letter or
        digit, and may not be one of Portvakt's own paths (admin, portal, errors, metrics, ...).
    .persists =
        Capital letters, dots and underscores are never accepted, and a reserved name stays
        reserved; the same import fails every time until the name is changed.
    .check =
        - The name and the reason in the error_description (characters, length or reserved).
        - The tenant names in the import file, if the tenant is created by an import.
        - That clients have not yet been configured with an issuer using the refused name.

## PV14xx: admin API

pv1401 =
    .title = The admin API needs an access token
    .means =
        An admin API request arrived without a bearer token: there is no Authorization
        header, or it uses another scheme than Bearer. Every /admin/v1/ endpoint except the
        OpenAPI document needs one.
    .fix =
        Send 'Authorization: Bearer <token>' with a token for the admin API; the CLI does
        this for you using DATA/admin.json.
    .persists =
        It persists when a script calls the admin API directly and never obtains a token, or
        when a proxy in front of Portvakt strips the Authorization header. The `portvakt`
        CLI gets a token for every command on its own.
    .check =
        - That the request carries 'Authorization: Bearer <token>'.
        - That the CLI finds the server and its credential: DATA/admin.json, or
          PORTVAKT_URL, PORTVAKT_CLIENT_ID and PORTVAKT_CLIENT_SECRET all set.
        - Whether a proxy removes Authorization headers on the way.

pv1402 =
    .title = The admin access token is not valid
    .means =
        The bearer token sent to the admin API was refused: it is malformed, expired, signed
        by a key the system tenant does not have, meant for another audience, or revoked.
        The error_description and the WWW-Authenticate header say which check failed.
    .fix =
        Get a new token for the admin client (client credentials at the system tenant, scope
        'urn:portvakt:admin/.default'); the description says which check failed.
    .persists =
        A new token helps only if the credential behind it is still good. It persists when
        the CLI reads the admin.json of another data directory or server (the token then
        comes from the wrong issuer), when the system tenant's keys were replaced, or when
        the admin client's tokens were revoked.
    .check =
        - The token's issuer, audience and expiry: `portvakt token decode TOKEN`.
        - Which data directory the CLI uses (`--data`) and that its admin.json belongs to
          this server.
        - The system tenant's keys: `portvakt keys list --tenant system`.

pv1403 =
    .title = The token does not grant admin access
    .means =
        The token is valid but does not grant admin access: it was not issued for the
        resource urn:portvakt:admin with the scope admin. Tokens for other APIs, or user
        tokens, cannot manage Portvakt.
    .fix =
        Use a token issued to the admin client for the resource 'urn:portvakt:admin' with
        the scope 'admin'.
    .persists =
        It persists when the client asks the system tenant for the wrong scope, or when a
        token meant for another API is reused for the admin API.
    .check =
        - The token's aud and scope: `portvakt token decode TOKEN`.
        - The scope requested when the token was obtained: urn:portvakt:admin/.default.
        - That the token comes from the admin client (the client_id in DATA/admin.json).

pv1404 =
    .title = The object does not exist
    .means =
        The admin API found no object by that name or id: the tenant, user, group,
        application, resource or key named in the path does not exist.
    .fix = Check the name or id; list the objects with the matching 'list' command.
    .persists =
        Names are looked up exactly as given. It persists when the object lives in another
        tenant, was never imported into this server, or was deleted by a later import; user
        principal names must match the stored one.
    .check =
        - The list of such objects: `portvakt tenant list`, `portvakt user list --tenant T`,
          `portvakt app list --tenant T`, `portvakt resource list --tenant T`.
        - The tenant in the command or path.
        - Which server the CLI talks to (PORTVAKT_URL or DATA/admin.json).

pv1405 =
    .title = An object with that name already exists
    .means =
        An object with this name already exists, so it cannot be created again. Create
        commands make new objects only; an import updates existing ones instead.
    .fix = Choose another name, or update the existing object (an import upserts).
    .persists =
        Running the same create command twice, for example in a provisioning script, fails
        the second time and every time after.
    .check =
        - The existing object: the matching `list` command shows it.
        - Whether the script should use `portvakt import FILE`, which creates or updates (an
          upsert), instead of create commands.
        - The error_description: it names the object that exists.

pv1406 =
    .title = The import file is invalid; nothing was changed
    .means =
        The import file was checked before anything was written and a problem was found. An
        import is one transaction: nothing in the file was applied. The error_description
        lists each problem with its JSON path, for example
        $.tenants[0].applications[2].allowedScopes[0].
    .fix =
        Fix the file at the JSON path given in the description and import it again. An
        import is one transaction: all or nothing.
    .persists =
        Every problem in the file is reported at once, and the file is all or nothing, so
        the same file fails until every listed path is fixed. A reference to an object
        defined in another file (a scope of a resource that is imported separately) fails
        too: each import is checked on its own together with what is already stored.
    .check =
        - Each JSON path in the error_description, against the format in docs/import.md.
        - References inside the file: scopes of resources in the same tenant, groups that
          exist, secrets of at least 22 characters, passwords of at least 8.
        - Whether the file is valid JSON at all (for example `jq . FILE`).

pv1407 =
    .title = The request body has an invalid value
    .means =
        The admin API read the JSON body but a field has a value it does not accept, for
        example a lifetime out of range, an unknown algorithm or an invalid name. The
        error_description names the field.
    .fix = Correct the field named in the description.
    .persists =
        The value usually comes from a script or template, so every run sends it again until
        the source is fixed.
    .check =
        - The field and the rule in the error_description.
        - The allowed values in the OpenAPI document (`/admin/v1/openapi.json`) or the CLI's
          `--help`.
        - Values that depend on the environment (lifetimes, algorithms) in the script's
          configuration.

## PV15xx: server

pv1501 =
    .title = Internal error
    .means =
        Portvakt hit an unexpected condition and could not answer the request. The client
        did nothing wrong; the detail is in the server log, not in the response.
    .fix =
        This is a bug or an environment problem; the server log has the details under the
        correlation id.
    .persists =
        A bug fails the same way for the same input, and an environment problem (the
        password hashing threads stopped, data changed under the server) lasts until the
        environment is fixed. Retrying does not help in either case.
    .check =
        - The server log at error level, searched for the correlation id of the response.
        - Whether the failure repeats with the same request, and since when (an upgrade, an
          import).
        - Report it with the correlation id, the log lines and the Portvakt version.

pv1502 =
    .title = Storage is unavailable
    .means =
        Portvakt could not read or write its database. Nothing was changed by this request;
        it is safe to retry once storage is back.
    .fix =
        The database could not be reached or written (disk full, file permissions,
        PostgreSQL down). Check the server log for the correlation id and retry.
    .persists =
        It lasts as long as the cause: a full disk, a data directory whose permissions
        changed, a database file locked or moved by another process, or a database server
        that is down.
    .check =
        - The server log for the correlation id: it carries the storage error.
        - Free disk space and the permissions of the data directory (`--data`).
        - That only one Portvakt process uses the data directory.

pv1503 =
    .title = The tenant has no usable signing key
    .means =
        The tenant has no signing key that is active now, or its keys cannot be opened.
        Private keys are sealed with the master key; without an active key that opens, no
        token can be signed in this tenant.
    .fix =
        Run 'portvakt keys rotate --tenant T --prepublish 0' to create one, and check
        PORTVAKT_MASTER_KEY if the keys cannot be opened.
    .persists =
        It persists when the server starts with another master key than the one that sealed
        the keys (PORTVAKT_MASTER_KEY changed, or DATA/master.key replaced), or when every
        key of the tenant's algorithm was retired and a new one is still pre-published (it
        signs only after --prepublish seconds).
    .check =
        - The tenant's keys and their state: `portvakt keys list --tenant T`.
        - That PORTVAKT_MASTER_KEY, or DATA/master.key, is the one the keys were sealed
          with.
        - The server log for the correlation id: it says whether the key is missing or
          cannot be opened.

## PV20xx: token validation in APIs (the guard)

pv2001 =
    .title = No access token was sent
    .means =
        The API (or Portvakt's userinfo endpoint) received a request without an access
        token: no Authorization header, or one without a Bearer token. The response carries
        a WWW-Authenticate challenge and no error (RFC 6750 §3.1), as a request that has not
        tried to authenticate yet.
    .fix =
        Send the access token in an 'Authorization: Bearer <token>' header (RFC 6750 §2.1).
        Get one from the issuer's token endpoint for this API's resource or scope.
    .persists =
        It persists when the client never obtained a token, when a proxy or gateway drops
        the Authorization header (some do on redirects or cross-origin requests), or when a
        browser app's request is sent without the header it sets elsewhere.
    .check =
        - That the header arrives at the API: log the names of incoming headers, or test
          with `curl -H 'Authorization: Bearer TOKEN'`.
        - Proxies, gateways and redirects between the client and the API.
        - That the client requests a token first, from the issuer's token endpoint, for this
          API's resource.

pv2002 =
    .title = The access token was sent in a way that is not accepted
    .means =
        The request carries the token in a way RFC 6750 §2 does not allow: more than one
        Authorization header, or a token in the header and an access_token query or form
        parameter as well. The API cannot tell which token is meant.
    .fix =
        Send exactly one 'Authorization: Bearer <token>' header, and no access_token query
        or form parameter besides it (RFC 6750 §2).
    .persists =
        It persists when two layers each add the token: an HTTP client with a default
        Authorization header plus code that adds one per request, or a gateway that copies a
        query token into a header.
    .check =
        - The Authorization headers the API receives, counted.
        - Any access_token parameter in the URL or body; send the token in the header only.
        - Defaults in the HTTP client and rules in gateways that add headers.

pv2003 =
    .title = The access token is malformed
    .means =
        What was sent as the access token is not a signed JWT: three base64url parts of JSON
        separated by dots. The error_description says which part is broken; the hints say
        what the value looks like instead (a 'Bearer ' prefix, quotes, an opaque or
        encrypted token).
    .fix =
        Send the access token exactly as the token endpoint returned it: three base64url
        parts of JSON separated by dots, without 'Bearer ', quotes or whitespace. The
        description names the broken part; an ID token, a refresh token, an encrypted
        (5-part) or an opaque token is not an access token.
    .persists =
        A token that is damaged on the way is damaged the same way every time: quotes kept
        from JSON, whitespace from copy and paste, 'Bearer ' doubled, URL-encoding applied
        twice, or an ID token or refresh token sent where the access token belongs.
    .check =
        - The value as the API receives it: `portvakt token validate --issuer ISSUER
          --audience AUDIENCE TOKEN` shows the broken part and the likely cause.
        - That the client sends the access_token field of the token response, not id_token
          or refresh_token.
        - Code between the token response and the header: JSON serialization, string
          concatenation, URL-encoding.

pv2004 =
    .title = The access token is larger than the accepted limit
    .means =
        The token is larger than the API accepts (the guard's max_token_bytes), so it was
        refused before being parsed. The limit protects the API from spending work on
        oversized input.
    .fix =
        Portvakt access tokens are well under 2 KB. Check that the caller sends the access
        token and nothing else; raise the guard's max_token_bytes only if the issuer really
        puts that many claims in tokens.
    .persists =
        Portvakt's own access tokens are well under 2 KB, so a token over the limit is
        usually not one: several values joined together, a whole token response, or a token
        from an issuer that puts many claims (groups, for example) into it.
    .check =
        - The size in the error_description and what the value contains: `portvakt token
          decode TOKEN`.
        - That the client sends only the access_token string.
        - If the issuer really issues large tokens: raise max_token_bytes in the API's guard
          configuration.

pv2005 =
    .title = The signing algorithm of the token is not accepted
    .means =
        The token's header names a signing algorithm the API does not accept: none
        (unsigned), an HMAC algorithm (HS256 and the like), or an algorithm none of the
        issuer's keys uses. Only the issuer's published asymmetric keys can make a token
        valid (RFC 8725 §3.1).
    .fix =
        Access tokens must be signed with one of the issuer's published asymmetric keys
        (ES256, EdDSA, RS256). 'none' and HMAC (HS256...) are always refused (RFC 8725
        §3.1); an HMAC token is either an issuer-internal token or a forgery made with the
        public key.
    .persists =
        It persists when the token comes from another issuer or system that signs with a
        shared secret, or when the issuer is configured for an algorithm the API's keys do
        not include. A token with alg none or HMAC made for this API is a forgery attempt
        and should be looked into.
    .check =
        - The token's header (alg, kid) and issuer: `portvakt token decode TOKEN`.
        - The algorithms of the issuer's keys: `portvakt keys list --tenant T`, or the JWKS
          at `{"{issuer}"}/oauth2/keys`.
        - Where the client got the token; if nobody issued it, treat it as an attack and
          review the API's access logs.

pv2006 =
    .title = The token's alg does not match the algorithm of its key
    .means =
        The token's alg header differs from the algorithm of the key its kid names. The API
        takes the algorithm from the key, never from the token, so the token is refused
        rather than verified another way.
    .fix =
        The algorithm comes from the issuer's key, never from the token (RFC 8725 §3.1). A
        token whose alg differs from the key named by its kid was forged or built by a
        misconfigured issuer.
    .persists =
        A real issuer never produces this; it persists when tokens are built by hand or by a
        misconfigured signer that reuses a kid for a key of another type, or when someone
        tries an algorithm-confusion attack.
    .check =
        - The header's alg and kid: `portvakt token decode TOKEN`.
        - The key with that kid in the issuer's JWKS (`{"{issuer}"}/oauth2/keys`) and its
          alg.
        - Who produced the token; Portvakt signs each token with the algorithm of the key it
          names.

pv2007 =
    .title = The token header names a key source of its own
    .means =
        The token's header names a key source of its own (jku, x5u, jwk, x5c) or critical
        extensions (crit). Keys come only from the issuer's JWKS, so a token that points
        elsewhere is refused (RFC 8725 §3.10).
    .fix =
        jku, x5u, jwk, x5c and crit headers are refused: keys come only from the issuer's
        JWKS (RFC 8725 §3.10). Issue tokens without these headers.
    .persists =
        Portvakt never puts these headers in its tokens, so the token comes from another
        issuer, a hand-made test token, or an attempt to make the API trust a key supplied
        by the caller.
    .check =
        - The header: `portvakt token decode TOKEN` shows which parameter is present.
        - The token's issuer: is it the issuer the API is configured for?
        - If a third-party issuer adds these headers: configure it not to, or the API cannot
          accept its tokens.

pv2008 =
    .title = The token was signed with a key the issuer does not publish
    .means =
        The token's kid is not among the keys the issuer publishes, even after the API
        fetched the JWKS again. Either the token was signed by another issuer or
        environment, or by a key the issuer no longer publishes.
    .fix =
        Compare the token's kid with the issuer's JWKS ({"{issuer}"}/oauth2/keys). If the
        kid is absent there, the token comes from another issuer or environment, or the
        issuer replaced its keys; get a new token.
    .persists =
        A new token from the right issuer fixes it. It persists when the client gets its
        tokens from another environment (staging against production) or another tenant, when
        the API is configured with the wrong issuer, or after an issuer's keys were replaced
        rather than rotated, so that tokens signed before are orphaned.
    .check =
        - The token's kid and issuer: `portvakt token decode TOKEN`; then `portvakt token
          validate --issuer ISSUER --audience AUDIENCE TOKEN`.
        - The keys the issuer publishes: `{"{issuer}"}/oauth2/keys`, and `portvakt keys list
          --tenant T`.
        - That the API and the client use the same issuer URL, tenant and environment.

pv2009 =
    .title = The token's signature does not verify
    .means =
        The key named by the token's kid exists, but the signature does not verify with it.
        The header or claims were changed after signing, or another signer used the same
        kid.
    .fix =
        The token was altered after signing, or signed by another issuer using the same kid.
        Get a new token from the issuer; never edit a token.
    .persists =
        Nothing the API does can make the token valid; it persists while the client keeps
        using the altered token. Look for code that edits tokens (to change an expiry or a
        claim for testing), or two environments whose keys happen to share kids.
    .check =
        - `portvakt token validate --issuer ISSUER --audience AUDIENCE TOKEN` against the
          issuer the token claims.
        - Whether anything between the issuer and the API modifies the token (re-encoding,
          padding, trimming).
        - Whether the token was edited by hand or by a test tool.

pv2010 =
    .title = The token is not an access token (typ is not at+jwt)
    .means =
        The token's typ header is not at+jwt, so it is not an access token (RFC 9068 §2.1).
        ID tokens and other JWTs are signed by the same keys but are not meant for APIs;
        accepting them would let a token for one purpose be used for another.
    .fix =
        Send the access_token from the token response, not the id_token or another JWT.
        Access tokens carry the header typ 'at+jwt' (RFC 9068 §2.1, §4).
    .persists =
        It persists when the client sends its id_token to the API, a common mistake in
        single-page apps whose library keeps both. A token from an issuer that does not set
        typ at+jwt is refused for the same reason.
    .check =
        - The header's typ: `portvakt token decode TOKEN` (an ID token has typ JWT or none,
          and aud is the client id).
        - Which field of the token response the client stores and sends.
        - That the client requests a token for this API's resource, which gives it an access
          token for it.

pv2011 =
    .title = The access token has expired
    .means =
        The access token's exp is in the past, beyond the API's clock leeway. Access tokens
        are short-lived on purpose; this is the ordinary end of a token's life, and the
        client is expected to get a new one.
    .fix =
        The client should get a new access token (refresh token or a new grant) and retry.
        If fresh tokens fail too, compare this host's clock with the issuer's.
    .persists =
        It persists when the client does not react to the 401: it keeps sending the cached
        token instead of refreshing, or its refresh fails too (look for a PV32xx error at
        the token endpoint). If brand-new tokens are refused as expired, the API host's
        clock is ahead of the issuer's.
    .check =
        - The token's exp against the current time: `portvakt token decode TOKEN` shows
          both, relative to now.
        - Whether the client refreshes on a 401, and the sign-in logs for failed refreshes
          of this client.
        - The clock of the API host against the issuer's (NTP); `portvakt token validate
          --issuer ISSUER --audience AUDIENCE TOKEN` measures the difference.

pv2012 =
    .title = The access token is not valid yet (nbf is in the future)
    .means =
        The token's nbf (not before) is in the future, beyond the API's clock leeway: by the
        API's clock, the token is not valid yet.
    .fix =
        The clock of this host is probably behind the issuer's: synchronise it (NTP). The
        description says by how much.
    .persists =
        Portvakt sets nbf to the moment of issue, so this means the API host's clock is
        behind the issuer's. It returns with every fresh token until the clock is fixed;
        virtual machines, WSL2 and Docker Desktop drift after sleep.
    .check =
        - The difference given in the error_description, and `portvakt token validate
          --issuer ISSUER --audience AUDIENCE TOKEN`, which measures the offset against the
          issuer's Date header.
        - NTP on the API host (`timedatectl status` on systemd).
        - The issuer's clock too, if the API host is right.

pv2013 =
    .title = The access token was issued in the future (iat)
    .means =
        The token's iat (issued at) is in the future, beyond the API's clock leeway: by the
        API's clock, the token was issued after now.
    .fix =
        The clock of this host is probably behind the issuer's: synchronise it (NTP). The
        description says by how much.
    .persists =
        This is a clock difference between the API host and the issuer, and it returns with
        every fresh token until one of the clocks is fixed. A difference of a whole number
        of hours points at a time-zone bug (local time written as UTC).
    .check =
        - The difference in the error_description, and `portvakt token validate --issuer
          ISSUER --audience AUDIENCE TOKEN`, which measures it against the issuer's Date
          header.
        - NTP on the API host and on the issuer.
        - The API's leeway setting, if the difference is a few seconds.

pv2014 =
    .title = The token was issued by another issuer
    .means =
        The token's iss is not the issuer the API trusts. Issuers compare as exact strings:
        scheme, host, port, path and trailing slash all count.
    .fix =
        The issuer must match exactly, including scheme, host, port, path and trailing
        slash. Configure the API with the issuer the token was minted by, or fix the
        issuer's public URL (a proxy often changes it).
    .persists =
        It persists while the issuer's public URL and the API's configuration differ: a
        proxy that terminates TLS so Portvakt thinks it is reached over http, an internal
        host name (a container name) against the public one, a tenant mix-up, or a token
        from another environment.
    .check =
        - The token's iss and the API's configured issuer; `portvakt token validate --issuer
          ISSUER --audience AUDIENCE TOKEN` names the part that differs.
        - Portvakt's public URL (`--public-url`) against the URL clients use, behind any
          proxy.
        - The issuer in the tenant's discovery document; copy it verbatim into the API's
          configuration.

pv2015 =
    .title = The token is meant for another audience
    .means =
        The token's aud does not include this API's identifier: the token was issued for
        another API, or it is an ID token, whose audience is the client id. A token for one
        API is never accepted by another.
    .fix =
        Request the token for this API (scope '{"{resource}"}/...' or
        resource={"{resource}"}); an ID token's audience is the client id and is never
        accepted by an API.
    .persists =
        It persists while the client requests its token for another resource (or a scope of
        another API), or reuses one cached token for several APIs. It also persists if the
        API is configured with an identifier that differs from the registered resource by
        case or a trailing slash.
    .check =
        - The token's aud: `portvakt token decode TOKEN`, against the API's accepted
          audience.
        - The scope or resource the client requests: it must name this API
          ('{"{resource}"}/…' or resource={"{resource}"}).
        - The resource identifier as registered: `portvakt resource list --tenant T`.

pv2016 =
    .title = A required claim is missing or has the wrong type
    .means =
        A claim every access token must carry (iss, sub, aud, exp, iat, jti, client_id: RFC
        9068 §2.2) is missing or has the wrong JSON type. Without it the API cannot check
        the token fully, so it refuses it.
    .fix =
        Access tokens must carry iss, sub, aud, exp, iat, jti and client_id (RFC 9068 §2.2).
        Check that this is an access token from the expected issuer.
    .persists =
        Portvakt always sets these claims, so the token is from another issuer or is not an
        access token; it returns with every token from that source.
    .check =
        - The claims: `portvakt token decode TOKEN`, and the claim named in the
          error_description.
        - The token's issuer and typ: is it a Portvakt access token at all?
        - Whether an issuer from a third party can be configured to issue RFC 9068 access
          tokens.

pv2017 =
    .title = The token lacks a scope this API requires
    .means =
        The token is valid, but it lacks a scope this API or endpoint requires. The response
        names the scope it needs (RFC 6750 §3.1); a 403, not a 401, because a new token with
        the same scopes would not help.
    .fix =
        Request a token with the scope named in the response (RFC 6750 §3.1), and make sure
        the application is allowed that scope.
    .persists =
        It persists while the client requests the same scopes, or when the application is
        not allowed the scope, in which case Portvakt refuses a request for it with PV1204.
        A refresh cannot add scopes either (PV3207): the user must sign in again with the
        new scope.
    .check =
        - The scope in the response's WWW-Authenticate header and the token's scp or scope
          claim (`portvakt token decode TOKEN`).
        - The scopes the client requests.
        - The application's allowed scopes: `portvakt app list --tenant T`.

pv2018 =
    .title = The token lacks a role this API requires
    .means =
        The token is valid, but it lacks a role this API requires. Roles come from the
        user's or the application's assignments at the time the token was issued.
    .fix =
        Assign the role named in the response to the user or application, then get a new
        token.
    .persists =
        Assigning the role does not change tokens already issued: it persists until the
        client gets a new token, and for a user that may mean signing in again rather than
        refreshing.
    .check =
        - The roles claim of the token (`portvakt token decode TOKEN`) against the role in
          the response.
        - The user's groups and the role assignments: `portvakt user list --tenant T`,
          `portvakt group list --tenant T`.
        - When the token was issued compared with when the role was assigned.

pv2019 =
    .title = The access token has been revoked
    .means =
        The token is well formed and correctly signed, but the API's revocation check says
        it has been withdrawn before it expired: its session or refresh-token family was
        revoked, the user was disabled, or the user's sessions were revoked.
    .fix =
        Get a new access token; if that fails too, the user's or application's access was
        withdrawn.
    .persists =
        A new token helps only if the user or application may still have access. It persists
        when the account is disabled or its sessions keep being revoked; the client then
        needs an interactive sign-in, which will fail too if access was withdrawn on
        purpose.
    .check =
        - The reason in the error_description.
        - The account: `portvakt user list --tenant T` shows whether it is enabled;
          `portvakt user revoke-sessions` is what revokes everything at once.
        - The sign-in logs for the user around the time of the revocation.

pv2020 =
    .title = The issuer's signing keys could not be obtained
    .means =
        The API could not fetch the issuer's discovery document or JWKS, and has no earlier
        copy of the keys, so it cannot verify any token. The fault is between the API and
        the issuer, not in the token.
    .fix =
        The API could not fetch the issuer's discovery document or JWKS and has no earlier
        copy. Check the URL, DNS and network from the API host, and that the issuer is
        running.
    .persists =
        It lasts until the API can reach the issuer: a wrong issuer URL in the API's
        configuration, DNS, a firewall or proxy, TLS trust (a private CA the API host does
        not trust), or the issuer being down. An API that had keys before keeps using them
        while it retries.
    .check =
        - The URL and reason in the error_description.
        - From the API host: `curl -sS {"{issuer}"}/.well-known/openid-configuration` and
          the jwks_uri it names.
        - That the issuer is running and that its public URL resolves from the API's network
          (not only from outside).

## PV30xx: sign-in

pv3001 =
    .title = The sign-in page has expired or was opened in another browser
    .means =
        The sign-in page belongs to a pending sign-in that Portvakt no longer knows, or that
        was started in another browser. Each sign-in is valid for 15 minutes, only once, and
        only in the browser that started it (the pv_interaction cookie binds it).
    .fix =
        Go back to the application and sign in again. Sign-in pages are valid for 15 minutes
        and only in the browser that started them.
    .persists =
        Starting again from the application usually fixes it. It persists when the browser
        does not send the binding cookie back: cookies blocked for the Portvakt site, a
        sign-in link opened in another browser or an in-app browser, or a public URL on
        https while the browser reaches Portvakt over http, so the Secure cookie is never
        sent.
    .check =
        - That the sign-in is started from the application, not from a bookmarked or shared
          sign-in URL.
        - The browser's cookie settings for the Portvakt host, and whether an in-app browser
          opens the link.
        - That `--public-url` is the URL the browser really uses (scheme, host and port).
        - The sign-in logs for the correlation id: the description says whether the sign-in
          was unknown, expired or from another browser.

pv3002 =
    .title = The form could not be verified (missing or wrong CSRF token)
    .means =
        A sign-in, consent or device code form was posted without the token that proves it
        came from the page Portvakt served (CSRF protection), or with a token from another
        page.
    .fix =
        Reload the sign-in page and submit it again; do not post the form from another site
        or an old tab.
    .persists =
        It persists when the form is posted from an old tab after a newer sign-in started,
        when a browser extension or password manager submits a stale copy of the page, or
        when something tries to post the form from another site.
    .check =
        - Reload the page and submit it once, from the same tab.
        - Browser extensions that fill and submit forms automatically.
        - The sign-in logs for the correlation id; repeated CSRF failures from one address
          may be an attack.

pv3003 =
    .title = The redirect URI is not registered for this application
    .means =
        The redirect_uri of the authorization request (or the post_logout_redirect_uri of a
        sign-out) is not one the application registered, or it is missing while the
        application has several. Portvakt then shows an error page instead of redirecting,
        because sending a code to an unregistered address could hand it to an attacker.
    .fix =
        Register the exact redirect URI on the application (scheme, host, port, path and
        trailing slash must match), or send the registered one.
    .persists =
        The comparison is exact, so it persists across small differences: http against
        https, localhost against 127.0.0.1, another port, a trailing slash, a path in
        another case. It also persists when each environment (development, staging) uses its
        own URL that was registered only for one of them.
    .check =
        - The redirect URI in the error_description, character for character, against the
          application's redirectUris in its import file.
        - The URL the client builds at run time (behind a proxy it may see an internal host
          or http).
        - For sign-out: send client_id or id_token_hint so that Portvakt knows whose URIs to
          check.

pv3004 =
    .title = The response type is not supported
    .means =
        The authorization request asks for a response_type other than code. Portvakt
        implements only the authorization code flow; the implicit flow (token, id_token) and
        hybrid flows are not offered, as the OAuth 2.0 Security BCP advises.
    .fix = Use response_type=code (the authorization code flow with PKCE).
    .persists =
        It persists when a client library is configured for the implicit flow, common in
        older single-page apps. Such an app needs the code flow with PKCE, which every
        current library supports.
    .check =
        - The response_type the client sends (the error_description repeats it).
        - The library's flow setting (for example responseType: 'code').
        - response_types_supported in the tenant's discovery document.

pv3005 =
    .title = PKCE is required
    .means =
        A public client started an authorization request without a code_challenge. Without
        PKCE, an intercepted authorization code could be exchanged by anyone, so Portvakt
        requires it from every client that has no secret (RFC 7636, OAuth 2.0 Security BCP).
    .fix =
        Send code_challenge (BASE64URL(SHA-256(code_verifier))) with
        code_challenge_method=S256; public clients must use PKCE (RFC 7636, OAuth 2.0
        Security BCP).
    .persists =
        It persists while PKCE is switched off in the client library, or when the app builds
        the authorization URL by hand and leaves the challenge out.
    .check =
        - The authorization URL the client opens: it must carry code_challenge and
          code_challenge_method=S256.
        - The library's PKCE setting.
        - That the application is meant to be public (`portvakt app list --tenant T` shows
          the type).

pv3006 =
    .title = Only the S256 PKCE method is accepted
    .means =
        The authorization request uses a PKCE method other than S256, or sends a
        code_challenge without code_challenge_method (which would mean plain). The plain
        method sends the verifier itself and protects nothing, so it is refused.
    .fix = Use code_challenge_method=S256; 'plain' is refused.
    .persists =
        It persists while the library defaults to plain or leaves the method out; setting
        the method to S256 is enough, the rest of PKCE stays the same.
    .check =
        - code_challenge_method in the authorization URL.
        - The library's PKCE method setting.
        - That the code_challenge is BASE64URL(SHA-256(code_verifier)), 43 characters.

pv3007 =
    .title = The user must sign in
    .means =
        The application asked for a silent sign-in (prompt=none), and there is no usable
        session in this browser: nobody is signed in, or the session is older than the
        request's max_age. Portvakt cannot show a page in a silent request, so it answers
        login_required to the application.
    .fix =
        The request had prompt=none but there is no valid session (or it is older than
        max_age). Start an interactive sign-in.
    .persists =
        It is expected after the session ends (24 hours, sign-out, revoked sessions), and
        the application should then start an interactive sign-in. It persists when silent
        renewal runs in a hidden frame and the browser does not send Portvakt's session
        cookie there (third-party cookie blocking), so every silent attempt looks signed
        out.
    .check =
        - That the application falls back to an interactive sign-in on login_required.
        - Whether the browser blocks cookies for the Portvakt host in iframes; a refresh
          token avoids hidden frames altogether.
        - The max_age the application sends, against how long ago the user signed in.

pv3008 =
    .title = The user must consent
    .means =
        The application asked for a silent sign-in (prompt=none), the user is signed in, but
        has not consented to the scopes requested. Consent needs a page, so Portvakt answers
        consent_required.
    .fix =
        The request had prompt=none but the user has not consented to these scopes. Start an
        interactive sign-in, or have an admin grant tenant-wide consent.
    .persists =
        It persists when the application asks for more scopes than the user approved
        earlier, for example after a new scope was added, and keeps trying silently. An
        administrator can consent for the whole tenant, so that users are not asked.
    .check =
        - The scopes requested against those the user consented to (the error_description
          lists what is missing).
        - That the application starts an interactive sign-in on consent_required.
        - Tenant-wide consent: `portvakt app consent --tenant T CLIENT_ID`.

pv3009 =
    .title = The user declined
    .means =
        The user chose Cancel on the consent page, so the application receives access_denied
        instead of a code. Nothing was granted.
    .fix =
        The user refused consent. Ask for fewer scopes or explain why the application needs
        them.
    .persists =
        Users who do not understand why an application asks for a permission tend to refuse
        it each time. It persists until the application asks for less, explains what it
        needs, or an administrator consents for the tenant.
    .check =
        - Which scopes the application asks for, and whether each is needed.
        - What the application shows its users before sending them to sign in.
        - Tenant-wide consent, if the organisation approves the application: `portvakt app
          consent --tenant T CLIENT_ID`.

pv3010 =
    .title = The user name or password is wrong
    .means =
        The user name or the password is wrong. Portvakt does not say which, and takes the
        same time either way, so that nobody can find out which accounts exist.
    .fix = Check the user name and password. Repeated failures slow down further attempts.
    .persists =
        It persists when the user types another form of the name than the account's user
        principal name (an alias or a short name), when the account has no password set, or
        when the keyboard layout or caps lock changes the password. After repeated failures
        the account is held back for a while (PV3011).
    .check =
        - The account's user principal name and whether it is enabled: `portvakt user list
          --tenant T`.
        - That the user signs in to the right tenant (the first path segment of the sign-in
          page).
        - The sign-in logs for the user name: how many failures, from which addresses.

pv3011 =
    .title = Too many failed sign-ins; try again later
    .means =
        Too many wrong passwords were tried, so further attempts wait: five failures for one
        account from one address, twenty for one account from addresses it has not signed in
        from, or twenty from one address across accounts. The wait starts at 30 seconds and
        doubles, up to 15 minutes; even the right password waits.
    .fix =
        Wait for the time given, then try again with the right password. An administrator
        can check the account in the sign-in logs.
    .persists =
        It persists while someone keeps trying: the user themselves, a device or script with
        an old saved password, or an attacker guessing. Addresses the account signed in from
        successfully are held back separately, so an attack from elsewhere does not lock the
        user out; behind a shared proxy or NAT, however, many users share one address.
    .check =
        - The sign-in logs for the account: where the failures come from, and whether they
          continue.
        - Devices, mail clients and scripts that may still use an old password.
        - Whether the failures come through a proxy or NAT that all users share.

pv3012 =
    .title = The account is disabled
    .means =
        The account is disabled. It cannot sign in, and its existing sessions, codes and
        refresh tokens no longer give tokens.
    .fix = An administrator disabled this account ('portvakt user enable' turns it back on).
    .persists =
        Nothing the user does can change it: an administrator disabled the account, directly
        or by an import with accountEnabled set to false. It persists until an administrator
        enables it again, and a later import may disable it once more.
    .check =
        - The account's state: `portvakt user list --tenant T`.
        - The import files applied to the tenant: accountEnabled for the user.
        - To enable it: `portvakt user enable --tenant T UPN`.

## PV31xx: authorization codes

pv3101 =
    .title = The authorization code is unknown or expired
    .means =
        The authorization code is not one Portvakt issued, or it has expired. A code lives
        60 seconds and can be exchanged once; Portvakt stores only its hash.
    .fix =
        Codes are single-use and valid for 60 seconds: exchange the code at once, and only
        once.
    .persists =
        It persists when the client exchanges the code late (a slow back end, a breakpoint,
        a queue between the redirect and the exchange), when it exchanges a code from
        another tenant or server, or when the code is damaged on the way (truncated, or
        URL-decoded twice).
    .check =
        - The time between the redirect and the exchange; do it at once.
        - That the token request goes to the same tenant and server that issued the code.
        - The code as received in the redirect against the code sent to the token endpoint.

pv3102 =
    .title = The authorization code was already used; the tokens issued from it are revoked
    .means =
        The code was exchanged before, and a code may be used once. Because a second use
        means the code leaked or was replayed, Portvakt also revoked the tokens the first
        exchange produced (RFC 6749 §4.1.2).
    .fix =
        A code may be exchanged once. A second use means it leaked or the client retried:
        start a new sign-in.
    .persists =
        It persists when the client retries the exchange after a timeout, when the redirect
        page is loaded twice (a browser back button, a reload, prefetching), or when two
        parts of the application both exchange the code. Each of these also cancels the
        sign-in that worked.
    .check =
        - Whether the client retries token requests automatically.
        - Whether the redirect handler can run twice for one redirect (reloads, double
          mounting in a front-end framework).
        - The sign-in logs for the code's client: two exchanges close together, and from
          which addresses.

pv3103 =
    .title = The authorization code was issued to another client
    .means =
        The code was issued to another client (or in another tenant) than the one exchanging
        it. A code can be exchanged only by the client that requested it.
    .fix = Exchange the code with the client that requested it.
    .persists =
        It persists when the front end and the back end of an application are registered as
        two clients and the back end exchanges the front end's code with its own
        credentials, or when several environments share a redirect URI.
    .check =
        - The client_id of the authorization request against the client authenticating at
          the token endpoint (the error_description names both).
        - Which application the back end's credentials belong to: `portvakt app list
          --tenant T`.
        - That the token request goes to the tenant that issued the code.

pv3104 =
    .title = The redirect_uri does not match the authorization request
    .means =
        The redirect_uri sent with the code exchange is not the one of the authorization
        request, or it is missing although the authorization request carried one (RFC 6749
        §4.1.3). The two must be identical strings.
    .fix =
        Send exactly the redirect_uri used in the authorization request (RFC 6749 §4.1.3).
    .persists =
        It persists when the client computes the redirect URI twice and the results differ:
        another host behind a proxy, http against https, an added query parameter or a
        trailing slash.
    .check =
        - Both values: the error_description shows them side by side.
        - Where the client takes the redirect URI from for each of the two requests; use one
          setting.
        - Proxies that change the scheme or host the client sees.

pv3105 =
    .title = The code_verifier does not match the code_challenge
    .means =
        The code_verifier sent with the code exchange does not match the code_challenge of
        the authorization request: its S256 hash differs, it is missing, it is malformed (43
        to 128 characters of A-Z a-z 0-9 - . _ ~), or the authorization request had no
        challenge.
    .fix =
        Send the code_verifier whose S256 hash was sent as code_challenge in the
        authorization request.
    .persists =
        It persists when the verifier is stored per browser tab or in memory and lost across
        the redirect, so that the client sends a new one, or when two sign-ins run at once
        and their verifiers are mixed up.
    .check =
        - Where the client keeps the code_verifier between the authorization request and the
          exchange (session storage, a cookie, the server session).
        - That the challenge is BASE64URL(SHA-256(verifier)) without padding.
        - Parallel sign-ins in several tabs, each overwriting the stored verifier.

## PV32xx: refresh tokens

pv3201 =
    .title = The refresh token is unknown
    .means =
        Portvakt has no record of this refresh token: it was never issued here, was damaged
        on the way, or belongs to another server or database.
    .fix = Sign in again to get a new refresh token.
    .persists =
        It persists when the client stores refresh tokens from one environment and uses them
        against another, after the server's database was replaced or restored from an older
        backup, or when the stored token is cut short by a column or cookie size limit.
    .check =
        - The length and content of the token the client sends against the one it received.
        - That the token request goes to the tenant and server that issued the token.
        - Whether the database was restored or replaced since the token was issued.

pv3202 =
    .title = The refresh token has expired
    .means =
        The refresh token has expired: it was not used for 14 days, or the sign-in behind it
        reached its maximum lifetime of 90 days. Each rotation extends the inactivity
        window, never the maximum.
    .fix =
        The refresh token was unused for too long or reached its maximum lifetime; sign in
        again.
    .persists =
        Refreshing cannot renew a sign-in past its maximum lifetime; only signing in again
        does. It persists for clients that are used rarely, or that keep an old token while
        a newer one from the same family was stored elsewhere.
    .check =
        - The error_description: whether the token was idle too long or the sign-in is too
          old.
        - That the client stores the newest refresh token after every rotation.
        - That the client starts an interactive sign-in on invalid_grant.

pv3203 =
    .title = The refresh token was revoked
    .means =
        The refresh token's family was revoked: the user signed out, an administrator
        revoked the user's sessions, reuse of a rotated token was detected, or the user no
        longer exists. Every token of the family stops working at once.
    .fix =
        Its sessions were revoked (by an administrator, at sign-out, or after reuse was
        detected). Sign in again.
    .persists =
        It persists until the user signs in again. If it returns right after each new
        sign-in, something keeps revoking: a script that runs `portvakt user
        revoke-sessions`, a sign-out triggered on every page load, or reuse detection set
        off by a client that sends old tokens (PV3204).
    .check =
        - The reason in the error_description and how long ago the revocation happened.
        - The sign-in logs for the user around that time: sign-outs, PV3204 errors,
          administrator actions.
        - The account: `portvakt user list --tenant T`.

pv3204 =
    .title = A used refresh token was presented again; its whole family is revoked
    .means =
        A refresh token that had already been rotated was presented again, outside the retry
        window. Portvakt cannot tell the client from a thief holding a copy, so it revoked
        the whole family: every refresh token and access token of that sign-in (RFC 9700
        §4.14).
    .fix =
        Refresh tokens rotate: use the newest one, once. A client that lost a response may
        retry with the used token only within the retry window (default 10 s) and before the
        token issued for it is used (docs/refresh-tokens.md). Anything else means the token
        was copied or replayed; the user must sign in again.
    .persists =
        It persists when the client does not keep the newest refresh token: it stores the
        new one too late or not at all, several processes or tabs refresh with a shared old
        token, or a backup of the client's storage is restored. Each occurrence ends the
        user's sign-in.
    .check =
        - That the client saves the new refresh token from every response before using it,
          and serializes refreshes (one at a time).
        - The sign-in logs for the user and client: which addresses presented the token, and
          when.
        - The retry window (`--refresh-reuse-grace`, default 10 s) and
          docs/refresh-tokens.md.

pv3205 =
    .title = The refresh token was just used by a concurrent request
    .means =
        Two requests presented the same refresh token at the same moment, and the other one
        won the rotation. This request gets no tokens, but nothing was revoked: the family
        is intact.
    .fix =
        Two refreshes raced; use the tokens from the one that succeeded. Serialize refreshes
        in the client.
    .persists =
        It persists in clients that refresh from several places at once (parallel API calls
        that each react to a 401, several tabs or workers). Sooner or later such a client
        sends the older token after the window and sets off reuse detection (PV3204).
    .check =
        - Whether the client refreshes in parallel; serialize refreshes behind one lock or
          promise.
        - That the losing request waits for the winner's tokens and uses them.
        - The sign-in logs: refreshes by the same client for the same user within
          milliseconds.

pv3206 =
    .title = The refresh token was issued to another client
    .means =
        The refresh token was issued to another client (or in another tenant) than the one
        presenting it. A refresh token is bound to its client.
    .fix = Use the refresh token only with the client it was issued to.
    .persists =
        It persists when several applications share a token store, or when an application
        was replaced by a new registration but kept the old one's refresh tokens.
    .check =
        - The client in the error_description against the client authenticating now.
        - How the client stores refresh tokens: keyed by client and tenant.
        - Whether the application's client id changed recently.

pv3207 =
    .title = A refresh cannot add scopes
    .means =
        The refresh request asks for a scope the original sign-in did not grant. A refresh
        can keep or narrow the scopes (RFC 6749 §6), never widen them, because the user
        consented only to what was asked then.
    .fix =
        Ask for the original scopes or fewer (RFC 6749 §6); new scopes need a new sign-in.
    .persists =
        It persists after an application adds a scope: existing refresh tokens still carry
        the old grant, so every refresh asking for the new scope fails until the user signs
        in again.
    .check =
        - The scopes requested against the granted ones (the error_description lists them).
        - That the application starts an interactive sign-in when it needs a new scope.
        - Whether the refresh should omit scope, which keeps the original grant.

## PV33xx: user tokens

pv3301 =
    .title = The access token is not valid for this endpoint
    .means =
        The userinfo endpoint refused the access token: it is expired or revoked, from
        another issuer, or was not granted the openid scope for a signed-in user (a client
        credentials token has no user).
    .fix = Send a current access token from this issuer that was granted the 'openid' scope.
    .persists =
        It persists when the client calls userinfo with a token for an API (requested
        without openid), or with a token from the client credentials grant. A new token of
        the same kind fails the same way.
    .check =
        - The reason in the error_description and the WWW-Authenticate header.
        - The token's scope, sub and exp: `portvakt token decode TOKEN`.
        - That the sign-in requested openid, and that the client sends that sign-in's access
          token.

## PV34xx: device sign-in

pv3401 =
    .title = The user has not finished signing in on the other device
    .means =
        The device is polling for its tokens, and the user has not yet entered the code and
        approved the sign-in at the verification page. This is the normal answer while the
        user is busy; it is not a failure.
    .fix = Keep polling at the given interval (RFC 8628 §3.5).
    .persists =
        It goes on until the user finishes or the device code expires after 10 minutes. If
        it never ends, the user is not reaching the page: the verification URI shown on the
        device is wrong or unreachable from the user's phone or computer, or the user
        approved a different code.
    .check =
        - That the device keeps polling at the interval it was given and stops on any other
          answer.
        - That the verification URI shown on the device opens from the user's network
          (`{"{issuer}"}/device`).
        - The sign-in logs: whether the user reached the code page, and with which code.

pv3402 =
    .title = Polling too fast
    .means =
        The device polls more often than the interval it was given (5 seconds to start
        with). RFC 8628 §3.5 says to add 5 seconds to the interval on every slow_down and
        keep it for the rest of the flow.
    .fix = Increase the polling interval by 5 seconds (RFC 8628 §3.5).
    .persists =
        It persists when the device ignores the interval from the device authorization
        response, or resets it after each answer, or when several copies of the client poll
        the same device code.
    .check =
        - The interval the device waits between polls, and that it grows by 5 seconds on
          slow_down.
        - That only one process polls each device code.
        - The client library's device flow implementation, if the interval is not under your
          control.

pv3403 =
    .title = The device code has expired
    .means =
        The device code expired: the user did not finish within 10 minutes of the device
        authorization. The device must start over and show a new code.
    .fix = Start the device flow again.
    .persists =
        It persists when users take longer than the lifetime, for example because the code
        is hard to find or type, or because the device shows the code only briefly. It also
        happens when the device keeps polling an old code after starting a new flow.
    .check =
        - That the device shows the code and the verification URI clearly until it gets an
          answer.
        - That the device polls the device code of its latest flow.
        - The sign-in logs: whether the user reached the verification page at all.

pv3404 =
    .title = The user declined the device sign-in
    .means =
        The user entered the code and then denied the device sign-in, so the device gets
        access_denied and no tokens.
    .fix = Start the device flow again if this was a mistake.
    .persists =
        Users are told to deny when they did not start the sign-in themselves. Repeated
        denials may mean that someone is sending codes to users to get access to their
        accounts (device code phishing).
    .check =
        - Whether the user recognised the device and the code.
        - The sign-in logs: device authorizations from unusual addresses, and which users
          were asked.
        - If it was a mistake: start the device flow again on the device.

pv3405 =
    .title = The code is unknown or expired
    .means =
        The code typed on the verification page is not one that is waiting for approval:
        mistyped, expired, already used, or from another tenant's device flow.
    .fix = Check the code shown on the device, or start the device flow again.
    .persists =
        It persists when users leave out or swap a letter, type the code into another
        tenant's device page, or use a code that expired while they were looking for the
        page. After five wrong codes from one address, entry is slowed down (PV3407).
    .check =
        - The code on the device, typed again carefully: eight letters, no vowels; case and
          the dash do not matter.
        - That the verification page is the one of the tenant the device uses.
        - That the device still shows the code, and has not started over.

pv3406 =
    .title = The device code is unknown or was already used
    .means =
        The device code sent to the token endpoint is unknown, was issued to another client,
        or was already exchanged for tokens. A device code gives tokens once.
    .fix = Start the device flow again; a device code gives tokens once.
    .persists =
        It persists when the device keeps polling after it has received tokens, when two
        processes poll with the same code, or when the code is sent by another client than
        the one that started the flow. It also happens when the user's account no longer
        exists.
    .check =
        - That the device stops polling once it has tokens.
        - That the client polling is the one that made the device authorization request.
        - The error_description: unknown, already used, or issued to another client.

pv3407 =
    .title = Too many wrong device codes from this address; try again later
    .means =
        Too many wrong codes were typed on the verification page from this address (five),
        so further attempts wait. This keeps anyone from guessing the codes of other
        people's devices (RFC 8628 §5.1).
    .fix =
        Wait for the time given, then type the code shown on the device carefully. Repeated
        wrong codes from one address are slowed down (RFC 8628 §5.1).
    .persists =
        It persists while wrong codes keep coming from the address. Behind a proxy or NAT,
        users share the address, so one person's mistakes can slow others down; an attacker
        guessing codes gets the same treatment.
    .check =
        - The code on the device, typed once, carefully, after the wait.
        - The sign-in logs: how many wrong codes came from the address, and whether they
          continue.
        - Whether many users reach Portvakt through one proxy or NAT.

## PV40xx: Conditional Access and MFA

pv4001 =
    .title = A Conditional Access policy blocks this sign-in
    .means =
        An enabled Conditional Access policy whose grant control is block applies to this
        sign-in: to this user (or application), for this application or resource, under
        these conditions (address, platform, client type, flow). Block wins over every other
        control.
    .fix =
        The description names the policy and its id. Nothing the user does will help: an
        administrator decides. Check the policy's conditions against the sign-in record
        (portal: Sign-in logs → Conditional Access; 'portvakt diagnose --correlation-id
        ID'), then exclude the account or a group of it, narrow the conditions, or set the
        policy to report-only ('portvakt policy set-state --tenant T ID
        enabledForReportingButNotEnforced').
    .persists =
        Signing in again, refreshing or resetting the password changes nothing, because the
        policy decides on who, where and what, not on how the user authenticated. It
        persists until the policy's conditions no longer match: the user is excluded, the
        conditions are narrowed, or the policy is set to report-only or turned off.
    .check =
        - The policy named in the error_description, and its conditions against this
          sign-in: `portvakt policy list --tenant T`.
        - The sign-in record: which policies applied and which conditions matched (portal:
          Sign-in logs → Conditional Access; `portvakt diagnose --correlation-id ID`).
        - What-If: POST `/admin/v1/tenants/T/identity/conditionalAccess/evaluate` with the
          user, application and address of the sign-in.
        - Named locations: whether the address falls into a location the policy includes or
          fails to exclude.

pv4002 =
    .title = A Conditional Access policy requires multifactor authentication
    .means =
        A Conditional Access policy requires multifactor authentication for this sign-in,
        and the session has none. In an interactive sign-in Portvakt asks for the code from
        the authenticator app; a refresh token, client credentials or a silent request
        cannot answer, so the application receives interaction_required.
    .fix =
        Sign in again interactively and complete MFA: the application must start a new
        authorization request (MSAL: acquire_token_interactive; a web app: redirect to
        /authorize). A user without an authenticator registers one during that sign-in. A
        refresh token cannot satisfy MFA by itself.
    .persists =
        It persists when the application keeps refreshing or retrying silently instead of
        starting an interactive sign-in, since a refresh token can never satisfy MFA by
        itself. It also persists when the policy's sign-in frequency asks for MFA again
        after a while, or when the user cannot finish MFA (no authenticator, a phone with a
        wrong clock).
    .check =
        - That the application starts an interactive sign-in on interaction_required (MSAL:
          acquire_token_interactive; a web app: redirect to /authorize).
        - The policy that requires MFA and its sign-in frequency: `portvakt policy list
          --tenant T`.
        - The sign-in record for the correlation id: whether MFA was asked and whether the
          user completed it.

pv4003 =
    .title = The sign-in frequency of a Conditional Access policy requires signing in again
    .means =
        A Conditional Access policy sets a sign-in frequency, and the user's last
        interactive sign-in is older than it allows. The user must sign in again with the
        sign-in page; refreshing tokens does not reset the frequency.
    .fix =
        The session is older than the policy's sign-in frequency: sign in again
        interactively (a new authorization request with the login page). Refreshing tokens
        does not reset the frequency; only an interactive sign-in does.
    .persists =
        It returns every time the frequency runs out, by design. It persists without end
        when the application answers interaction_required by refreshing again, or when the
        frequency is everyTime, which asks for a fresh sign-in (within five minutes) on
        every token request.
    .check =
        - The policy's signInFrequency: `portvakt policy list --tenant T`.
        - That the application starts an interactive sign-in on interaction_required.
        - The auth_time of the session in the sign-in record, against the frequency.

pv4004 =
    .title = A Conditional Access policy requires a password change
    .means =
        A Conditional Access policy requires the user to change their password before this
        sign-in can go on. The sign-in page asks for a new password after the current one; a
        refresh or a silent request cannot, so the application receives
        interaction_required.
    .fix =
        Sign in again interactively: after the password, the sign-in page asks for a new
        one. Refreshing tokens cannot satisfy it.
    .persists =
        It persists while the application does not start an interactive sign-in, or when the
        user cancels the change. Once the password has been changed after the policy's
        condition was met, the control is satisfied.
    .check =
        - That the application starts an interactive sign-in on interaction_required.
        - The policy that requires passwordChange and its conditions: `portvakt policy list
          --tenant T`.
        - The sign-in record: whether the new password was set.

pv4005 =
    .title = A Conditional Access policy requires a control Portvakt cannot satisfy
    .means =
        A Conditional Access policy that applies to this sign-in requires a control Portvakt
        does not implement yet: a compliant or domain-joined device, an approved or
        compliant app, terms of use, or an authentication strength other than multifactor
        authentication. Rather than let the sign-in through without it, Portvakt denies it
        (fail closed).
    .fix =
        The policy requires a control Portvakt does not implement yet (a compliant or joined
        device, an approved app, terms of use, a strength other than multifactor
        authentication), so access is denied rather than granted without it. Change the
        policy's grant controls (e.g. to mfa), exclude the account, or set the policy to
        report-only.
    .persists =
        Nothing the user does can satisfy the control, so it persists for every sign-in the
        policy covers. This is common after importing policies from Microsoft Entra ID that
        were written for managed devices.
    .check =
        - The policy and control named in the error_description: `portvakt policy list
          --tenant T`.
        - Whether the policy should require mfa instead, exclude the account, or be set to
          report-only.
        - The sign-in record: the policy and the control that failed closed.

pv4006 =
    .title = The Conditional Access policy or named location is invalid; nothing was changed
    .means =
        A Conditional Access policy or named location sent to the admin API was refused, and
        nothing was stored. Portvakt reads Microsoft Graph's JSON, refuses every feature it
        does not implement instead of ignoring it, and requires every reference (user,
        group, role, application, named location) to exist in the tenant. The
        error_description gives the JSON path and what to do.
    .fix =
        Fix the field at the JSON path given in the description. Portvakt refuses every
        Graph feature it does not implement instead of ignoring it, and every reference
        (user, group, role, application, named location) must exist in the tenant.
    .persists =
        A policy exported from Microsoft Entra ID often names objects by ids that do not
        exist in Portvakt, or uses features Portvakt does not have (risk levels, device
        filters); the same file fails until each path is fixed. References must resolve so
        that an exclusion never silently matches nobody.
    .check =
        - Each JSON path in the error_description.
        - The users, groups, roles and applications the policy names: `portvakt user list
          --tenant T`, `portvakt group list --tenant T`, `portvakt app list --tenant T`.
        - The features Portvakt implements, and those it refuses, in
          docs/design/conditional-access.md.

pv4007 =
    .title = The tenant's Conditional Access policies cannot be evaluated
    .means =
        The tenant's stored Conditional Access policies can no longer be evaluated,
        typically because one of them names a user, group, role, application or named
        location that has since been removed. Sign-ins that the policies would cover fail
        closed rather than skip them.
    .fix =
        A stored policy no longer resolves (e.g. it names something that was removed), so
        sign-ins fail closed rather than skip the policy. The server log names the policy
        and the path; fix or delete the policy ('portvakt policy list --tenant T').
    .persists =
        It affects every sign-in in the tenant until the policy is fixed or deleted;
        retrying does not help. It often starts right after an import or a deletion removed
        an object that a policy still names.
    .check =
        - The server log for the correlation id: it names the policy and the path that no
          longer resolves.
        - The policies: `portvakt policy list --tenant T`; fix the reference or delete the
          policy.
        - Recent imports and deletions in the tenant.

pv4008 =
    .title = The verification code is wrong or was already used
    .means =
        The six-digit code from the authenticator app is wrong, too old, or was already
        used. A code changes every 30 seconds and works once.
    .fix =
        Type the current 6-digit code from the authenticator app (it changes every 30
        seconds; each code works once). If codes are always refused, check that the phone's
        clock is set automatically; an administrator can reset the user's MFA ('portvakt
        user reset-mfa').
    .persists =
        If codes are always refused, the phone's clock is probably off: TOTP codes are
        computed from the time, so a phone set by hand drifts out of step. It also persists
        when the user reads the code of another account in the app, or when the
        authenticator was registered again and an old entry is used.
    .check =
        - That the phone sets its time automatically.
        - That the entry used in the app is the one for this Portvakt account (the issuer
          and account name shown beside the code).
        - If the authenticator is lost or out of step: an administrator resets the user's
          MFA (`portvakt user reset-mfa`), and the user registers again at the next sign-in.

pv4009 =
    .title = Too many wrong verification codes; try again later
    .means =
        Too many wrong verification codes were entered, so further attempts wait. The wait
        keeps anyone from guessing the six digits.
    .fix = Wait for the time given, then type the current code from the authenticator app.
    .persists =
        It persists while wrong codes keep coming, usually because the phone's clock is off
        or the wrong entry in the app is used; waiting alone does not fix those.
    .check =
        - That the phone sets its time automatically, and the right entry in the app is
          used.
        - The sign-in logs for the account: how many wrong codes, from which addresses.
        - If codes cannot be produced at all: `portvakt user reset-mfa` by an administrator.

pv4010 =
    .title = No such Conditional Access policy or named location
    .means =
        No Conditional Access policy or named location with this id exists in the tenant.
    .fix =
        Check the id ('portvakt policy list --tenant T' or GET
        …/identity/conditionalAccess/policies).
    .persists =
        A policy keeps the id it was imported with, or gets one when it has none, so an id
        copied from another tenant or environment (or from Microsoft Entra ID, for a policy
        created here without it) does not exist here. A policy that was deleted and created
        again has a new id.
    .check =
        - The policies and their ids: `portvakt policy list --tenant T`, or GET
          `/admin/v1/tenants/T/identity/conditionalAccess/policies`.
        - The named locations: GET
          `/admin/v1/tenants/T/identity/conditionalAccess/namedLocations`.
        - The tenant in the path.
