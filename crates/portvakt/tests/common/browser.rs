//! A minimal browser for the sign-in pages: keeps cookies, never follows redirects,
//! reads hidden form fields.

use std::collections::HashMap;

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    /// The Content-Security-Policy header, if any.
    pub csp: Option<String>,
}

impl Page {
    /// The parameters of the redirect's query.
    pub fn redirect_params(&self) -> HashMap<String, String> {
        let loc = self.location.as_deref().expect("a redirect");
        let q = loc.split_once('?').map(|(_, q)| q).unwrap_or("");
        form_urlencoded_parse(q)
    }
    /// The value of a hidden input.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let i = self.body.find(&needle)? + needle.len();
        let j = self.body[i..].find('"')? + i;
        Some(self.body[i..j].to_string())
    }
}

pub fn form_urlencoded_parse(q: &str) -> HashMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| percent_decode(&s.replace('+', " "));
            (dec(k), dec(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct Browser {
    http: reqwest::Client,
    pub cookies: HashMap<String, String>,
    pub accept_language: Option<String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self::from_address(None)
    }

    /// A browser whose connections come from `local` (e.g. 127.0.0.2: every 127/8
    /// address is this host), to look like another network location.
    pub fn from_address(local: Option<std::net::IpAddr>) -> Self {
        let http = portvakt_guard::http::builder()
            .expect("TLS")
            .redirect(reqwest::redirect::Policy::none())
            .local_address(local)
            .build()
            .expect("client");
        Self {
            http,
            cookies: HashMap::new(),
            accept_language: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, res: reqwest::Response) -> Page {
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().expect("ascii");
            let pair = c.split(';').next().expect("pair");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("ascii").to_string());
        let csp = res
            .headers()
            .get("content-security-policy")
            .map(|v| v.to_str().expect("ascii").to_string());
        let body = res.text().await.expect("body");
        Page {
            status,
            location,
            body,
            csp,
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let mut req = self.http.get(url).header("cookie", self.cookie_header());
        if let Some(l) = &self.accept_language {
            req = req.header("accept-language", l);
        }
        let res = req.send().await.expect("send");
        self.finish(res).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .expect("send");
        self.finish(res).await
    }
}
