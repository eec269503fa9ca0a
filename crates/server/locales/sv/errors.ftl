# Portvakt: felsökningssidan för varje felkod (/errors/{code}).
#
# Ett meddelande per kod, med koden i gemener som namn (pv1103), och attributen:
#   .title     en rad, översättning av katalogens titel (crates/core/src/error_code.rs)
#   .means     vad koden betyder
#   .fix       vad du gör åt det, översättning av katalogens åtgärd
#   .persists  varför problemet kan kvarstå när den självklara åtgärden inte hjälper
#   .check     vad du kan kontrollera: en punkt per rad som börjar med "- " (en punkt kan
#              fortsätta på fler rader, indragna); `text` mellan grava accenter visas som kod
# Text inom klammerparenteser skrivs {"{resource}"} (en Fluent-strängliteral), eftersom
# en ensam klammerparentes inleder en platshållare. Testerna kontrollerar att varje kod
# i katalogen har sitt meddelande på en och sv med alla attribut, och att båda språken
# har lika många kontrollpunkter.

## PV10xx: begäranden

pv1001 =
    .title = Begärans innehåll kunde inte tolkas
    .means =
        Portvakt kunde inte läsa begärans innehåll som formulärparametrar. Innehållet är
        inte UTF-8, en procentkodning avkodas till byte som inte är UTF-8, eller så kunde
        innehållet inte läsas till slut (anslutningen stängdes eller tidsgränsen för
        innehållet passerades).
    .fix =
        Skicka parametrarna som application/x-www-form-urlencoded (RFC 6749 §3.2), i UTF-8,
        med varje namn=värde-par åtskilt av '&'.
    .persists =
        De flesta klienter kodar formulär rätt, så ett fel som återkommer pekar på kod som
        bygger innehållet för hand, eller på något mellan klienten och Portvakt: en proxy
        som skriver om eller kortar innehållet, eller en klient som skickar text i Latin-1.
        Samma begäran ger samma fel igen.
    .check =
        - error_description: den anger vilken parameter vars värde inte är UTF-8, eller att
          innehållet inte kunde läsas.
        - Exakt vilka byte klienten skickar (till exempel `curl --trace-ascii -`): namn och
          värden procentkodade, paren sammanfogade med '&'.
        - Om en proxy framför Portvakt ändrar eller kortar innehållet, och om långsamma
          klienter når tidsgränsen för innehållet (`--body-timeout`).

pv1002 =
    .title = Begäran har fel Content-Type
    .means =
        Begäran skickades med en Content-Type som slutpunkten inte tar emot. Token-,
        introspektions-, återkallnings- och enhetsauktoriseringsslutpunkterna läser bara
        application/x-www-form-urlencoded; administrations-API:t läser bara
        application/json. En begäran utan Content-Type nekas också.
    .fix =
        Token-, introspektions- och återkallningsbegäranden måste skickas med POST och
        'Content-Type: application/x-www-form-urlencoded'; administrations-API:t tar
        'application/json'.
    .persists =
        Felet kvarstår när HTTP-biblioteket väljer innehållstyp åt dig: många skickar JSON
        som standard när de får ett objekt, eller multipart/form-data när de får ett
        formulärobjekt. Att ändra innehållet utan att ändra hur det skickas hjälper inte.
    .check =
        - Vilken Content-Type-rubrik klienten faktiskt skickar (error_description upprepar
          den).
        - Hur innehållet byggs: en URL-kodad sträng eller bibliotekets formulärval, inte ett
          JSON-objekt eller multipart-formulärdata.
        - För administrations-API:t: använd helst CLI:t `portvakt`, som skickar
          application/json åt dig.

pv1003 =
    .title = Begärans innehåll är för stort
    .means =
        Begärans innehåll är större än slutpunkten tar emot: 16 KiB för formulär (token,
        introspektion, återkallning, inloggningsformulär), 64 KiB för JSON till
        administrations-API:t och 8 MiB för en importfil. Portvakt slutar läsa vid gränsen,
        så inget i begäran behandlades.
    .fix =
        Tokenbegäranden är små; kontrollera att klienten inte skickar en fil eller en token
        där en parameter hör hemma. Importfiler som är större än gränsen kan delas upp.
    .persists =
        En tokenbegäran är några hundra byte. Ett innehåll som gång på gång överskrider
        gränsen innehåller oftast något som inte hör hemma där (en hel token eller fil i en
        parameter, en lista med omfång som byggs i en loop), eller en importfil som helt
        enkelt har vuxit ur en enda begäran.
    .check =
        - Hur stort innehållet är och vilken parameter som gör det stort (error_description
          anger gränsen).
        - Att klienten bara skickar en token där den hör hemma, och bara en gång.
        - För import: dela upp filen per klientorganisation eller objekttyp och importera
          delarna en i taget.

pv1004 =
    .title = En obligatorisk parameter saknas
    .means =
        En parameter som slutpunkten behöver fanns inte med i begäran. error_description
        anger vilken, till exempel grant_type vid tokenslutpunkten, client_id eller
        response_type vid auktoriseringsslutpunkten, eller client_id när bara en
        client_secret skickades.
    .fix = Lägg till parametern som anges i beskrivningen i begäran.
    .persists =
        Om parametern finns i din kod men ändå rapporteras som saknad försvinner den på
        vägen: den skickas i frågesträngen till en POST i stället för i innehållet, är
        felstavad (grant-type, clientId) eller skickas i ett JSON-innehåll som inte läses
        som formulär.
    .check =
        - Parametern som anges i error_description, stavad exakt som i RFC 6749 eller OpenID
          Connect.
        - Att formulärparametrarna i en POST ligger i innehållet, inte i URL:en.
        - Content-Type: med något annat än application/x-www-form-urlencoded läses inte
          innehållet (se PV1002).

pv1005 =
    .title = En parameter skickades mer än en gång
    .means =
        Samma parameter förekommer mer än en gång i begäran. RFC 6749 §3.1 förbjuder det,
        och Portvakt nekar begäran i stället för att gissa vilket värde som avsågs. Bara
        resource får upprepas (RFC 8707).
    .fix =
        RFC 6749 §3.1 förbjuder upprepade parametrar; skicka den en gång. (Bara 'resource'
        får upprepas, RFC 8707.)
    .persists =
        Dubbletter kommer oftast från två lager som lägger till samma parameter: ett
        bibliotek som själv lägger till client_id eller scope medan din kod också gör det,
        eller standardparametrar som slås ihop med parametrar per begäran. Felet återkommer
        vid varje begäran tills ett av lagren slutar lägga till den.
    .check =
        - error_description: den anger vilken parameter som upprepas.
        - Det faktiska innehållet klienten skickar, inte koden som bygger det: leta efter
          namnet två gånger.
        - Biblioteksinställningar som lägger till parametrar åt dig (client_id, scope,
          redirect_uri).

pv1006 =
    .title = Beviljandetypen stöds inte
    .means =
        Tokenbegäran anger en grant_type som Portvakt inte har, till exempel password
        (lösenordsflödet, som OAuth 2.0 Security BCP har tagit bort) eller ett felstavat
        värde.
    .fix =
        Använd en grant_type som står under grant_types_supported i utfärdarens
        discovery-dokument.
    .persists =
        Att byta inloggningsuppgifter hjälper inte: själva beviljandetypen finns inte. En
        klient som byggts för en annan leverantör kan räkna med flöden som Portvakt inte
        erbjuder; den behöver ett annat flöde, till exempel auktoriseringskodflödet med PKCE
        för användare eller klientautentiseringsuppgifter för tjänster.
    .check =
        - Listan grant_types_supported i utfärdarens discovery-dokument
          (`{"{issuer}"}/.well-known/openid-configuration`).
        - Exakt vilket grant_type-värde klienten skickar (för enhetsflödet är det URN:en
          urn:ietf:params:oauth:grant-type:device_code).
        - Vilket flöde klienten verkligen behöver: en användare som loggar in, en enhet utan
          webbläsare eller en tjänst som agerar som sig själv.

pv1007 =
    .title = En parameter har ett ogiltigt värde
    .means =
        En parameter finns med men värdet godtas inte: det är för långt (varje parameter i
        en auktoriseringsbegäran har en storleksgräns), är inte ett av de tillåtna värdena
        (response_mode, prompt) eller är felaktigt utformat (code_challenge, max_age).
        error_description anger parametern och vad som är tillåtet.
    .fix =
        Rätta parametern som anges i beskrivningen; där står också vilka värden som är
        tillåtna.
    .persists =
        Värdet kommer oftast från konfiguration eller ett standardval i ett bibliotek och
        inte från den enskilda begäran, så varje begäran får med det: en response_mode som
        form_post eller fragment, prompt-kombinationer som none tillsammans med login, eller
        ett state-värde som växer för varje omdirigering.
    .check =
        - Parametern och de tillåtna värdena i error_description.
        - Standardval i bibliotek som sätter response_mode, prompt eller max_age åt dig.
        - Längden på state och nonce: Portvakt sparar dem med den pågående inloggningen, så
          de är begränsade (2048 och 512 byte).

pv1008 =
    .title = Ingen sådan slutpunkt
    .means =
        Det finns ingen slutpunkt på den här sökvägen. Varje slutpunkt i Portvakt ligger
        under en klientorganisations utfärdare ({"{public-url}"}/{"{tenant}"}/…), under
        /admin/v1/ eller under /errors/; allt annat svarar PV1008. På den här sidan svarar
        den också för en kod som inte finns.
    .fix =
        Jämför URL:en med utfärdarens discovery-dokument
        ({"{issuer}"}/.well-known/openid-configuration).
    .persists =
        En klient som bygger URL:er efter ett gissat mönster (/oauth/token, /connect/token,
        /v2.0/…) fortsätter att misslyckas hur begäran än ändras. Detsamma gäller en klient
        som har konfigurerats med en utfärdare utan klientorganisationen, eller som står
        bakom en proxy som lägger till eller tar bort ett sökvägsprefix.
    .check =
        - Slutpunkternas URL:er i klientorganisationens discovery-dokument
          (`{"{issuer}"}/.well-known/openid-configuration`); konfigurera klienter med
          utfärdaren och låt dem läsa det.
        - Att URL:en har klientorganisationen som första del av sökvägen (`portvakt tenant
          list` visar utfärdarna).
        - Omskrivning av sökvägar i en proxy framför Portvakt, och den konfigurerade publika
          URL:en (`--public-url`).

pv1009 =
    .title = HTTP-metoden är inte tillåten här
    .means =
        Slutpunkten finns, men inte för den här HTTP-metoden: token-, introspektions-,
        återkallnings- och enhetsauktoriseringsslutpunkterna tar POST; discovery, JWKS och
        felsökningssidorna tar GET.
    .fix = Tokenslutpunkter tar POST; discovery och JWKS tar GET.
    .persists =
        En klient som följer en omdirigering efter en POST kan göra om den till en GET, och
        vissa verktyg använder GET som standard. Att klistra in token-URL:en i en webbläsare
        ger alltid det här felet; det är väntat.
    .check =
        - Vilken metod klienten skickar, efter eventuella omdirigeringar (en 301 eller 302
          gör POST till GET i de flesta klienter).
        - Att URL:en är den slutpunkt du avsåg: tokenslutpunkten och JWKS skiljer sig på en
          del av sökvägen.
        - Slutpunkterna och metoderna i klientorganisationens discovery-dokument.

pv1010 =
    .title = JSON-innehållet är ogiltigt
    .means =
        Administrations-API:t kunde inte läsa JSON-innehållet: det är inte giltig JSON,
        eller så har ett fält fel typ eller ett okänt namn. error_description anger
        JSON-sökvägen till det första felet, till exempel $.displayName.
    .fix = Rätta JSON-innehållet på den sökväg som anges i beskrivningen.
    .persists =
        Fältnamnen skrivs i camelCase och okända fält nekas, så JSON som kopierats från ett
        annat verktyg eller skrivits i snake_case misslyckas på samma sätt varje gång.
        Citattecken i skalet kan också förstöra JSON innan den skickas.
    .check =
        - JSON-sökvägen i error_description och fältnamnen i OpenAPI-dokumentet
          (`/admin/v1/openapi.json`).
        - Innehållet exakt som det skickas, efter skalets citering (till exempel med `curl
          -v` eller `jq . fil.json`).
        - Om CLI:t `portvakt` har ett kommando för ändringen; det bygger JSON åt dig.

pv1011 =
    .title = För många begäranden av det här slaget från den här adressen
    .means =
        En klientadress startade fler inloggningar (300 per minut) eller
        enhetsauktoriseringar (60 per minut) än Portvakt tillåter. Var och en sparar en
        väntande post, så antalet är begränsat per adress; rubriken Retry-After anger hur
        många sekunder du ska vänta.
    .fix =
        Vänta den tid som anges i rubriken Retry-After och försök sedan igen. Varje adress
        får bara starta ett visst antal inloggningar och enhetsauktoriseringar per minut
        (docs/limits.md); en klient som behöver fler startar ett flöde för varje begäran i
        stället för att återanvända ett.
    .persists =
        Gränserna räknar TCP-motpartens adress, för IPv6 per /64. Bakom en omvänd proxy
        eller en NAT delar alla användare en adress, så de når gränsen tillsammans och felet
        återkommer när det är mycket trafik. En klient som startar en ny inloggning för
        varje begäran, i stället för att behålla sina token, når den på egen hand.
    .check =
        - Rubriken Retry-After och error_description, som anger vilken gräns som nåddes.
        - Om begärandena kommer via en proxy eller NAT, så att många användare delar en
          adress.
        - Om klienten återanvänder sin session, sin åtkomsttoken och sin uppdateringstoken,
          eller startar ett flöde per begäran.
        - Inloggningsloggarna: många inloggningar från en adress under kort tid, och om de
          slutförs.

## PV11xx: klientautentisering

