# Portvakt: the person-facing strings of the sign-in, consent, device and sign-out
# pages, and the frame of the troubleshooting pages (/errors/).
# Every message here must exist in sv/pages.ftl too (a test checks); the code of each
# error page is in errors.ftl.

## Sign-in

sign-in = Sign in
# Followed by the application's name: "to continue to Contoso Analytics".
sign-in-to = to continue to
username = User name
password = Password
wrong-credentials = The user name or password is incorrect.
# $seconds: how long the account must wait before the next attempt.
signin-throttled = Too many failed attempts. Try again in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }.
account-disabled = This account is disabled. Contact your administrator.
error-title = Sign-in failed

## Consent

consent-title = Permissions requested
# Preceded by the application's name: "Contoso Analytics would like to:".
consent-asks = would like to:
consent-organisation = Consent on behalf of your organisation
consent-organisation-hint = No one in the organisation will be asked again; an administrator can withdraw it in the portal.
# Followed by the user's name.
signed-in-as = Signed in as
accept = Accept
deny = Cancel

## Error boxes on the pages

correlation-id = correlation id
what-to-do = What to do:
# The link from an error to its troubleshooting page.
more-about-error = more about this error

## Sign-out

sign-out = Sign out
sign-out-confirm = Do you want to sign out?
signed-out = Signed out
signed-out-text = You have been signed out. You can close this window.

## Device sign-in (RFC 8628)

device-title = Sign in on a device
# Followed by the code in bold and a full stop.
device-approving = You are signing in a device that shows the code
device-warning = Continue only if you started this sign-in yourself, on a device in front of you. If someone sent you this code, deny: they would get access to your account.
device-prompt = Enter the code shown on your device
next = Next
device-done = Your device is signed in. You can close this window and return to it.
device-denied = The device was not signed in.

## Troubleshooting pages (/errors/ and /errors/{code})

errors-index-title = Portvakt error codes
errors-index-intro = Every error Portvakt reports carries one of these codes, beside the OAuth error and a correlation id. Each page says what the code means, what to do, why the problem can persist, and what to check.
errors-all-codes = All error codes
# The link to the same page in the other language, written in that language.
errors-other-language = På svenska
errors-oauth-error = OAuth error
errors-http-status = HTTP status
errors-code = Code
errors-title = Meaning
errors-means = What it means
errors-fix = What to do
errors-persists = Why it can persist
errors-check = What to check
errors-logs-note = Every failed request is logged with its correlation id: sign-ins and token requests in the sign-in log (the admin portal's sign-in logs; on the command line portvakt logs --correlation-id ID, and portvakt diagnose --correlation-id ID for the chain of causes and the fix), everything else in the server log at debug level (PORTVAKT_LOG=debug).
errors-correlation-id = Correlation id
errors-find-signin = Find this sign-in in the sign-in logs

## Groups of codes on the index

errors-group-pv10 = Requests
errors-group-pv11 = Client authentication
errors-group-pv12 = Scopes and resources
errors-group-pv13 = Tenants
errors-group-pv14 = Admin API
errors-group-pv15 = Server
errors-group-pv20 = Token validation (APIs using the guard)
errors-group-pv30 = Sign-in
errors-group-pv31 = Authorization codes
errors-group-pv32 = Refresh tokens
errors-group-pv33 = User tokens
errors-group-pv34 = Device sign-in
errors-group-pv40 = Conditional Access and multifactor authentication

## Multifactor authentication (TOTP) and password change at sign-in

mfa-title = Verify it is you
mfa-prompt = Enter the 6-digit code from your authenticator app.
mfa-code = Verification code
mfa-verify = Verify
mfa-enroll-title = Set up your authenticator app
mfa-enroll-intro = Your organisation requires a second step at sign-in. Scan this code with an authenticator app (for example Microsoft Authenticator, Google Authenticator or 1Password), then enter the 6-digit code it shows.
mfa-qr-label = QR code with the secret for your authenticator app
mfa-enroll-link = Open in an authenticator app on this device
mfa-enroll-manual = Or type this key into the app:
mfa-wrong = That code is not right. Enter the code your app shows now; it changes every 30 seconds.
mfa-reused = That code was already used. Wait for the next code in your app and enter it.
mfa-throttled = Too many wrong codes. Try again in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }.
password-change-title = Choose a new password
password-change-intro = Your organisation requires you to change your password before you continue.
new-password = New password
confirm-password = Repeat the new password
password-change-submit = Change password and continue
password-too-short = The new password must have at least 8 characters.
password-mismatch = The two passwords are not the same.
password-same = The new password must differ from the current one.

## The authorization response posted to the application (response_mode=form_post)

form-post-title = Returning to the application
form-post-text = Your browser does not run scripts on this page: press Continue to return to the application.
form-post-continue = Continue
