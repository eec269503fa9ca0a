# Portvakt: texterna på inloggnings-, medgivande-, enhets- och utloggningssidorna,
# och ramen kring felsökningssidorna (/errors/).
# Varje meddelande här måste finnas i en/pages.ftl också (ett test kontrollerar det);
# texten för varje felkod finns i errors.ftl.

## Inloggning

sign-in = Logga in
# Följs av programmets namn: "för att fortsätta till Contoso Analytics".
sign-in-to = för att fortsätta till
username = Användarnamn
password = Lösenord
wrong-credentials = Användarnamnet eller lösenordet är fel.
# $seconds: hur länge kontot måste vänta innan nästa försök.
signin-throttled = För många misslyckade försök. Försök igen om { $seconds ->
        [one] { $seconds } sekund
       *[other] { $seconds } sekunder
    }.
account-disabled = Kontot är inaktiverat. Kontakta din administratör.
error-title = Inloggningen misslyckades

## Medgivande

consent-title = Begärda behörigheter
# Föregås av programmets namn: "Contoso Analytics vill:".
consent-asks = vill:
consent-organisation = Ge medgivande för hela organisationen
consent-organisation-hint = Ingen i organisationen tillfrågas igen; en administratör kan återkalla det i portalen.
# Följs av användarens namn.
signed-in-as = Inloggad som
accept = Godkänn
deny = Avbryt

## Felrutor på sidorna

correlation-id = korrelations-id
what-to-do = Gör så här:
# Länken från ett fel till dess felsökningssida.
more-about-error = mer om felet

## Utloggning

sign-out = Logga ut
sign-out-confirm = Vill du logga ut?
signed-out = Utloggad
signed-out-text = Du är utloggad. Du kan stänga fönstret.

## Inloggning på en enhet (RFC 8628)

device-title = Logga in på en enhet
# Följs av koden i fetstil och en punkt.
device-approving = Du loggar in en enhet som visar koden
device-warning = Fortsätt bara om du själv startade inloggningen, på en enhet framför dig. Om någon skickade koden till dig: neka, annars får de tillgång till ditt konto.
device-prompt = Ange koden som visas på enheten
next = Nästa
device-done = Enheten är inloggad. Du kan stänga fönstret och återgå till den.
device-denied = Enheten loggades inte in.

## Felsökningssidor (/errors/ och /errors/{code})

errors-index-title = Portvakts felkoder
errors-index-intro = Varje fel som Portvakt rapporterar har en av de här koderna, tillsammans med OAuth-felet och ett korrelations-id. Varje sida beskriver vad koden betyder, vad du gör åt det, varför problemet kan kvarstå och vad du kan kontrollera.
errors-all-codes = Alla felkoder
# Länken till samma sida på det andra språket, skriven på det språket.
errors-other-language = In English
errors-oauth-error = OAuth-fel
errors-http-status = HTTP-status
errors-code = Kod
errors-title = Betydelse
errors-means = Vad det betyder
errors-fix = Gör så här
errors-persists = Varför det kan kvarstå
errors-check = Vad du kan kontrollera
errors-logs-note = Varje misslyckad begäran loggas med sitt korrelations-id: inloggningar och tokenbegäranden i inloggningsloggen (administrationsportalens inloggningsloggar; på kommandoraden portvakt logs --correlation-id ID, och portvakt diagnose --correlation-id ID för kedjan av orsaker och åtgärden), allt annat i serverloggen på felsökningsnivå (PORTVAKT_LOG=debug).
errors-correlation-id = Korrelations-id
errors-find-signin = Hitta inloggningen i inloggningsloggarna

## Kodgrupper i förteckningen

errors-group-pv10 = Begäranden
errors-group-pv11 = Klientautentisering
errors-group-pv12 = Omfång och resurser
errors-group-pv13 = Klientorganisationer
errors-group-pv14 = Administrations-API
errors-group-pv15 = Server
errors-group-pv20 = Tokenvalidering (API:er som använder guard)
errors-group-pv30 = Inloggning
errors-group-pv31 = Auktoriseringskoder
errors-group-pv32 = Uppdateringstoken
errors-group-pv33 = Användartoken
errors-group-pv34 = Inloggning på en enhet
errors-group-pv40 = Villkorsstyrd åtkomst och multifaktorautentisering

## Tvåstegsverifiering (TOTP) och lösenordsbyte vid inloggning

mfa-title = Bekräfta att det är du
mfa-prompt = Ange den sexsiffriga koden från din autentiseringsapp.
mfa-code = Verifieringskod
mfa-verify = Verifiera
mfa-enroll-title = Konfigurera din autentiseringsapp
mfa-enroll-intro = Din organisation kräver ett andra steg vid inloggning. Skanna koden med en autentiseringsapp (till exempel Microsoft Authenticator, Google Authenticator eller 1Password) och ange sedan den sexsiffriga kod som appen visar.
mfa-qr-label = QR-kod med hemligheten för din autentiseringsapp
mfa-enroll-link = Öppna i en autentiseringsapp på den här enheten
mfa-enroll-manual = Eller skriv in den här nyckeln i appen:
mfa-wrong = Koden stämmer inte. Ange koden som appen visar just nu; den byts var 30:e sekund.
mfa-reused = Koden har redan använts. Vänta på nästa kod i appen och ange den.
mfa-throttled = För många felaktiga koder. Försök igen om { $seconds ->
        [one] { $seconds } sekund
       *[other] { $seconds } sekunder
    }.
password-change-title = Välj ett nytt lösenord
password-change-intro = Din organisation kräver att du byter lösenord innan du fortsätter.
new-password = Nytt lösenord
confirm-password = Upprepa det nya lösenordet
password-change-submit = Byt lösenord och fortsätt
password-too-short = Det nya lösenordet måste ha minst 8 tecken.
password-mismatch = De två lösenorden är inte lika.
password-same = Det nya lösenordet måste skilja sig från det nuvarande.

## Auktoriseringssvaret som skickas till programmet (response_mode=form_post)

form-post-title = Tillbaka till programmet
form-post-text = Webbläsaren kör inte skript på den här sidan: tryck på Fortsätt för att återgå till programmet.
form-post-continue = Fortsätt