pv1101 =
    .title = Klienten autentiserade sig inte
    .means =
        Begäran kräver en autentiserad klient men innehöll inga autentiseringsuppgifter:
        ingen Authorization-rubrik och ingen client_secret i innehållet, eller en
        konfidentiell klient som bara skickade sitt client_id. Introspektion, och kod- och
        uppdateringsflödena för en konfidentiell klient, kräver också hemligheten.
    .fix =
        Skicka klient-id och hemlighet, antingen i en 'Authorization: Basic'-rubrik
        (client_secret_basic) eller som formulärparametrarna client_id och client_secret
        (client_secret_post).
    .persists =
        Felet kvarstår när uppgifterna är konfigurerade men inte skickas: ett bibliotek som
        är inställt på fel autentiseringsmetod (none eller private_key_jwt i stället för
        client_secret_basic eller client_secret_post), en hemlighet som läses från en tom
        miljövariabel, eller en proxy som tar bort Authorization-rubriken.
    .check =
        - Begäran som den kommer fram: en rubrik 'Authorization: Basic …', eller client_id
          och client_secret i formulärets innehåll.
        - Klientbibliotekets inställning för hur klienten autentiserar sig mot
          tokenslutpunkten.
        - Att programmet är konfidentiellt och att klienten har dess hemlighet (`portvakt
          app list --tenant T` visar typen).

pv1102 =
    .title = Klient-id:t är inte registrerat i den här klientorganisationen
    .means =
        Inget program med det här klient-id:t är registrerat i klientorganisationen i
        URL:en. Klient-id:n gäller per klientorganisation: samma id i en annan
        klientorganisation är ett annat program.
    .fix =
        Kontrollera klient-id:t och klientorganisationen i token-URL:en: programmet måste
        vara registrerat i den klientorganisation vars utfärdare du anropar ('portvakt app
        list --tenant T').
    .persists =
        Felet kvarstår när klienten anropar fel klientorganisation eller fel Portvakt (test
        i stället för produktion), när id:t kopierades med ett skrivfel eller blanksteg,
        eller när programmet aldrig importerades till den här miljön. Samma begäran kan
        aldrig lyckas.
    .check =
        - Klientorganisationen i token-URL:en och klient-id:t, tecken för tecken
          (error_description upprepar båda).
        - De registrerade programmen: `portvakt app list --tenant T`.
        - Att importen som skapar programmet har körts mot den här servern (`portvakt import
          FILE`).

pv1103 =
    .title = Klienthemligheten är fel
    .means =
        Klient-id:t är känt men hemligheten stämmer inte med den som lagrats för det, eller
        så skickade en publik klient (som saknar hemlighet) en hemlighet. Portvakt lagrar
        bara en SHA-256-hash av varje hemlighet och jämför i konstant tid; den kan inte tala
        om vilken hemlighet som är rätt.
    .fix =
        Använd hemligheten som visades när programmet skapades eller senast fick en
        hemlighet. Hemligheter lagras hashade och kan inte visas igen; sätt en ny om den har
        tappats bort. Med client_secret_basic måste id och hemlighet form-urlkodas före
        base64 (RFC 6749 §2.3.1).
    .persists =
        Felet kvarstår när en hemlighet har ändrats av en import medan klienterna
        fortfarande använder den gamla, när hemligheten sparats med en avslutande
        radbrytning eller citattecken, eller med client_secret_basic när id eller hemlighet
        innehåller tecken som måste form-urlkodas före base64 (RFC 6749 §2.3.1) och klienten
        hoppar över det steget.
    .check =
        - Var klienten läser sin hemlighet ifrån, och att värdet saknar avslutande
          radbrytning, blanksteg och citattecken.
        - Om hemligheten nyligen har ändrats (en import sätter den) och alla klienter har
          fått den nya.
        - Med Basic-autentisering: att id och hemlighet URL-kodas före base64; eller prova
          client_secret_post en gång för att jämföra.
        - Inloggningsloggarna: misslyckanden för det här klient-id:t, och från vilka
          adresser.

pv1104 =
    .title = Klienten använde mer än en autentiseringsmetod
    .means =
        Klienten skickade sina autentiseringsuppgifter två gånger: i Authorization-rubriken
        och som client_secret i innehållet. RFC 6749 §2.3 tillåter en metod per begäran, så
        Portvakt nekar i stället för att välja en.
    .fix =
        Skicka uppgifterna antingen i Authorization-rubriken eller i innehållet, inte båda
        (RFC 6749 §2.3).
    .persists =
        Det här är nästan alltid ett bibliotek som själv lägger till Basic-autentisering
        medan programkoden också lägger hemligheten i formuläret. Det händer vid varje
        begäran tills något av de två stängs av.
    .check =
        - Den faktiska begäran: en Authorization-rubrik och en client_secret-parameter
          samtidigt.
        - Bibliotekets inställning för klientautentisering, och kod som lägger till
          client_secret i formuläret för hand.
        - En HTTP-klient eller proxy som är inställd på att lägga till en
          Authorization-rubrik i varje begäran.

pv1105 =
    .title = Authorization-rubriken kunde inte läsas
    .means =
        Authorization-rubriken i en tokenbegäran kunde inte läsas som Basic-uppgifter: den
        är inte ASCII, inte giltig base64, saknar ':' mellan id och hemlighet, eller
        använder ett annat schema, till exempel Bearer.
    .fix =
        Använd 'Authorization: Basic base64(urlencode(client_id) ":"
        urlencode(client_secret))' (RFC 6749 §2.3.1, RFC 7617).
    .persists =
        Felet kvarstår när rubriken byggs för hand: base64url i stället för base64, en
        radbrytning som ett base64-verktyg lagt in, id och hemlighet som inte URL-kodats
        först, eller en bärartoken som skickas till tokenslutpunkten där klientens uppgifter
        hör hemma.
    .check =
        - error_description: den anger vilken del som misslyckades (base64, ':' eller
          schemat).
        - Rubrikens värde avkodat: `echo VÄRDE | base64 -d` ska skriva ut id:hemlighet.
        - Att klienten skickar klientuppgifter till tokenslutpunkten, och en bärartoken bara
          till API:er.

pv1106 =
    .title = En publik klient kan inte använda det här flödet
    .means =
        En publik klient (en som registrerats utan hemlighet, till exempel en enkelsidesapp
        eller mobilapp) begärde ett flöde som kräver en konfidentiell klient. Flödet med
        klientautentiseringsuppgifter agerar som programmet självt, så programmet måste
        bevisa vem det är med en hemlighet.
    .fix =
        Flödet med klientautentiseringsuppgifter kräver en konfidentiell klient: ge
        programmet en klienthemlighet.
    .persists =
        En publik klient kan inte rättas genom att skicka en hemlighet: den har ingen, och
        en hemlighet som följer med i en webbläsare eller app kan läsas av användarna. Felet
        kvarstår tills programmet registreras som konfidentiellt, eller klienten använder
        ett användarflöde (auktoriseringskod med PKCE).
    .check =
        - Programmets typ: `portvakt app list --tenant T` (public eller confidential).
        - Om klienten ska agera som sig själv (en tjänst: ge den en hemlighet) eller för en
          inloggad användare (använd auktoriseringskodflödet).
        - Att klient-id:t är det du avsåg: en tjänst och dess gränssnitt har ofta var sitt
          program.

pv1107 =
    .title = Programmet får inte använda den här beviljandetypen
    .means =
        Programmet är registrerat, men inte för den här beviljandetypen. Varje program
        listar de flöden det får använda (grantTypes): client_credentials,
        authorization_code, refresh_token och enhetskodflödet. En begäran om något annat,
        eller ett auktoriseringskod- eller enhetsflöde som startas utan det, nekas.
    .fix =
        Lägg till beviljandetypen i programmets grantTypes, eller använd ett flöde som
        programmet är registrerat för.
    .persists =
        Felet kvarstår när klienten har fått ett nytt flöde (uppdateringstoken,
        enhetsflödet) men programmets registrering inte har uppdaterats, eller när importen
        som lägger till beviljandetypen kördes mot en annan klientorganisation eller server.
    .check =
        - Programmets beviljandetyper: `portvakt app list --tenant T`.
        - Vilket flöde klienten begär (error_description listar de registrerade).
        - För uppdateringstoken: både beviljandetypen refresh_token och omfånget
          offline_access behövs.

pv1108 =
    .title = Parametern client_id stämmer inte med den autentiserade klienten
    .means =
        Klienten autentiserade sig med ett klient-id i Authorization-rubriken och angav ett
        annat i formulärparametern client_id. Portvakt nekar i stället för att avgöra vilket
        som avses.
    .fix =
        Skicka samma klient-id i innehållet som i Authorization-rubriken, eller utelämna
        client_id i innehållet.
    .persists =
        Felet kvarstår när en klient är konfigurerad på två ställen, till exempel en
        Basic-rubrik som byggs från en inställning och ett client_id som läggs till från en
        annan, ofta efter att ett program har ersatts av ett nytt.
    .check =
        - Båda id:na: error_description visar det i innehållet och det i rubriken.
        - Var klienten hämtar vart och ett ifrån; utelämna client_id i innehållet när
          Basic-uppgifter skickas.
        - Att hemligheten hör till id:t i rubriken.

pv1109 =
    .title = För många misslyckade klientautentiseringar; försök igen senare
    .means =
        För många token-, introspektions-, återkallelse- eller enhetsbegäranden misslyckades
        med att autentisera sin klient, så fler försök får vänta, även med rätt
        hemlighet: fem misslyckanden för en klient från en adress, tjugo från en adress över
        alla klienter, eller hundra för en klient från adresser den aldrig har autentiserat
        sig från. Väntan börjar på 30 sekunder och fördubblas, upp till 15 minuter. De här
        räknarna hålls isär från lösenord: en tjänst med fel hemlighet låser aldrig ute
        personer från att logga in.
    .fix =
        Vänta den tid som anges i rubriken Retry-After och skicka sedan rätt hemlighet.
        Misslyckanden räknas per klient och adress (5), per adress över alla klienter (20)
        och per klient från adresser den aldrig har autentiserat sig från (100); väntan
        börjar på 30 s och fördubblas upp till 15 minuter (docs/limits.md).
    .persists =
        Felet kvarstår så länge något fortsätter att skicka fel hemlighet: en tjänst som
        fortfarande är konfigurerad med en hemlighet som har ersatts, en andra instans med
        en gammal konfiguration, eller någon som letar efter klient-id:n. Varje nytt
        misslyckande under väntan gör nästa väntan längre.
    .check =
        - Inloggningsloggarna för klient-id:t (inloggningar för tjänsthuvudnamn):
          misslyckandena före det här, deras kod (PV1103 fel hemlighet, PV1102 okänd
          klient) och deras adresser.
        - Varje ställe där tjänstens hemlighet är konfigurerad, efter att hemligheten byttes.
        - Om misslyckandena alls kommer från en av era adresser.

## PV12xx: omfång och resurser

pv1201 =
    .title = Begäran anger inte vilken resurs token gäller
    .means =
        En åtkomsttoken har exakt en målgrupp, och den här begäran anger inte vilket API den
        gäller: det finns ingen resource-parameter och omfången är enkla namn (Reports.Read)
        i stället för namn under en resurs (api://analytics/Reports.Read), eller så saknas
        omfång helt.
    .fix =
        Begär '{"{resource}"}/.default' eller '{"{resource}"}/{"{scope}"}', eller skicka
        resource={"{resource}"} (RFC 8707) tillsammans med vanliga omfångsnamn.
    .persists =
        Klienter som skrivits för leverantörer som gissar målgruppen, eller som utfärdar en
        token för ett standard-API, skickar enkla omfångsnamn och fortsätter att misslyckas.
        Fler omfång hjälper inte; resursen måste anges.
    .check =
        - Vilket scope klienten skickar: '{"{resource}"}/.default' eller
          '{"{resource}"}/{"{scope}"}', eller en resource-parameter bredvid enkla
          omfångsnamn.
        - Klientorganisationens resursidentifierare: `portvakt resource list --tenant T`.
        - För användarinloggning: openid räcker för en ID-token; ett API behöver dessutom
          sin resurs.

pv1202 =
    .title = Resursen är inte registrerad i den här klientorganisationen
    .means =
        Resursen som anges i scope eller i parametern resource är inte registrerad i den här
        klientorganisationen. Resursidentifierare jämförs som exakta strängar:
        api://analytics och api://analytics/ är två olika resurser.
    .fix =
        Registrera resursen (API:t) i klientorganisationen, eller rätta dess identifierare;
        identifierare jämförs exakt, inklusive schema och avslutande snedstreck.
    .persists =
        Felet kvarstår när identifieraren skiljer sig från den registrerade med ett
        avslutande snedstreck, schemat eller versaler, när API:t är registrerat i en annan
        klientorganisation, eller när klienten använder API:ts URL där identifieraren hör
        hemma. Identifieraren är det som resursen registrerades med, inte var den körs.
    .check =
        - Identifieraren i error_description mot `portvakt resource list --tenant T`, tecken
          för tecken.
        - Att resursen är registrerad i den klientorganisation vars tokenslutpunkt anropas.
        - Om klienten hämtar identifieraren från konfiguration som skiljer sig mellan
          miljöer.

pv1203 =
    .title = Resursen definierar inte det här omfånget
    .means =
        Resursen finns men definierar inget omfång med det här namnet. Omfångsnamn skiljer
        på versaler och gemener; error_description listar de omfång som resursen definierar.
    .fix =
        Använd något av de omfång som resursen definierar ('portvakt resource list --tenant
        T'), eller lägg till omfånget i resursen.
    .persists =
        Felet kvarstår när API:t har lagt till ett omfång i koden men inte i sin
        registrering, när namnet skiljer sig i versaler (reports.read mot Reports.Read),
        eller när klienten begär ett annat API:s omfång under den här resursens
        identifierare.
    .check =
        - De omfång som resursen definierar: `portvakt resource list --tenant T`.
        - Omfångsnamnet som klienten skickar, med versaler och gemener.
        - Om omfånget är nytt: att importen som lägger till det i resursen har körts.

pv1204 =
    .title = Programmet får inte det här omfånget
    .means =
        Omfånget finns på resursen, men programmet får inte använda det. Varje program
        listar sina tillåtna omfång ({"{resource}"}/{"{scope}"}, eller
        {"{resource}"}/.default för alla omfång på en resurs); en begäran om något annat
        nekas, och inget utfärdas.
    .fix = Ge programmet omfånget (allowedScopes), eller begär färre omfång.
    .persists =
        Felet kvarstår när ett nytt omfång har lagts till i resursen men inte i programmets
        allowedScopes, eller när flera program delar kod och ett av dem har snävare
        behörighet än de andra.
    .check =
        - Programmets tillåtna omfång: `portvakt app list --tenant T`.
        - Det begärda omfånget (error_description anger programmet och omfånget).
        - Om klienten borde begära färre omfång i stället för att programmet får fler.

pv1205 =
    .title = Begäran anger mer än en resurs
    .means =
        Begäran anger mer än en resurs, genom upprepade resource-parametrar eller omfång
        under olika resurser. En åtkomsttoken från Portvakt har en målgrupp, så en begäran
        kan gälla ett API.
    .fix = En åtkomsttoken har en målgrupp: begär en separat token för varje resurs.
    .persists =
        En klient som anropar flera API:er och begär alla deras omfång på en gång misslyckas
        vid varje begäran. Den behöver en token per API, var och en begärd för sig (en
        uppdateringstoken kan användas för att hämta var och en).
    .check =
        - De omfång och resource-parametrar som skickas: alla måste ange samma resurs.
        - Om klienten sparar en token per API, med resursen som nyckel.
        - Resurserna i error_description.

pv1206 =
    .title = Parametern resource är inte en absolut URI
    .means =
        Parametern resource är inte en absolut URI utan fragment (RFC 8707 §2). Ett enkelt
        namn som analytics, eller ett värde med #, är ingen resursidentifierare.
    .fix =
        RFC 8707 §2: resource måste vara en absolut URI utan fragment, till exempel
        'api://analytics' eller 'https://api.example.com'.
    .persists =
        Felet kvarstår när klienten är konfigurerad med ett kort API-namn, eller bygger
        identifieraren genom att foga ihop strängar och tappar schemat på vägen.
    .check =
        - Värdet på resource i begäran (error_description upprepar det).
        - De registrerade identifierarna: `portvakt resource list --tenant T`; skicka en av
          dem exakt.
        - URL-kodningen av parametern: api%3A%2F%2Fanalytics avkodas till api://analytics.

pv1207 =
    .title = Omfånget kan inte användas med det här flödet
    .means =
        Ett omfång som beskriver en användare (openid, profile, email, offline_access)
        begärdes med flödet för klientautentiseringsuppgifter, där det inte finns någon
        användare. En sådan token utfärdas till programmet självt.
    .fix =
        OpenID Connect-omfången (openid, profile, email, offline_access) kräver en inloggad
        användare; flödet med klientautentiseringsuppgifter har ingen.
    .persists =
        Felet kvarstår när en och samma lista med omfång delas mellan en tjänsts
        bakgrundsjobb och dess användarinloggning. Tjänstens del får bara begära API-omfång.
    .check =
        - Omfångslistan i begäran med klientautentiseringsuppgifter; ta bort OpenID
          Connect-omfången ur den.
        - Om klienten i stället borde logga in en användare (auktoriseringskod med PKCE,
          eller enhetsflödet).
        - Var omfångslistan kommer ifrån i klientens konfiguration.

pv1208 =
    .title = '.default' kombinerades med andra omfång
    .means =
        Omfånget {"{resource}"}/.default betyder alla omfång som programmet får på den
        resursen. Att kombinera det med andra omfång är motsägelsefullt, så Portvakt nekar i
        stället för att gissa.
    .fix =
        '{"{resource}"}/.default' betyder redan alla omfång som programmet får på den
        resursen; skicka det ensamt.
    .persists =
        Felet kvarstår när ett bibliotek lägger till egna omfång (openid, offline_access
        eller en standardlista) efter det .default-omfång som du har konfigurerat.
    .check =
        - Hela scope-parametern som den skickas, inte som den är konfigurerad.
        - Biblioteksinställningar som lägger till omfång åt dig.
        - Om specifika omfång ({"{resource}"}/{"{scope}"}) bättre skulle beskriva vad
          klienten behöver.

## PV13xx: klientorganisationer

pv1301 =
    .title = Ingen sådan klientorganisation
    .means =
        Det finns ingen klientorganisation med namnet i URL:en. Klientorganisationen är
        första delen av sökvägen för varje utfärdare, tokenslutpunkt och inloggningssida:
        {"{public-url}"}/{"{tenant}"}/…
    .fix =
        Kontrollera klientorganisationens namn i URL:en (det är första delen av utfärdarens
        sökväg). 'portvakt tenant list' visar klientorganisationerna.
    .persists =
        Felet kvarstår när klienten pekar på en annan miljö där klientorganisationen aldrig
        skapades, när namnet skiljer sig i stavning eller versaler, eller när en proxy
        lägger till ett sökvägsprefix så att Portvakt läser prefixet som klientorganisation.
    .check =
        - Serverns klientorganisationer: `portvakt tenant list`.
        - Utfärdaren som klienten är konfigurerad med, jämförd med kolumnen issuer i den
          listan.
        - Sökvägsprefix som en proxy lägger till eller tar bort, och `--public-url`.

pv1302 =
    .title = Namnet på klientorganisationen är inte tillåtet
    .means =
        En klientorganisation kan inte skapas med det här namnet. Namnen följer reglerna för
        en DNS-etikett (1-63 tecken av a-z, 0-9 och '-', utan '-' först eller sist), så att
        en klientorganisation senare kan bli en underdomän, och vissa namn är reserverade
        för Portvakts egna sökvägar (admin, portal, errors, metrics, …).
    .fix =
        Namn på klientorganisationer är 1-63 tecken av a-z, 0-9 och '-', börjar med en
        bokstav eller siffra och får inte vara en av Portvakts egna sökvägar (admin, portal,
        errors, metrics, ...).
    .persists =
        Versaler, punkter och understreck godtas aldrig, och ett reserverat namn förblir
        reserverat; samma import misslyckas varje gång tills namnet ändras.
    .check =
        - Namnet och orsaken i error_description (tecken, längd eller reserverat).
        - Namnen på klientorganisationerna i importfilen, om klientorganisationen skapas av
          en import.
        - Att inga klienter redan har konfigurerats med en utfärdare som använder det nekade
          namnet.

## PV14xx: administrations-API

pv1401 =
    .title = Administrations-API:t kräver en åtkomsttoken
    .means =
        En begäran till administrations-API:t kom utan bärartoken: det finns ingen
        Authorization-rubrik, eller så använder den ett annat schema än Bearer. Alla
        slutpunkter under /admin/v1/ utom OpenAPI-dokumentet kräver en.
    .fix =
        Skicka 'Authorization: Bearer <token>' med en token för administrations-API:t; CLI:t
        gör det åt dig med hjälp av DATA/admin.json.
    .persists =
        Felet kvarstår när ett skript anropar administrations-API:t direkt utan att någonsin
        hämta en token, eller när en proxy framför Portvakt tar bort Authorization-rubriken.
        CLI:t `portvakt` hämtar själv en token för varje kommando.
    .check =
        - Att begäran har 'Authorization: Bearer <token>'.
        - Att CLI:t hittar servern och dess uppgifter: DATA/admin.json, eller PORTVAKT_URL,
          PORTVAKT_CLIENT_ID och PORTVAKT_CLIENT_SECRET satta alla tre.
        - Om en proxy tar bort Authorization-rubriker på vägen.

pv1402 =
    .title = Administratörens åtkomsttoken är inte giltig
    .means =
        Bärartoken som skickades till administrations-API:t nekades: den är felaktigt
        utformad, har gått ut, är signerad med en nyckel som klientorganisationen system
        inte har, gäller en annan målgrupp eller har återkallats. error_description och
        rubriken WWW-Authenticate anger vilken kontroll som misslyckades.
    .fix =
        Hämta en ny token för administrationsklienten (klientautentiseringsuppgifter mot
        klientorganisationen system, omfånget 'urn:portvakt:admin/.default'); beskrivningen
        anger vilken kontroll som misslyckades.
    .persists =
        En ny token hjälper bara om uppgifterna bakom den fortfarande gäller. Felet kvarstår
        när CLI:t läser admin.json från en annan datakatalog eller server (token kommer då
        från fel utfärdare), när klientorganisationen systems nycklar har ersatts, eller när
        administrationsklientens token har återkallats.
    .check =
        - Tokenens utfärdare, målgrupp och giltighetstid: `portvakt token decode TOKEN`.
        - Vilken datakatalog CLI:t använder (`--data`) och att dess admin.json hör till den
          här servern.
        - Klientorganisationen systems nycklar: `portvakt keys list --tenant system`.

pv1403 =
    .title = Token ger inte administratörsåtkomst
    .means =
        Token är giltig men ger inte administratörsåtkomst: den utfärdades inte för resursen
        urn:portvakt:admin med omfånget admin. Token för andra API:er, eller användartoken,
        kan inte administrera Portvakt.
    .fix =
        Använd en token som utfärdats till administrationsklienten för resursen
        'urn:portvakt:admin' med omfånget 'admin'.
    .persists =
        Felet kvarstår när klienten begär fel omfång från klientorganisationen system, eller
        när en token som är avsedd för ett annat API återanvänds för administrations-API:t.
    .check =
        - Tokenens aud och scope: `portvakt token decode TOKEN`.
        - Omfånget som begärdes när token hämtades: urn:portvakt:admin/.default.
        - Att token kommer från administrationsklienten (client_id i DATA/admin.json).

pv1404 =
    .title = Objektet finns inte
    .means =
        Administrations-API:t hittade inget objekt med det namnet eller id:t:
        klientorganisationen, användaren, gruppen, programmet, resursen eller nyckeln som
        anges i sökvägen finns inte.
    .fix = Kontrollera namnet eller id:t; lista objekten med motsvarande list-kommando.
    .persists =
        Namn slås upp exakt som de anges. Felet kvarstår när objektet finns i en annan
        klientorganisation, aldrig importerades till den här servern eller togs bort av en
        senare import; användarnamn (UPN) måste stämma med det lagrade.
    .check =
        - Listan över sådana objekt: `portvakt tenant list`, `portvakt user list --tenant
          T`, `portvakt app list --tenant T`, `portvakt resource list --tenant T`.
        - Klientorganisationen i kommandot eller sökvägen.
        - Vilken server CLI:t pratar med (PORTVAKT_URL eller DATA/admin.json).

pv1405 =
    .title = Det finns redan ett objekt med det namnet
    .means =
        Det finns redan ett objekt med det här namnet, så det kan inte skapas igen.
        Create-kommandon skapar bara nya objekt; en import uppdaterar befintliga i stället.
    .fix =
        Välj ett annat namn, eller uppdatera det befintliga objektet (en import skapar eller
        uppdaterar).
    .persists =
        Att köra samma create-kommando två gånger, till exempel i ett provisioneringsskript,
        misslyckas andra gången och alla gånger därefter.
    .check =
        - Det befintliga objektet: motsvarande `list`-kommando visar det.
        - Om skriptet borde använda `portvakt import FILE`, som skapar eller uppdaterar, i
          stället för create-kommandon.
        - error_description: den anger vilket objekt som redan finns.

pv1406 =
    .title = Importfilen är ogiltig; inget ändrades
    .means =
        Importfilen kontrollerades innan något skrevs, och ett fel hittades. En import är en
        transaktion: inget i filen tillämpades. error_description listar varje fel med dess
        JSON-sökväg, till exempel $.tenants[0].applications[2].allowedScopes[0].
    .fix =
        Rätta filen på den JSON-sökväg som anges i beskrivningen och importera den igen. En
        import är en transaktion: allt eller inget.
    .persists =
        Alla fel i filen rapporteras på en gång, och filen gäller allt eller inget, så samma
        fil misslyckas tills varje listad sökväg är rättad. En hänvisning till ett objekt
        som definieras i en annan fil (ett omfång på en resurs som importeras separat)
        misslyckas också: varje import kontrolleras för sig tillsammans med det som redan är
        lagrat.
    .check =
        - Varje JSON-sökväg i error_description, jämförd med formatet i docs/import.md.
        - Hänvisningar i filen: omfång på resurser i samma klientorganisation, grupper som
          finns, hemligheter på minst 22 tecken och lösenord på minst 8.
        - Om filen alls är giltig JSON (till exempel `jq . FILE`).

pv1407 =
    .title = Begärans innehåll har ett ogiltigt värde
    .means =
        Administrations-API:t läste JSON-innehållet, men ett fält har ett värde som inte
        godtas, till exempel en livslängd utanför intervallet, en okänd algoritm eller ett
        ogiltigt namn. error_description anger fältet.
    .fix = Rätta fältet som anges i beskrivningen.
    .persists =
        Värdet kommer oftast från ett skript eller en mall, så varje körning skickar det
        igen tills källan är rättad.
    .check =
        - Fältet och regeln i error_description.
        - De tillåtna värdena i OpenAPI-dokumentet (`/admin/v1/openapi.json`) eller i CLI:ts
          `--help`.
        - Värden som beror på miljön (livslängder, algoritmer) i skriptets konfiguration.

## PV15xx: server

pv1501 =
    .title = Internt fel
    .means =
        Portvakt stötte på ett oväntat tillstånd och kunde inte besvara begäran. Klienten
        gjorde inget fel; detaljerna finns i serverloggen, inte i svaret.
    .fix =
        Det här är ett programfel eller ett problem i miljön; serverloggen har detaljerna
        under korrelations-id:t.
    .persists =
        Ett programfel misslyckas på samma sätt för samma indata, och ett problem i miljön
        (trådarna för lösenordshashning har stannat, data har ändrats under servern) varar
        tills miljön är åtgärdad. Att försöka igen hjälper inte i något av fallen.
    .check =
        - Serverloggen på nivån error, sökt efter svarets korrelations-id.
        - Om felet upprepas med samma begäran, och sedan när (en uppgradering, en import).
        - Rapportera det med korrelations-id:t, loggraderna och Portvakts version.

pv1502 =
    .title = Lagringen är inte tillgänglig
    .means =
        Portvakt kunde inte läsa eller skriva sin databas. Den här begäran ändrade inget;
        det går bra att försöka igen när lagringen fungerar.
    .fix =
        Databasen kunde inte nås eller skrivas (full disk, filbehörigheter, PostgreSQL
        nere). Sök efter korrelations-id:t i serverloggen och försök igen.
    .persists =
        Felet varar så länge orsaken finns kvar: en full disk, en datakatalog vars
        behörigheter har ändrats, en databasfil som låsts eller flyttats av en annan
        process, eller en databasserver som är nere.
    .check =
        - Serverloggen för korrelations-id:t: där står lagringsfelet.
        - Ledigt diskutrymme och behörigheterna på datakatalogen (`--data`).
        - Att bara en Portvakt-process använder datakatalogen.

pv1503 =
    .title = Klientorganisationen har ingen användbar signeringsnyckel
    .means =
        Klientorganisationen har ingen signeringsnyckel som är aktiv just nu, eller så kan
        dess nycklar inte öppnas. Privata nycklar förseglas med huvudnyckeln; utan en aktiv
        nyckel som går att öppna kan ingen token signeras i klientorganisationen.
    .fix =
        Kör 'portvakt keys rotate --tenant T --prepublish 0' för att skapa en, och
        kontrollera PORTVAKT_MASTER_KEY om nycklarna inte kan öppnas.
    .persists =
        Felet kvarstår när servern startas med en annan huvudnyckel än den som förseglade
        nycklarna (PORTVAKT_MASTER_KEY har ändrats, eller DATA/master.key har ersatts),
        eller när alla nycklar för klientorganisationens algoritm har tagits ur bruk och en
        ny fortfarande är förpublicerad (den signerar först efter --prepublish sekunder).
    .check =
        - Klientorganisationens nycklar och deras tillstånd: `portvakt keys list --tenant
          T`.
        - Att PORTVAKT_MASTER_KEY, eller DATA/master.key, är den som nycklarna förseglades
          med.
        - Serverloggen för korrelations-id:t: där står om nyckeln saknas eller inte kan
          öppnas.

## PV20xx: tokenvalidering i API:er (guard)

pv2001 =
    .title = Ingen åtkomsttoken skickades
    .means =
        API:t (eller Portvakts userinfo-slutpunkt) fick en begäran utan åtkomsttoken: ingen
        Authorization-rubrik, eller en utan bärartoken. Svaret har en
        WWW-Authenticate-utmaning och inget error (RFC 6750 §3.1), som för en begäran som
        ännu inte har försökt autentisera sig.
    .fix =
        Skicka åtkomsttoken i en rubrik 'Authorization: Bearer <token>' (RFC 6750 §2.1).
        Hämta en från utfärdarens tokenslutpunkt för det här API:ts resurs eller omfång.
    .persists =
        Felet kvarstår när klienten aldrig hämtade någon token, när en proxy eller gateway
        tar bort Authorization-rubriken (vissa gör det vid omdirigeringar eller anrop mellan
        ursprung), eller när en webbläsarapp skickar begäran utan den rubrik som den sätter
        på andra ställen.
    .check =
        - Att rubriken kommer fram till API:t: logga namnen på inkommande rubriker, eller
          testa med `curl -H 'Authorization: Bearer TOKEN'`.
        - Proxyer, gatewayer och omdirigeringar mellan klienten och API:t.
        - Att klienten först begär en token från utfärdarens tokenslutpunkt, för det här
          API:ts resurs.

pv2002 =
    .title = Åtkomsttoken skickades på ett sätt som inte godtas
    .means =
        Begäran har token på ett sätt som RFC 6750 §2 inte tillåter: mer än en
        Authorization-rubrik, eller en token i rubriken och dessutom en
        access_token-parameter i frågesträngen eller formuläret. API:t kan inte avgöra
        vilken token som avses.
    .fix =
        Skicka exakt en rubrik 'Authorization: Bearer <token>', och ingen
        access_token-parameter i frågesträngen eller formuläret utöver den (RFC 6750 §2).
    .persists =
        Felet kvarstår när två lager lägger till var sin token: en HTTP-klient med en
        förvald Authorization-rubrik plus kod som lägger till en för varje begäran, eller en
        gateway som kopierar en token från frågesträngen till en rubrik.
    .check =
        - Antalet Authorization-rubriker som API:t tar emot.
        - En eventuell access_token-parameter i URL:en eller innehållet; skicka token bara i
          rubriken.
        - Förval i HTTP-klienten och regler i gatewayer som lägger till rubriker.

pv2003 =
    .title = Åtkomsttoken är felaktigt utformad
    .means =
        Det som skickades som åtkomsttoken är ingen signerad JWT: tre base64url-delar med
        JSON åtskilda av punkter. error_description anger vilken del som är trasig; tipsen
        beskriver vad värdet ser ut att vara i stället (ett prefix 'Bearer ', citattecken,
        en ogenomskinlig eller krypterad token).
    .fix =
        Skicka åtkomsttoken exakt som tokenslutpunkten returnerade den: tre base64url-delar
        med JSON åtskilda av punkter, utan 'Bearer ', citattecken eller blanksteg.
        Beskrivningen anger den trasiga delen; en ID-token, en uppdateringstoken, en
        krypterad token (5 delar) eller en ogenomskinlig token är ingen åtkomsttoken.
    .persists =
        En token som skadas på vägen skadas på samma sätt varje gång: citattecken som följt
        med från JSON, blanksteg från kopiera och klistra in, dubbla 'Bearer ', URL-kodning
        som görs två gånger, eller en ID-token eller uppdateringstoken som skickas där
        åtkomsttoken hör hemma.
    .check =
        - Värdet som API:t tar emot: `portvakt token validate --issuer ISSUER --audience
          AUDIENCE TOKEN` visar den trasiga delen och den troliga orsaken.
        - Att klienten skickar fältet access_token från tokensvaret, inte id_token eller
          refresh_token.
        - Koden mellan tokensvaret och rubriken: JSON-serialisering, strängsammanfogning,
          URL-kodning.

pv2004 =
    .title = Åtkomsttoken är större än den tillåtna gränsen
    .means =
        Token är större än API:t tar emot (max_token_bytes i guard), så den nekades innan
        den tolkades. Gränsen skyddar API:t från att lägga arbete på för stora indata.
    .fix =
        Portvakts åtkomsttoken är långt under 2 KB. Kontrollera att anroparen skickar
        åtkomsttoken och inget annat; höj max_token_bytes i guard bara om utfärdaren
        verkligen lägger så många anspråk i sina token.
    .persists =
        Portvakts egna åtkomsttoken är långt under 2 KB, så en token över gränsen är oftast
        ingen sådan: flera värden som fogats ihop, ett helt tokensvar, eller en token från
        en utfärdare som lägger många anspråk (till exempel grupper) i den.
    .check =
        - Storleken i error_description och vad värdet innehåller: `portvakt token decode
          TOKEN`.
        - Att klienten bara skickar strängen access_token.
        - Om utfärdaren verkligen utfärdar stora token: höj max_token_bytes i API:ts
          guard-konfiguration.

pv2005 =
    .title = Tokenens signeringsalgoritm godtas inte
    .means =
        Tokenens huvud anger en signeringsalgoritm som API:t inte godtar: none (osignerad),
        en HMAC-algoritm (HS256 och liknande) eller en algoritm som ingen av utfärdarens
        nycklar använder. Bara utfärdarens publicerade asymmetriska nycklar kan göra en
        token giltig (RFC 8725 §3.1).
    .fix =
        Åtkomsttoken måste signeras med en av utfärdarens publicerade asymmetriska nycklar
        (ES256, EdDSA, RS256). 'none' och HMAC (HS256...) nekas alltid (RFC 8725 §3.1); en
        HMAC-token är antingen en intern token hos utfärdaren eller en förfalskning som
        gjorts med den publika nyckeln.
    .persists =
        Felet kvarstår när token kommer från en annan utfärdare eller ett system som
        signerar med en delad hemlighet, eller när utfärdaren är konfigurerad för en
        algoritm som API:ts nycklar inte omfattar. En token med alg none eller HMAC som
        gjorts för det här API:t är ett förfalskningsförsök och bör utredas.
    .check =
        - Tokenens huvud (alg, kid) och utfärdare: `portvakt token decode TOKEN`.
        - Algoritmerna för utfärdarens nycklar: `portvakt keys list --tenant T`, eller JWKS
          på `{"{issuer}"}/oauth2/keys`.
        - Var klienten fick token ifrån; om ingen utfärdade den, behandla det som ett
          angrepp och granska API:ts åtkomstloggar.

pv2006 =
    .title = Tokenens alg stämmer inte med nyckelns algoritm
    .means =
        Tokenens alg-huvud skiljer sig från algoritmen för nyckeln som dess kid anger. API:t
        tar algoritmen från nyckeln, aldrig från token, så token nekas i stället för att
        verifieras på något annat sätt.
    .fix =
        Algoritmen kommer från utfärdarens nyckel, aldrig från token (RFC 8725 §3.1). En
        token vars alg skiljer sig från nyckeln som dess kid anger är förfalskad eller byggd
        av en felkonfigurerad utfärdare.
    .persists =
        En riktig utfärdare gör aldrig så här; felet kvarstår när token byggs för hand eller
        av en felkonfigurerad signerare som återanvänder ett kid för en nyckel av en annan
        typ, eller när någon försöker med ett angrepp som blandar ihop algoritmer.
    .check =
        - Huvudets alg och kid: `portvakt token decode TOKEN`.
        - Nyckeln med det kid:t i utfärdarens JWKS (`{"{issuer}"}/oauth2/keys`) och dess
          alg.
        - Vem som skapade token; Portvakt signerar varje token med algoritmen för den nyckel
          den anger.

pv2007 =
    .title = Tokenens huvud anger en egen nyckelkälla
    .means =
        Tokenens huvud anger en egen nyckelkälla (jku, x5u, jwk, x5c) eller kritiska tillägg
        (crit). Nycklar kommer bara från utfärdarens JWKS, så en token som pekar någon
        annanstans nekas (RFC 8725 §3.10).
    .fix =
        Huvudena jku, x5u, jwk, x5c och crit nekas: nycklar kommer bara från utfärdarens
        JWKS (RFC 8725 §3.10). Utfärda token utan de här huvudena.
    .persists =
        Portvakt lägger aldrig de här huvudena i sina token, så token kommer från en annan
        utfärdare, är en handgjord testtoken eller ett försök att få API:t att lita på en
        nyckel som anroparen själv skickar med.
    .check =
        - Huvudet: `portvakt token decode TOKEN` visar vilken parameter som finns med.
        - Tokenens utfärdare: är det den utfärdare som API:t är konfigurerat för?
        - Om en utfärdare från tredje part lägger till de här huvudena: konfigurera den att
          låta bli, annars kan API:t inte godta dess token.

pv2008 =
    .title = Token signerades med en nyckel som utfärdaren inte publicerar
    .means =
        Tokenens kid finns inte bland de nycklar som utfärdaren publicerar, inte ens efter
        att API:t hämtat JWKS på nytt. Antingen signerades token av en annan utfärdare eller
        miljö, eller av en nyckel som utfärdaren inte längre publicerar.
    .fix =
        Jämför tokenens kid med utfärdarens JWKS ({"{issuer}"}/oauth2/keys). Om kid:t saknas
        där kommer token från en annan utfärdare eller miljö, eller så har utfärdaren bytt
        ut sina nycklar; hämta en ny token.
    .persists =
        En ny token från rätt utfärdare löser det. Felet kvarstår när klienten hämtar sina
        token från en annan miljö (test mot produktion) eller klientorganisation, när API:t
        är konfigurerat med fel utfärdare, eller efter att en utfärdares nycklar har bytts
        ut i stället för roterats, så att token som signerades tidigare blir föräldralösa.
    .check =
        - Tokenens kid och utfärdare: `portvakt token decode TOKEN`; sedan `portvakt token
          validate --issuer ISSUER --audience AUDIENCE TOKEN`.
        - Nycklarna som utfärdaren publicerar: `{"{issuer}"}/oauth2/keys`, och `portvakt
          keys list --tenant T`.
        - Att API:t och klienten använder samma utfärdar-URL, klientorganisation och miljö.

pv2009 =
    .title = Tokenens signatur kan inte verifieras
    .means =
        Nyckeln som tokenens kid anger finns, men signaturen kan inte verifieras med den.
        Huvudet eller anspråken ändrades efter signeringen, eller så använde en annan
        signerare samma kid.
    .fix =
        Token har ändrats efter signeringen, eller signerats av en annan utfärdare med samma
        kid. Hämta en ny token från utfärdaren; ändra aldrig i en token.
    .persists =
        Inget som API:t gör kan göra token giltig; felet kvarstår så länge klienten
        fortsätter att använda den ändrade token. Leta efter kod som redigerar token (för
        att ändra giltighetstid eller ett anspråk vid test), eller två miljöer vars nycklar
        råkar ha samma kid.
    .check =
        - `portvakt token validate --issuer ISSUER --audience AUDIENCE TOKEN` mot den
          utfärdare som token anger.
        - Om något mellan utfärdaren och API:t ändrar token (omkodning, utfyllnad,
          beskärning).
        - Om token har redigerats för hand eller av ett testverktyg.

pv2010 =
    .title = Token är ingen åtkomsttoken (typ är inte at+jwt)
    .means =
        Tokenens typ-huvud är inte at+jwt, så det är ingen åtkomsttoken (RFC 9068 §2.1).
        ID-token och andra JWT:er signeras med samma nycklar men är inte avsedda för API:er;
        att godta dem skulle låta en token för ett syfte användas för ett annat.
    .fix =
        Skicka access_token från tokensvaret, inte id_token eller en annan JWT. Åtkomsttoken
        har huvudet typ 'at+jwt' (RFC 9068 §2.1, §4).
    .persists =
        Felet kvarstår när klienten skickar sin id_token till API:t, ett vanligt misstag i
        enkelsidesappar vars bibliotek sparar båda. En token från en utfärdare som inte
        sätter typ at+jwt nekas av samma skäl.
    .check =
        - Huvudets typ: `portvakt token decode TOKEN` (en ID-token har typ JWT eller ingen,
          och aud är klient-id:t).
        - Vilket fält i tokensvaret som klienten sparar och skickar.
        - Att klienten begär en token för det här API:ts resurs, vilket ger den en
          åtkomsttoken för API:t.

pv2011 =
    .title = Åtkomsttoken har gått ut
    .means =
        Åtkomsttokenens exp ligger i det förflutna, bortom API:ts tillåtna klockavvikelse.
        Åtkomsttoken är kortlivade med avsikt; det här är det vanliga slutet på en tokens
        liv, och klienten förväntas hämta en ny.
    .fix =
        Klienten ska hämta en ny åtkomsttoken (med uppdateringstoken eller ett nytt flöde)
        och försöka igen. Om även nya token misslyckas, jämför den här värdens klocka med
        utfärdarens.
    .persists =
        Felet kvarstår när klienten inte reagerar på 401-svaret: den fortsätter att skicka
        den sparade token i stället för att uppdatera den, eller så misslyckas även
        uppdateringen (leta efter ett PV32xx-fel vid tokenslutpunkten). Om helt nya token
        nekas som utgångna går API-värdens klocka före utfärdarens.
    .check =
        - Tokenens exp jämfört med aktuell tid: `portvakt token decode TOKEN` visar båda, i
          förhållande till nu.
        - Om klienten uppdaterar token vid ett 401-svar, och inloggningsloggarna för
          misslyckade uppdateringar från den här klienten.
        - API-värdens klocka jämfört med utfärdarens (NTP); `portvakt token validate
          --issuer ISSUER --audience AUDIENCE TOKEN` mäter skillnaden.

pv2012 =
    .title = Åtkomsttoken är inte giltig än (nbf ligger i framtiden)
    .means =
        Tokenens nbf (not before) ligger i framtiden, bortom API:ts tillåtna klockavvikelse:
        enligt API:ts klocka är token inte giltig än.
    .fix =
        Den här värdens klocka går troligen efter utfärdarens: synkronisera den (NTP).
        Beskrivningen anger hur mycket.
    .persists =
        Portvakt sätter nbf till utfärdandeögonblicket, så det här betyder att API-värdens
        klocka går efter utfärdarens. Felet återkommer med varje ny token tills klockan är
        rättad; virtuella maskiner, WSL2 och Docker Desktop driver efter viloläge.
    .check =
        - Skillnaden som anges i error_description, och `portvakt token validate --issuer
          ISSUER --audience AUDIENCE TOKEN`, som mäter avvikelsen mot utfärdarens
          Date-rubrik.
        - NTP på API-värden (`timedatectl status` med systemd).
        - Även utfärdarens klocka, om API-värdens går rätt.

pv2013 =
    .title = Åtkomsttoken utfärdades i framtiden (iat)
    .means =
        Tokenens iat (issued at) ligger i framtiden, bortom API:ts tillåtna klockavvikelse:
        enligt API:ts klocka utfärdades token efter nu.
    .fix =
        Den här värdens klocka går troligen efter utfärdarens: synkronisera den (NTP).
        Beskrivningen anger hur mycket.
    .persists =
        Det här är en skillnad mellan API-värdens och utfärdarens klockor, och den
        återkommer med varje ny token tills en av klockorna är rättad. En skillnad på ett
        jämnt antal timmar tyder på ett tidszonsfel (lokal tid som skrivs som UTC).
    .check =
        - Skillnaden i error_description, och `portvakt token validate --issuer ISSUER
          --audience AUDIENCE TOKEN`, som mäter den mot utfärdarens Date-rubrik.
        - NTP på API-värden och hos utfärdaren.
        - API:ts inställning för tillåten avvikelse (leeway), om skillnaden är några
          sekunder.

pv2014 =
    .title = Token utfärdades av en annan utfärdare
    .means =
        Tokenens iss är inte den utfärdare som API:t litar på. Utfärdare jämförs som exakta
        strängar: schema, värd, port, sökväg och avslutande snedstreck räknas alla.
    .fix =
        Utfärdaren måste stämma exakt, inklusive schema, värd, port, sökväg och avslutande
        snedstreck. Konfigurera API:t med den utfärdare som token skapades av, eller rätta
        utfärdarens publika URL (en proxy ändrar den ofta).
    .persists =
        Felet kvarstår så länge utfärdarens publika URL och API:ts konfiguration skiljer sig
        åt: en proxy som avslutar TLS så att Portvakt tror att den nås över http, ett
        internt värdnamn (ett containernamn) mot det publika, en förväxling av
        klientorganisationer, eller en token från en annan miljö.
    .check =
        - Tokenens iss och API:ts konfigurerade utfärdare; `portvakt token validate --issuer
          ISSUER --audience AUDIENCE TOKEN` anger vilken del som skiljer sig.
        - Portvakts publika URL (`--public-url`) jämfört med den URL som klienterna
          använder, bakom eventuella proxyer.
        - Utfärdaren i klientorganisationens discovery-dokument; kopiera den ordagrant till
          API:ts konfiguration.

pv2015 =
    .title = Token är avsedd för en annan målgrupp
    .means =
        Tokenens aud innehåller inte det här API:ts identifierare: token utfärdades för ett
        annat API, eller så är det en ID-token, vars målgrupp är klient-id:t. En token för
        ett API godtas aldrig av ett annat.
    .fix =
        Begär token för det här API:t (omfånget '{"{resource}"}/...' eller
        resource={"{resource}"}); en ID-tokens målgrupp är klient-id:t och godtas aldrig av
        ett API.
    .persists =
        Felet kvarstår så länge klienten begär sin token för en annan resurs (eller ett
        omfång hos ett annat API), eller återanvänder en sparad token för flera API:er. Det
        kvarstår också om API:t är konfigurerat med en identifierare som skiljer sig från
        den registrerade resursen i versaler eller med ett avslutande snedstreck.
    .check =
        - Tokenens aud: `portvakt token decode TOKEN`, jämförd med API:ts godtagna målgrupp.
        - Omfånget eller resursen som klienten begär: den måste ange det här API:t
          ('{"{resource}"}/…' eller resource={"{resource}"}).
        - Resursidentifieraren som den är registrerad: `portvakt resource list --tenant T`.

pv2016 =
    .title = Ett obligatoriskt anspråk saknas eller har fel typ
    .means =
        Ett anspråk som varje åtkomsttoken måste ha (iss, sub, aud, exp, iat, jti,
        client_id: RFC 9068 §2.2) saknas eller har fel JSON-typ. Utan det kan API:t inte
        kontrollera token fullt ut, så den nekas.
    .fix =
        Åtkomsttoken måste innehålla iss, sub, aud, exp, iat, jti och client_id (RFC 9068
        §2.2). Kontrollera att det är en åtkomsttoken från den förväntade utfärdaren.
    .persists =
        Portvakt sätter alltid de här anspråken, så token kommer från en annan utfärdare
        eller är ingen åtkomsttoken; felet återkommer med varje token från den källan.
    .check =
        - Anspråken: `portvakt token decode TOKEN`, och anspråket som anges i
          error_description.
        - Tokenens utfärdare och typ: är det alls en åtkomsttoken från Portvakt?
        - Om en utfärdare från tredje part kan konfigureras att utfärda åtkomsttoken enligt
          RFC 9068.

pv2017 =
    .title = Token saknar ett omfång som API:t kräver
    .means =
        Token är giltig, men den saknar ett omfång som API:t eller slutpunkten kräver.
        Svaret anger vilket omfång som behövs (RFC 6750 §3.1); det är 403, inte 401,
        eftersom en ny token med samma omfång inte skulle hjälpa.
    .fix =
        Begär en token med det omfång som anges i svaret (RFC 6750 §3.1), och se till att
        programmet får använda det omfånget.
    .persists =
        Felet kvarstår så länge klienten begär samma omfång, eller när programmet inte får
        använda omfånget, och då nekar Portvakt en begäran om det med PV1204. En uppdatering
        kan inte heller lägga till omfång (PV3207): användaren måste logga in igen med det
        nya omfånget.
    .check =
        - Omfånget i svarets WWW-Authenticate-rubrik och tokenens anspråk scp eller scope
          (`portvakt token decode TOKEN`).
        - De omfång som klienten begär.
        - Programmets tillåtna omfång: `portvakt app list --tenant T`.

pv2018 =
    .title = Token saknar en roll som API:t kräver
    .means =
        Token är giltig, men den saknar en roll som API:t kräver. Roller kommer från
        användarens eller programmets tilldelningar vid den tidpunkt då token utfärdades.
    .fix =
        Tilldela rollen som anges i svaret till användaren eller programmet, och hämta sedan
        en ny token.
    .persists =
        Att tilldela rollen ändrar inte token som redan har utfärdats: felet kvarstår tills
        klienten hämtar en ny token, och för en användare kan det betyda att logga in igen i
        stället för att uppdatera.
    .check =
        - Tokenens anspråk roles (`portvakt token decode TOKEN`) jämfört med rollen i
          svaret.
        - Användarens grupper och rolltilldelningarna: `portvakt user list --tenant T`,
          `portvakt group list --tenant T`.
        - När token utfärdades jämfört med när rollen tilldelades.

pv2019 =
    .title = Åtkomsttoken har återkallats
    .means =
        Token är korrekt utformad och rätt signerad, men API:ts återkallningskontroll säger
        att den har dragits in innan den gick ut: dess session eller familj av
        uppdateringstoken återkallades, användaren inaktiverades eller användarens sessioner
        återkallades.
    .fix =
        Hämta en ny åtkomsttoken; om det också misslyckas har användarens eller programmets
        åtkomst dragits in.
    .persists =
        En ny token hjälper bara om användaren eller programmet fortfarande har rätt till
        åtkomst. Felet kvarstår när kontot är inaktiverat eller dess sessioner återkallas
        gång på gång; klienten behöver då en interaktiv inloggning, som också misslyckas om
        åtkomsten dragits in med avsikt.
    .check =
        - Orsaken i error_description.
        - Kontot: `portvakt user list --tenant T` visar om det är aktiverat; `portvakt user
          revoke-sessions` är det som återkallar allt på en gång.
        - Inloggningsloggarna för användaren runt tidpunkten för återkallningen.

pv2020 =
    .title = Utfärdarens signeringsnycklar kunde inte hämtas
    .means =
        API:t kunde inte hämta utfärdarens discovery-dokument eller JWKS och har ingen
        tidigare kopia av nycklarna, så det kan inte verifiera någon token. Felet ligger
        mellan API:t och utfärdaren, inte i token.
    .fix =
        API:t kunde inte hämta utfärdarens discovery-dokument eller JWKS och har ingen
        tidigare kopia. Kontrollera URL, DNS och nätverk från API-värden, och att utfärdaren
        är igång.
    .persists =
        Felet varar tills API:t når utfärdaren: en felaktig utfärdar-URL i API:ts
        konfiguration, DNS, en brandvägg eller proxy, TLS-förtroende (en privat CA som
        API-värden inte litar på) eller att utfärdaren är nere. Ett API som har haft nycklar
        fortsätter att använda dem medan det försöker igen.
    .check =
        - URL:en och orsaken i error_description.
        - Från API-värden: `curl -sS {"{issuer}"}/.well-known/openid-configuration` och den
          jwks_uri som den anger.
        - Att utfärdaren är igång och att dess publika URL går att slå upp från API:ts
          nätverk (inte bara utifrån).

## PV30xx: inloggning

pv3001 =
    .title = Inloggningssidan har gått ut eller öppnades i en annan webbläsare
    .means =
        Inloggningssidan hör till en pågående inloggning som Portvakt inte längre känner
        till, eller som startades i en annan webbläsare. Varje inloggning gäller i 15
        minuter, en gång, och bara i den webbläsare som startade den (kakan pv_interaction
        binder den).
    .fix =
        Gå tillbaka till programmet och logga in igen. Inloggningssidor gäller i 15 minuter
        och bara i den webbläsare som startade dem.
    .persists =
        Att börja om från programmet löser oftast problemet. Felet kvarstår när webbläsaren
        inte skickar tillbaka bindningskakan: kakor blockeras för Portvakts webbplats, en
        inloggningslänk öppnas i en annan webbläsare eller en inbyggd webbläsare i en app,
        eller den publika URL:en använder https medan webbläsaren når Portvakt över http, så
        att den säkra kakan aldrig skickas.
    .check =
        - Att inloggningen startas från programmet, inte från en sparad eller delad
          inloggningslänk.
        - Webbläsarens inställningar för kakor för Portvakts värd, och om en inbyggd
          webbläsare i en app öppnar länken.
        - Att `--public-url` är den URL som webbläsaren faktiskt använder (schema, värd och
          port).
        - Inloggningsloggarna för korrelations-id:t: beskrivningen anger om inloggningen var
          okänd, hade gått ut eller kom från en annan webbläsare.

pv3002 =
    .title = Formuläret kunde inte verifieras (CSRF-token saknas eller är fel)
    .means =
        Ett formulär för inloggning, medgivande eller enhetskod skickades utan den token som
        visar att det kom från sidan som Portvakt visade (CSRF-skydd), eller med en token
        från en annan sida.
    .fix =
        Ladda om inloggningssidan och skicka den igen; skicka inte formuläret från en annan
        webbplats eller en gammal flik.
    .persists =
        Felet kvarstår när formuläret skickas från en gammal flik efter att en nyare
        inloggning har startat, när ett webbläsartillägg eller en lösenordshanterare skickar
        en inaktuell kopia av sidan, eller när något försöker skicka formuläret från en
        annan webbplats.
    .check =
        - Ladda om sidan och skicka den en gång, från samma flik.
        - Webbläsartillägg som fyller i och skickar formulär automatiskt.
        - Inloggningsloggarna för korrelations-id:t; upprepade CSRF-fel från en adress kan
          vara ett angrepp.

pv3003 =
    .title = Omdirigerings-URI:n är inte registrerad för det här programmet
    .means =
        Auktoriseringsbegärans redirect_uri (eller en utloggnings post_logout_redirect_uri)
        är inte en av dem som programmet har registrerat, eller så saknas den medan
        programmet har flera. Portvakt visar då en felsida i stället för att omdirigera,
        eftersom en kod som skickas till en oregistrerad adress kan hamna hos en angripare.
    .fix =
        Registrera den exakta omdirigerings-URI:n för programmet (schema, värd, port, sökväg
        och avslutande snedstreck måste stämma), eller skicka den registrerade.
    .persists =
        Jämförelsen är exakt, så felet kvarstår vid små skillnader: http mot https,
        localhost mot 127.0.0.1, en annan port, ett avslutande snedstreck, en sökväg med
        andra versaler. Det kvarstår också när varje miljö (utveckling, test) använder en
        egen URL som bara registrerats för en av dem.
    .check =
        - Omdirigerings-URI:n i error_description, tecken för tecken, mot programmets
          redirectUris i dess importfil.
        - Den URL som klienten bygger när den körs (bakom en proxy kan den se en intern värd
          eller http).
        - För utloggning: skicka client_id eller id_token_hint så att Portvakt vet vems
          URI:er som ska kontrolleras.

pv3004 =
    .title = Svarstypen stöds inte
    .means =
        Auktoriseringsbegäran ber om en annan response_type än code. Portvakt har bara
        auktoriseringskodflödet; det implicita flödet (token, id_token) och hybridflöden
        erbjuds inte, så som OAuth 2.0 Security BCP rekommenderar.
    .fix = Använd response_type=code (auktoriseringskodflödet med PKCE).
    .persists =
        Felet kvarstår när ett klientbibliotek är inställt på det implicita flödet, vanligt
        i äldre enkelsidesappar. En sådan app behöver kodflödet med PKCE, som alla aktuella
        bibliotek har stöd för.
    .check =
        - Vilken response_type klienten skickar (error_description upprepar den).
        - Bibliotekets inställning för flöde (till exempel responseType: 'code').
        - response_types_supported i klientorganisationens discovery-dokument.

pv3005 =
    .title = PKCE krävs
    .means =
        En publik klient startade en auktoriseringsbegäran utan code_challenge. Utan PKCE
        skulle en uppsnappad auktoriseringskod kunna lösas in av vem som helst, så Portvakt
        kräver det av alla klienter som saknar hemlighet (RFC 7636, OAuth 2.0 Security BCP).
    .fix =
        Skicka code_challenge (BASE64URL(SHA-256(code_verifier))) med
        code_challenge_method=S256; publika klienter måste använda PKCE (RFC 7636, OAuth 2.0
        Security BCP).
    .persists =
        Felet kvarstår så länge PKCE är avstängt i klientbiblioteket, eller när appen bygger
        auktoriserings-URL:en för hand och utelämnar utmaningen.
    .check =
        - Auktoriserings-URL:en som klienten öppnar: den måste ha code_challenge och
          code_challenge_method=S256.
        - Bibliotekets inställning för PKCE.
        - Att programmet är avsett att vara publikt (`portvakt app list --tenant T` visar
          typen).

pv3006 =
    .title = Bara PKCE-metoden S256 godtas
    .means =
        Auktoriseringsbegäran använder en annan PKCE-metod än S256, eller skickar en
        code_challenge utan code_challenge_method (vilket skulle betyda plain). Metoden
        plain skickar själva verifieraren och skyddar ingenting, så den nekas.
    .fix = Använd code_challenge_method=S256; 'plain' nekas.
    .persists =
        Felet kvarstår så länge biblioteket använder plain som standard eller utelämnar
        metoden; det räcker att sätta metoden till S256, resten av PKCE är sig likt.
    .check =
        - code_challenge_method i auktoriserings-URL:en.
        - Bibliotekets inställning för PKCE-metod.
        - Att code_challenge är BASE64URL(SHA-256(code_verifier)), 43 tecken.

pv3007 =
    .title = Användaren måste logga in
    .means =
        Programmet bad om en tyst inloggning (prompt=none), och det finns ingen användbar
        session i den här webbläsaren: ingen är inloggad, eller så är sessionen äldre än
        begärans max_age. Portvakt kan inte visa en sida i en tyst begäran, så den svarar
        login_required till programmet.
    .fix =
        Begäran hade prompt=none men det finns ingen giltig session (eller så är den äldre
        än max_age). Starta en interaktiv inloggning.
    .persists =
        Det är väntat när sessionen har tagit slut (24 timmar, utloggning, återkallade
        sessioner), och programmet ska då starta en interaktiv inloggning. Felet kvarstår
        när den tysta förnyelsen körs i en dold ram och webbläsaren inte skickar Portvakts
        sessionskaka dit (blockering av kakor från tredje part), så att varje tyst försök
        ser utloggat ut.
    .check =
        - Att programmet går över till en interaktiv inloggning vid login_required.
        - Om webbläsaren blockerar kakor för Portvakts värd i iframes; en uppdateringstoken
          gör dolda ramar onödiga.
        - Vilken max_age programmet skickar, jämfört med hur länge sedan användaren loggade
          in.

pv3008 =
    .title = Användaren måste ge sitt medgivande
    .means =
        Programmet bad om en tyst inloggning (prompt=none), användaren är inloggad men har
        inte gett sitt medgivande till de begärda omfången. Ett medgivande kräver en sida,
        så Portvakt svarar consent_required.
    .fix =
        Begäran hade prompt=none men användaren har inte gett sitt medgivande till de här
        omfången. Starta en interaktiv inloggning, eller låt en administratör ge medgivande
        för hela klientorganisationen.
    .persists =
        Felet kvarstår när programmet begär fler omfång än användaren har godkänt tidigare,
        till exempel efter att ett nytt omfång har lagts till, och fortsätter att försöka
        tyst. En administratör kan ge medgivande för hela klientorganisationen, så att
        användarna inte tillfrågas.
    .check =
        - De begärda omfången jämfört med dem som användaren har godkänt (error_description
          listar det som saknas).
        - Att programmet startar en interaktiv inloggning vid consent_required.
        - Medgivande för hela klientorganisationen: `portvakt app consent --tenant T
          CLIENT_ID`.

pv3009 =
    .title = Användaren tackade nej
    .means =
        Användaren valde Avbryt på medgivandesidan, så programmet får access_denied i
        stället för en kod. Ingenting beviljades.
    .fix =
        Användaren nekade medgivande. Begär färre omfång eller förklara varför programmet
        behöver dem.
    .persists =
        Användare som inte förstår varför ett program ber om en behörighet brukar neka varje
        gång. Felet kvarstår tills programmet ber om mindre, förklarar vad det behöver,
        eller en administratör ger medgivande för klientorganisationen.
    .check =
        - Vilka omfång programmet begär, och om vart och ett behövs.
        - Vad programmet visar sina användare innan de skickas till inloggningen.
        - Medgivande för hela klientorganisationen, om organisationen godkänner programmet:
          `portvakt app consent --tenant T CLIENT_ID`.

pv3010 =
    .title = Användarnamnet eller lösenordet är fel
    .means =
        Användarnamnet eller lösenordet är fel. Portvakt säger inte vilket, och det tar lika
        lång tid i båda fallen, så att ingen kan ta reda på vilka konton som finns.
    .fix =
        Kontrollera användarnamn och lösenord. Upprepade misslyckanden gör att nya försök
        fördröjs.
    .persists =
        Felet kvarstår när användaren skriver en annan form av namnet än kontots
        användarnamn (UPN), till exempel ett alias eller ett kortnamn, när kontot saknar
        lösenord, eller när tangentbordslayouten eller Caps Lock ändrar lösenordet. Efter
        upprepade misslyckanden hålls kontot tillbaka en stund (PV3011).
    .check =
        - Kontots användarnamn (UPN) och om det är aktiverat: `portvakt user list --tenant
          T`.
        - Att användaren loggar in i rätt klientorganisation (första delen av
          inloggningssidans sökväg).
        - Inloggningsloggarna för användarnamnet: hur många misslyckanden, och från vilka
          adresser.

pv3011 =
    .title = För många misslyckade inloggningar; försök igen senare
    .means =
        För många felaktiga lösenord har provats, så nya försök får vänta: fem misslyckanden
        för ett konto från en adress, tjugo för ett konto från adresser som det inte har
        loggat in från, eller tjugo från en adress för olika konton. Väntetiden börjar på 30
        sekunder och fördubblas, upp till 15 minuter; även rätt lösenord får vänta.
    .fix =
        Vänta den angivna tiden och försök sedan igen med rätt lösenord. En administratör
        kan kontrollera kontot i inloggningsloggarna.
    .persists =
        Felet kvarstår så länge någon fortsätter att försöka: användaren själv, en enhet
        eller ett skript med ett gammalt sparat lösenord, eller en angripare som gissar.
        Adresser som kontot har loggat in från tidigare hålls tillbaka för sig, så ett
        angrepp från ett annat håll låser inte ute användaren; bakom en delad proxy eller
        NAT delar dock många användare samma adress.
    .check =
        - Inloggningsloggarna för kontot: varifrån misslyckandena kommer, och om de
          fortsätter.
        - Enheter, e-postprogram och skript som kan använda ett gammalt lösenord.
        - Om misslyckandena kommer via en proxy eller NAT som alla användare delar.

pv3012 =
    .title = Kontot är inaktiverat
    .means =
        Kontot är inaktiverat. Det kan inte logga in, och dess befintliga sessioner, koder
        och uppdateringstoken ger inte längre några token.
    .fix =
        En administratör har inaktiverat kontot ('portvakt user enable' aktiverar det igen).
    .persists =
        Inget som användaren gör kan ändra det: en administratör har inaktiverat kontot,
        direkt eller genom en import med accountEnabled satt till false. Felet kvarstår
        tills en administratör aktiverar kontot igen, och en senare import kan inaktivera
        det på nytt.
    .check =
        - Kontots tillstånd: `portvakt user list --tenant T`.
        - Importfilerna som har tillämpats på klientorganisationen: accountEnabled för
          användaren.
        - För att aktivera det: `portvakt user enable --tenant T UPN`.

## PV31xx: auktoriseringskoder

pv3101 =
    .title = Auktoriseringskoden är okänd eller har gått ut
    .means =
        Auktoriseringskoden är inte en som Portvakt har utfärdat, eller så har den gått ut.
        En kod lever i 60 sekunder och kan lösas in en gång; Portvakt lagrar bara dess hash.
    .fix =
        Koder kan bara användas en gång och gäller i 60 sekunder: lös in koden direkt, och
        bara en gång.
    .persists =
        Felet kvarstår när klienten löser in koden sent (en långsam serverdel, en brytpunkt,
        en kö mellan omdirigeringen och inlösen), när den löser in en kod från en annan
        klientorganisation eller server, eller när koden skadas på vägen (avkortad, eller
        URL-avkodad två gånger).
    .check =
        - Tiden mellan omdirigeringen och inlösen; gör det direkt.
        - Att tokenbegäran går till samma klientorganisation och server som utfärdade koden.
        - Koden som den togs emot i omdirigeringen jämförd med koden som skickas till
          tokenslutpunkten.

pv3102 =
    .title =
        Auktoriseringskoden har redan använts; token som utfärdats från den är återkallade
    .means =
        Koden har lösts in tidigare, och en kod får användas en gång. Eftersom en andra
        användning betyder att koden har läckt eller spelats upp igen, återkallade Portvakt
        också de token som den första inlösen gav (RFC 6749 §4.1.2).
    .fix =
        En kod får lösas in en gång. En andra användning betyder att den har läckt eller att
        klienten försökte igen: starta en ny inloggning.
    .persists =
        Felet kvarstår när klienten försöker lösa in koden igen efter en tidsgräns, när
        omdirigeringssidan laddas två gånger (webbläsarens bakåtknapp, en omladdning,
        förhandshämtning), eller när två delar av programmet båda löser in koden. Vart och
        ett av dessa avbryter också den inloggning som fungerade.
    .check =
        - Om klienten försöker igen med tokenbegäranden automatiskt.
        - Om omdirigeringshanteraren kan köras två gånger för en omdirigering (omladdningar,
          dubbel montering i ett ramverk för gränssnittet).
        - Inloggningsloggarna för kodens klient: två inlösen tätt efter varandra, och från
          vilka adresser.

pv3103 =
    .title = Auktoriseringskoden utfärdades till en annan klient
    .means =
        Koden utfärdades till en annan klient (eller i en annan klientorganisation) än den
        som löser in den. En kod kan bara lösas in av den klient som begärde den.
    .fix = Lös in koden med den klient som begärde den.
    .persists =
        Felet kvarstår när ett programs gränssnitt och serverdel är registrerade som två
        klienter och serverdelen löser in gränssnittets kod med sina egna uppgifter, eller
        när flera miljöer delar en omdirigerings-URI.
    .check =
        - Auktoriseringsbegärans client_id jämfört med klienten som autentiserar sig vid
          tokenslutpunkten (error_description anger båda).
        - Vilket program serverdelens uppgifter hör till: `portvakt app list --tenant T`.
        - Att tokenbegäran går till den klientorganisation som utfärdade koden.

pv3104 =
    .title = redirect_uri stämmer inte med auktoriseringsbegäran
    .means =
        Den redirect_uri som skickas vid inlösen av koden är inte den från
        auktoriseringsbegäran, eller så saknas den fast auktoriseringsbegäran hade en (RFC
        6749 §4.1.3). De två måste vara identiska strängar.
    .fix = Skicka exakt samma redirect_uri som i auktoriseringsbegäran (RFC 6749 §4.1.3).
    .persists =
        Felet kvarstår när klienten räknar fram omdirigerings-URI:n två gånger och
        resultaten skiljer sig: en annan värd bakom en proxy, http mot https, en tillagd
        frågeparameter eller ett avslutande snedstreck.
    .check =
        - Båda värdena: error_description visar dem bredvid varandra.
        - Var klienten hämtar omdirigerings-URI:n för var och en av de två begärandena;
          använd en inställning.
        - Proxyer som ändrar det schema eller den värd som klienten ser.

pv3105 =
    .title = code_verifier stämmer inte med code_challenge
    .means =
        Den code_verifier som skickas vid inlösen av koden stämmer inte med
        auktoriseringsbegärans code_challenge: dess S256-hash skiljer sig, den saknas, den
        är felaktigt utformad (43 till 128 tecken av A-Z a-z 0-9 - . _ ~), eller så hade
        auktoriseringsbegäran ingen utmaning.
    .fix =
        Skicka den code_verifier vars S256-hash skickades som code_challenge i
        auktoriseringsbegäran.
    .persists =
        Felet kvarstår när verifieraren sparas per webbläsarflik eller i minnet och
        försvinner vid omdirigeringen, så att klienten skickar en ny, eller när två
        inloggningar pågår samtidigt och deras verifierare blandas ihop.
    .check =
        - Var klienten sparar code_verifier mellan auktoriseringsbegäran och inlösen
          (sessionslagring, en kaka, serversessionen).
        - Att utmaningen är BASE64URL(SHA-256(verifier)) utan utfyllnad.
        - Parallella inloggningar i flera flikar, där var och en skriver över den sparade
          verifieraren.

## PV32xx: uppdateringstoken

pv3201 =
    .title = Uppdateringstoken är okänd
    .means =
        Portvakt har ingen uppgift om den här uppdateringstoken: den utfärdades aldrig här,
        skadades på vägen, eller hör till en annan server eller databas.
    .fix = Logga in igen för att få en ny uppdateringstoken.
    .persists =
        Felet kvarstår när klienten sparar uppdateringstoken från en miljö och använder dem
        mot en annan, efter att serverns databas har ersatts eller återställts från en äldre
        säkerhetskopia, eller när den sparade token kortas av en storleksgräns i en kolumn
        eller kaka.
    .check =
        - Längden och innehållet i den token som klienten skickar jämfört med den som den
          fick.
        - Att tokenbegäran går till den klientorganisation och server som utfärdade token.
        - Om databasen har återställts eller ersatts sedan token utfärdades.

pv3202 =
    .title = Uppdateringstoken har gått ut
    .means =
        Uppdateringstoken har gått ut: den användes inte på 14 dagar, eller så har
        inloggningen bakom den nått sin längsta livslängd på 90 dagar. Varje rotation
        förlänger tiden för inaktivitet, aldrig den längsta livslängden.
    .fix =
        Uppdateringstoken användes inte på för länge eller nådde sin längsta livslängd;
        logga in igen.
    .persists =
        En uppdatering kan inte förnya en inloggning bortom dess längsta livslängd; det kan
        bara en ny inloggning. Felet kvarstår för klienter som används sällan, eller som
        behåller en gammal token medan en nyare från samma familj sparades någon annanstans.
    .check =
        - error_description: om token var oanvänd för länge eller om inloggningen är för
          gammal.
        - Att klienten sparar den senaste uppdateringstoken efter varje rotation.
        - Att klienten startar en interaktiv inloggning vid invalid_grant.

pv3203 =
    .title = Uppdateringstoken har återkallats
    .means =
        Familjen som uppdateringstoken hör till har återkallats: användaren loggade ut, en
        administratör återkallade användarens sessioner, återanvändning av en roterad token
        upptäcktes, eller användaren finns inte längre. Alla token i familjen slutar fungera
        på en gång.
    .fix =
        Dess sessioner återkallades (av en administratör, vid utloggning eller efter att
        återanvändning upptäckts). Logga in igen.
    .persists =
        Felet kvarstår tills användaren loggar in igen. Om det återkommer direkt efter varje
        ny inloggning är det något som fortsätter att återkalla: ett skript som kör
        `portvakt user revoke-sessions`, en utloggning som utlöses vid varje sidladdning,
        eller återanvändningsskyddet som utlöses av en klient som skickar gamla token
        (PV3204).
    .check =
        - Orsaken i error_description och hur länge sedan återkallningen skedde.
        - Inloggningsloggarna för användaren runt den tiden: utloggningar, PV3204-fel,
          administratörsåtgärder.
        - Kontot: `portvakt user list --tenant T`.

pv3204 =
    .title = En använd uppdateringstoken skickades igen; hela dess familj har återkallats
    .means =
        En uppdateringstoken som redan hade roterats skickades igen, utanför fönstret för
        nya försök. Portvakt kan inte skilja klienten från en tjuv med en kopia, så hela
        familjen återkallades: alla uppdateringstoken och åtkomsttoken från den inloggningen
        (RFC 9700 §4.14).
    .fix =
        Uppdateringstoken roteras: använd den senaste, en gång. En klient som tappat ett
        svar får försöka igen med den använda token bara inom fönstret för nya försök (10 s
        som standard) och innan den token som utfärdades för den har använts
        (docs/refresh-tokens.md). Allt annat betyder att token har kopierats eller spelats
        upp igen; användaren måste logga in igen.
    .persists =
        Felet kvarstår när klienten inte behåller den senaste uppdateringstoken: den sparar
        den nya för sent eller inte alls, flera processer eller flikar uppdaterar med en
        gemensam gammal token, eller en säkerhetskopia av klientens lagring återställs.
        Varje gång avslutas användarens inloggning.
    .check =
        - Att klienten sparar den nya uppdateringstoken från varje svar innan den används,
          och gör uppdateringar en i taget.
        - Inloggningsloggarna för användaren och klienten: vilka adresser som skickade
          token, och när.
        - Fönstret för nya försök (`--refresh-reuse-grace`, 10 s som standard) och
          docs/refresh-tokens.md.

pv3205 =
    .title = Uppdateringstoken användes nyss av en samtidig begäran
    .means =
        Två begäranden skickade samma uppdateringstoken i samma ögonblick, och den andra
        vann rotationen. Den här begäran får inga token, men inget har återkallats: familjen
        är orörd.
    .fix =
        Två uppdateringar krockade; använd token från den som lyckades. Gör uppdateringarna
        en i taget i klienten.
    .persists =
        Felet kvarstår i klienter som uppdaterar från flera ställen samtidigt (parallella
        API-anrop som vart och ett reagerar på ett 401-svar, flera flikar eller
        arbetsprocesser). Förr eller senare skickar en sådan klient den äldre token efter
        fönstret och utlöser återanvändningsskyddet (PV3204).
    .check =
        - Om klienten uppdaterar parallellt; låt uppdateringarna gå en i taget bakom ett lås
          eller ett gemensamt löfte.
        - Att begäran som förlorade väntar på vinnarens token och använder dem.
        - Inloggningsloggarna: uppdateringar från samma klient för samma användare inom
          millisekunder.

pv3206 =
    .title = Uppdateringstoken utfärdades till en annan klient
    .means =
        Uppdateringstoken utfärdades till en annan klient (eller i en annan
        klientorganisation) än den som skickar den. En uppdateringstoken är bunden till sin
        klient.
    .fix = Använd uppdateringstoken bara med den klient som den utfärdades till.
    .persists =
        Felet kvarstår när flera program delar en lagring av token, eller när ett program
        har ersatts av en ny registrering men behöll den gamlas uppdateringstoken.
    .check =
        - Klienten i error_description jämfört med klienten som autentiserar sig nu.
        - Hur klienten sparar uppdateringstoken: med klient och klientorganisation som
          nyckel.
        - Om programmets klient-id har ändrats nyligen.

pv3207 =
    .title = En uppdatering kan inte lägga till omfång
    .means =
        Uppdateringsbegäran ber om ett omfång som den ursprungliga inloggningen inte
        beviljade. En uppdatering kan behålla eller minska omfången (RFC 6749 §6), aldrig
        utöka dem, eftersom användaren bara gav sitt medgivande till det som begärdes då.
    .fix =
        Begär de ursprungliga omfången eller färre (RFC 6749 §6); nya omfång kräver en ny
        inloggning.
    .persists =
        Felet kvarstår efter att ett program har lagt till ett omfång: befintliga
        uppdateringstoken har fortfarande det gamla beviljandet, så varje uppdatering som
        begär det nya omfånget misslyckas tills användaren loggar in igen.
    .check =
        - De begärda omfången jämfört med de beviljade (error_description listar dem).
        - Att programmet startar en interaktiv inloggning när det behöver ett nytt omfång.
        - Om uppdateringen borde utelämna scope, vilket behåller det ursprungliga
          beviljandet.

## PV33xx: användartoken

pv3301 =
    .title = Åtkomsttoken är inte giltig för den här slutpunkten
    .means =
        Slutpunkten userinfo nekade åtkomsttoken: den har gått ut eller återkallats, kommer
        från en annan utfärdare, eller har inte beviljats omfånget openid för en inloggad
        användare (en token från flödet med klientautentiseringsuppgifter har ingen
        användare).
    .fix =
        Skicka en aktuell åtkomsttoken från den här utfärdaren som har beviljats omfånget
        'openid'.
    .persists =
        Felet kvarstår när klienten anropar userinfo med en token för ett API (begärd utan
        openid), eller med en token från flödet med klientautentiseringsuppgifter. En ny
        token av samma slag misslyckas på samma sätt.
    .check =
        - Orsaken i error_description och i rubriken WWW-Authenticate.
        - Tokenens scope, sub och exp: `portvakt token decode TOKEN`.
        - Att inloggningen begärde openid, och att klienten skickar den inloggningens
          åtkomsttoken.

## PV34xx: inloggning på en enhet

pv3401 =
    .title = Användaren har inte loggat klart på den andra enheten
    .means =
        Enheten frågar efter sina token, och användaren har ännu inte angett koden och
        godkänt inloggningen på verifieringssidan. Det här är det vanliga svaret medan
        användaren håller på; det är inget fel.
    .fix = Fortsätt att fråga med det angivna intervallet (RFC 8628 §3.5).
    .persists =
        Det fortsätter tills användaren är klar eller enhetskoden går ut efter 10 minuter.
        Om det aldrig tar slut når användaren inte sidan: verifierings-URI:n som visas på
        enheten är fel eller kan inte nås från användarens telefon eller dator, eller så
        godkände användaren en annan kod.
    .check =
        - Att enheten fortsätter att fråga med det intervall den fick och slutar vid alla
          andra svar.
        - Att verifierings-URI:n som visas på enheten går att öppna från användarens nätverk
          (`{"{issuer}"}/device`).
        - Inloggningsloggarna: om användaren kom till kodsidan, och med vilken kod.

pv3402 =
    .title = Frågar för ofta
    .means =
        Enheten frågar oftare än det intervall den fick (5 sekunder från början). RFC 8628
        §3.5 säger att intervallet ska ökas med 5 sekunder vid varje slow_down och behållas
        resten av flödet.
    .fix = Öka intervallet mellan frågorna med 5 sekunder (RFC 8628 §3.5).
    .persists =
        Felet kvarstår när enheten struntar i intervallet från svaret på
        enhetsauktoriseringen, nollställer det efter varje svar, eller när flera kopior av
        klienten frågar efter samma enhetskod.
    .check =
        - Intervallet som enheten väntar mellan frågorna, och att det ökar med 5 sekunder
          vid slow_down.
        - Att bara en process frågar efter varje enhetskod.
        - Klientbibliotekets implementering av enhetsflödet, om intervallet inte styrs av
          dig.

pv3403 =
    .title = Enhetskoden har gått ut
    .means =
        Enhetskoden har gått ut: användaren blev inte klar inom 10 minuter från
        enhetsauktoriseringen. Enheten måste börja om och visa en ny kod.
    .fix = Starta enhetsflödet igen.
    .persists =
        Felet kvarstår när användarna behöver längre tid än livslängden, till exempel för
        att koden är svår att hitta eller skriva, eller för att enheten bara visar koden en
        kort stund. Det händer också när enheten fortsätter att fråga efter en gammal kod
        efter att ha startat ett nytt flöde.
    .check =
        - Att enheten visar koden och verifierings-URI:n tydligt tills den får ett svar.
        - Att enheten frågar efter enhetskoden från sitt senaste flöde.
        - Inloggningsloggarna: om användaren alls kom till verifieringssidan.

pv3404 =
    .title = Användaren nekade inloggningen på enheten
    .means =
        Användaren angav koden och nekade sedan inloggningen på enheten, så enheten får
        access_denied och inga token.
    .fix = Starta enhetsflödet igen om det var ett misstag.
    .persists =
        Användare uppmanas att neka när de inte själva har startat inloggningen. Upprepade
        nekanden kan betyda att någon skickar koder till användare för att komma åt deras
        konton (nätfiske med enhetskoder).
    .check =
        - Om användaren kände igen enheten och koden.
        - Inloggningsloggarna: enhetsauktoriseringar från ovanliga adresser, och vilka
          användare som tillfrågades.
        - Om det var ett misstag: starta enhetsflödet igen på enheten.

pv3405 =
    .title = Koden är okänd eller har gått ut
    .means =
        Koden som skrevs in på verifieringssidan är inte en som väntar på godkännande: den
        är felskriven, har gått ut, har redan använts eller kommer från en annan
        klientorganisations enhetsflöde.
    .fix = Kontrollera koden som visas på enheten, eller starta enhetsflödet igen.
    .persists =
        Felet kvarstår när användare hoppar över eller kastar om en bokstav, skriver koden
        på en annan klientorganisations enhetssida, eller använder en kod som gick ut medan
        de letade efter sidan. Efter fem felaktiga koder från en adress fördröjs inmatningen
        (PV3407).
    .check =
        - Koden på enheten, inskriven igen med omsorg: åtta bokstäver utan vokaler; versaler
          och bindestreck spelar ingen roll.
        - Att verifieringssidan är den för klientorganisationen som enheten använder.
        - Att enheten fortfarande visar koden och inte har börjat om.

pv3406 =
    .title = Enhetskoden är okänd eller har redan använts
    .means =
        Enhetskoden som skickades till tokenslutpunkten är okänd, utfärdades till en annan
        klient eller har redan lösts in mot token. En enhetskod ger token en gång.
    .fix = Starta enhetsflödet igen; en enhetskod ger token en gång.
    .persists =
        Felet kvarstår när enheten fortsätter att fråga efter att den har fått token, när
        två processer frågar med samma kod, eller när koden skickas av en annan klient än
        den som startade flödet. Det händer också när användarens konto inte längre finns.
    .check =
        - Att enheten slutar fråga när den har fått token.
        - Att klienten som frågar är den som gjorde begäran om enhetsauktorisering.
        - error_description: okänd, redan använd eller utfärdad till en annan klient.

pv3407 =
    .title = För många felaktiga enhetskoder från den här adressen; försök igen senare
    .means =
        För många felaktiga koder (fem) har skrivits in på verifieringssidan från den här
        adressen, så nya försök får vänta. Det hindrar någon från att gissa koderna för
        andras enheter (RFC 8628 §5.1).
    .fix =
        Vänta den angivna tiden och skriv sedan noga in koden som visas på enheten.
        Upprepade felaktiga koder från en adress fördröjs (RFC 8628 §5.1).
    .persists =
        Felet kvarstår så länge felaktiga koder fortsätter att komma från adressen. Bakom en
        proxy eller NAT delar användarna adress, så en persons misstag kan fördröja andra;
        en angripare som gissar koder behandlas på samma sätt.
    .check =
        - Koden på enheten, inskriven en gång, noggrant, efter väntetiden.
        - Inloggningsloggarna: hur många felaktiga koder som kom från adressen, och om de
          fortsätter.
        - Om många användare når Portvakt via en och samma proxy eller NAT.

## PV40xx: villkorsstyrd åtkomst och MFA

pv4001 =
    .title = En princip för villkorsstyrd åtkomst blockerar den här inloggningen
    .means =
        En aktiverad princip för villkorsstyrd åtkomst vars beviljandekontroll är block
        gäller för den här inloggningen: för den här användaren (eller det här programmet),
        för det här programmet eller den här resursen, under de här villkoren (adress,
        plattform, klienttyp, flöde). Blockering går före alla andra kontroller.
    .fix =
        Beskrivningen anger principen och dess id. Inget som användaren gör hjälper: det är
        en administratör som bestämmer. Jämför principens villkor med inloggningsposten
        (portalen: Inloggningsloggar → Villkorsstyrd åtkomst; 'portvakt diagnose
        --correlation-id ID'), och undanta sedan kontot eller en grupp det tillhör, snäva in
        villkoren, eller sätt principen till endast rapport ('portvakt policy set-state
        --tenant T ID enabledForReportingButNotEnforced').
    .persists =
        Att logga in igen, uppdatera token eller byta lösenord ändrar ingenting, eftersom
        principen avgör utifrån vem, var och vad, inte hur användaren autentiserade sig.
        Felet kvarstår tills principens villkor inte längre stämmer: användaren undantas,
        villkoren snävas in, eller principen sätts till endast rapport eller stängs av.
    .check =
        - Principen som anges i error_description, och dess villkor jämförda med den här
          inloggningen: `portvakt policy list --tenant T`.
        - Inloggningsposten: vilka principer som tillämpades och vilka villkor som stämde
          (portalen: Inloggningsloggar → Villkorsstyrd åtkomst; `portvakt diagnose
          --correlation-id ID`).
        - What-If: POST `/admin/v1/tenants/T/identity/conditionalAccess/evaluate` med
          inloggningens användare, program och adress.
        - Namngivna platser: om adressen hamnar i en plats som principen omfattar eller inte
          undantar.

pv4002 =
    .title = En princip för villkorsstyrd åtkomst kräver multifaktorautentisering
    .means =
        En princip för villkorsstyrd åtkomst kräver multifaktorautentisering för den här
        inloggningen, och sessionen har ingen. Vid en interaktiv inloggning ber Portvakt om
        koden från autentiseringsappen; en uppdateringstoken, klientautentiseringsuppgifter
        eller en tyst begäran kan inte svara, så programmet får interaction_required.
    .fix =
        Logga in igen interaktivt och slutför MFA: programmet måste starta en ny
        auktoriseringsbegäran (MSAL: acquire_token_interactive; en webbapp: omdirigera till
        /authorize). En användare utan autentiseringsapp registrerar en under den
        inloggningen. En uppdateringstoken kan inte uppfylla MFA på egen hand.
    .persists =
        Felet kvarstår när programmet fortsätter att uppdatera eller försöka tyst i stället
        för att starta en interaktiv inloggning, eftersom en uppdateringstoken aldrig kan
        uppfylla MFA på egen hand. Det kvarstår också när principens inloggningsfrekvens
        kräver MFA igen efter en tid, eller när användaren inte kan slutföra MFA (ingen
        autentiseringsapp, en telefon med fel klocka).
    .check =
        - Att programmet startar en interaktiv inloggning vid interaction_required (MSAL:
          acquire_token_interactive; en webbapp: omdirigera till /authorize).
        - Principen som kräver MFA och dess inloggningsfrekvens: `portvakt policy list
          --tenant T`.
        - Inloggningsposten för korrelations-id:t: om MFA efterfrågades och om användaren
          slutförde den.

pv4003 =
    .title =
        Inloggningsfrekvensen i en princip för villkorsstyrd åtkomst kräver att du loggar in
        igen
    .means =
        En princip för villkorsstyrd åtkomst anger en inloggningsfrekvens, och användarens
        senaste interaktiva inloggning är äldre än den tillåter. Användaren måste logga in
        igen via inloggningssidan; att uppdatera token nollställer inte frekvensen.
    .fix =
        Sessionen är äldre än principens inloggningsfrekvens: logga in igen interaktivt (en
        ny auktoriseringsbegäran med inloggningssidan). Att uppdatera token nollställer inte
        frekvensen; det gör bara en interaktiv inloggning.
    .persists =
        Felet återkommer varje gång frekvensen har löpt ut, och det är avsikten. Det
        kvarstår i all oändlighet när programmet svarar på interaction_required genom att
        uppdatera igen, eller när frekvensen är everyTime, som kräver en ny inloggning (inom
        fem minuter) vid varje tokenbegäran.
    .check =
        - Principens signInFrequency: `portvakt policy list --tenant T`.
        - Att programmet startar en interaktiv inloggning vid interaction_required.
        - Sessionens auth_time i inloggningsposten, jämförd med frekvensen.

pv4004 =
    .title = En princip för villkorsstyrd åtkomst kräver att lösenordet byts
    .means =
        En princip för villkorsstyrd åtkomst kräver att användaren byter lösenord innan
        inloggningen kan fortsätta. Inloggningssidan ber om ett nytt lösenord efter det
        nuvarande; en uppdatering eller en tyst begäran kan inte det, så programmet får
        interaction_required.
    .fix =
        Logga in igen interaktivt: efter lösenordet ber inloggningssidan om ett nytt. Att
        uppdatera token kan inte uppfylla kravet.
    .persists =
        Felet kvarstår så länge programmet inte startar en interaktiv inloggning, eller när
        användaren avbryter bytet. När lösenordet har bytts efter att principens villkor
        uppfylldes är kontrollen uppfylld.
    .check =
        - Att programmet startar en interaktiv inloggning vid interaction_required.
        - Principen som kräver passwordChange och dess villkor: `portvakt policy list
          --tenant T`.
        - Inloggningsposten: om det nya lösenordet sattes.

pv4005 =
    .title =
        En princip för villkorsstyrd åtkomst kräver en kontroll som Portvakt inte kan
        uppfylla
    .means =
        En princip för villkorsstyrd åtkomst som gäller för den här inloggningen kräver en
        kontroll som Portvakt ännu inte har: en kompatibel eller domänansluten enhet, en
        godkänd eller kompatibel app, användningsvillkor, eller en annan
        autentiseringsstyrka än multifaktorautentisering. I stället för att släppa igenom
        inloggningen utan den nekar Portvakt (stänger vid fel).
    .fix =
        Principen kräver en kontroll som Portvakt ännu inte har (en kompatibel eller
        domänansluten enhet, en godkänd app, användningsvillkor, en annan
        autentiseringsstyrka än multifaktorautentisering), så åtkomst nekas i stället för
        att beviljas utan den. Ändra principens beviljandekontroller (till exempel till
        mfa), undanta kontot, eller sätt principen till endast rapport.
    .persists =
        Inget som användaren gör kan uppfylla kontrollen, så felet kvarstår för varje
        inloggning som principen omfattar. Det är vanligt efter att principer har
        importerats från Microsoft Entra ID som skrevs för hanterade enheter.
    .check =
        - Principen och kontrollen som anges i error_description: `portvakt policy list
          --tenant T`.
        - Om principen borde kräva mfa i stället, undanta kontot eller sättas till endast
          rapport.
        - Inloggningsposten: principen och kontrollen som stängde vid fel.

pv4006 =
    .title =
        Principen för villkorsstyrd åtkomst eller den namngivna platsen är ogiltig; inget
        ändrades
    .means =
        En princip för villkorsstyrd åtkomst eller en namngiven plats som skickades till
        administrations-API:t nekades, och inget sparades. Portvakt läser Microsoft Graphs
        JSON, nekar alla funktioner som den inte har i stället för att strunta i dem, och
        kräver att varje hänvisning (användare, grupp, roll, program, namngiven plats) finns
        i klientorganisationen. error_description anger JSON-sökvägen och vad du ska göra.
    .fix =
        Rätta fältet på den JSON-sökväg som anges i beskrivningen. Portvakt nekar alla
        Graph-funktioner som den inte har i stället för att strunta i dem, och varje
        hänvisning (användare, grupp, roll, program, namngiven plats) måste finnas i
        klientorganisationen.
    .persists =
        En princip som exporterats från Microsoft Entra ID anger ofta objekt med id:n som
        inte finns i Portvakt, eller använder funktioner som Portvakt saknar (risknivåer,
        enhetsfilter); samma fil misslyckas tills varje sökväg är rättad. Hänvisningarna
        måste gå att slå upp, så att ett undantag aldrig i tysthet matchar ingen.
    .check =
        - Varje JSON-sökväg i error_description.
        - Användarna, grupperna, rollerna och programmen som principen anger: `portvakt user
          list --tenant T`, `portvakt group list --tenant T`, `portvakt app list --tenant
          T`.
        - Funktionerna som Portvakt har, och dem som den nekar, i
          docs/design/conditional-access.md.

pv4007 =
    .title = Klientorganisationens principer för villkorsstyrd åtkomst kan inte utvärderas
    .means =
        Klientorganisationens lagrade principer för villkorsstyrd åtkomst kan inte längre
        utvärderas, oftast för att en av dem anger en användare, grupp, roll, ett program
        eller en namngiven plats som sedan har tagits bort. Inloggningar som principerna
        skulle omfatta stänger vid fel i stället för att hoppa över dem.
    .fix =
        En lagrad princip går inte längre att slå upp (den anger till exempel något som har
        tagits bort), så inloggningar stänger vid fel i stället för att hoppa över
        principen. Serverloggen anger principen och sökvägen; rätta eller ta bort principen
        ('portvakt policy list --tenant T').
    .persists =
        Felet påverkar varje inloggning i klientorganisationen tills principen rättas eller
        tas bort; att försöka igen hjälper inte. Det börjar ofta direkt efter att en import
        eller borttagning tog bort ett objekt som en princip fortfarande anger.
    .check =
        - Serverloggen för korrelations-id:t: den anger principen och sökvägen som inte
          längre går att slå upp.
        - Principerna: `portvakt policy list --tenant T`; rätta hänvisningen eller ta bort
          principen.
        - Nyliga importer och borttagningar i klientorganisationen.

pv4008 =
    .title = Verifieringskoden är fel eller har redan använts
    .means =
        Den sexsiffriga koden från autentiseringsappen är fel, för gammal eller har redan
        använts. En kod byts var 30:e sekund och fungerar en gång.
    .fix =
        Skriv in den aktuella sexsiffriga koden från autentiseringsappen (den byts var 30:e
        sekund; varje kod fungerar en gång). Om koder alltid nekas, kontrollera att
        telefonens klocka ställs automatiskt; en administratör kan återställa användarens
        MFA ('portvakt user reset-mfa').
    .persists =
        Om koder alltid nekas går telefonens klocka troligen fel: TOTP-koder räknas fram
        från tiden, så en telefon vars klocka ställts för hand kommer i otakt. Felet
        kvarstår också när användaren läser av koden för ett annat konto i appen, eller när
        autentiseringsappen har registrerats på nytt och en gammal post används.
    .check =
        - Att telefonen ställer sin tid automatiskt.
        - Att posten som används i appen är den för det här Portvakt-kontot (utfärdaren och
          kontonamnet som visas bredvid koden).
        - Om autentiseringsappen har tappats bort eller är i otakt: en administratör
          återställer användarens MFA (`portvakt user reset-mfa`), och användaren
          registrerar sig igen vid nästa inloggning.

pv4009 =
    .title = För många felaktiga verifieringskoder; försök igen senare
    .means =
        För många felaktiga verifieringskoder har angetts, så nya försök får vänta.
        Väntetiden hindrar någon från att gissa de sex siffrorna.
    .fix =
        Vänta den angivna tiden och skriv sedan in den aktuella koden från
        autentiseringsappen.
    .persists =
        Felet kvarstår så länge felaktiga koder fortsätter att komma, oftast för att
        telefonens klocka går fel eller fel post i appen används; att bara vänta löser inte
        det.
    .check =
        - Att telefonen ställer sin tid automatiskt, och att rätt post i appen används.
        - Inloggningsloggarna för kontot: hur många felaktiga koder, och från vilka
          adresser.
        - Om inga koder alls kan tas fram: `portvakt user reset-mfa`, av en administratör.

pv4010 =
    .title = Ingen sådan princip för villkorsstyrd åtkomst eller namngiven plats
    .means =
        Det finns ingen princip för villkorsstyrd åtkomst eller namngiven plats med det här
        id:t i klientorganisationen.
    .fix =
        Kontrollera id:t ('portvakt policy list --tenant T' eller GET
        …/identity/conditionalAccess/policies).
    .persists =
        En princip behåller det id den importerades med, eller får ett om den saknar id, så
        ett id som kopierats från en annan klientorganisation eller miljö (eller från
        Microsoft Entra ID, för en princip som skapats här utan det) finns inte här. En
        princip som har tagits bort och skapats igen har ett nytt id.
    .check =
        - Principerna och deras id:n: `portvakt policy list --tenant T`, eller GET
          `/admin/v1/tenants/T/identity/conditionalAccess/policies`.
        - De namngivna platserna: GET
          `/admin/v1/tenants/T/identity/conditionalAccess/namedLocations`.
        - Klientorganisationen i sökvägen.
