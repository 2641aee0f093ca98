//! Client settings from a URL, as users of other mail libraries write them.

use smtp_proto::wire::sasl::Credentials;

use crate::options::{ClientOptions, Security};

/// Why a URL was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `smtp`, `smtps` or `lmtp`.
    #[error("unknown scheme {0:?} (smtp, smtps or lmtp)")]
    Scheme(String),
    /// No host, or a host or port that cannot be read.
    #[error("bad host or port in the URL")]
    Authority,
    /// A `%` escape that is not two hex digits, or not UTF-8 once decoded.
    #[error("bad percent-encoding in the URL")]
    Encoding,
    /// A query parameter that is not known, or a value it cannot take.
    #[error("unknown URL parameter {0:?}")]
    Parameter(String),
}

fn percent_decode(s: &str) -> Result<String, UrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(UrlError::Encoding)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| UrlError::Encoding)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| UrlError::Encoding)
}

/// See [`ClientOptions::from_url`].
pub(crate) fn parse(url: &str) -> Result<ClientOptions, UrlError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| UrlError::Scheme(url.into()))?;
    let (mut security, port, lmtp) = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => (Security::StartTlsOpportunistic, 25, false),
        "smtps" => (Security::ImplicitTls, 465, false),
        "lmtp" => (Security::StartTlsOpportunistic, 24, true),
        other => return Err(UrlError::Scheme(other.into())),
    };
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let authority = authority.trim_end_matches('/');
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(UrlError::Authority)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| UrlError::Authority)?,
            None if after.is_empty() => port,
            None => return Err(UrlError::Authority),
        };
        (host.to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| UrlError::Authority)?),
            None => (hostport.to_string(), port),
        }
    };
    if host.is_empty() {
        return Err(UrlError::Authority);
    }
    let mut options = ClientOptions::new(&host, port);
    let (mut user, mut secret) = (None, None);
    if let Some(userinfo) = userinfo {
        let (u, p) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        user = Some(percent_decode(u)?);
        secret = Some(percent_decode(p)?);
    }
    let mut bearer = false;
    for pair in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value)?;
        match (key, value.as_str()) {
            ("tls", "required") if security != Security::ImplicitTls => {
                security = Security::StartTlsRequired
            }
            ("tls", "opportunistic") if security != Security::ImplicitTls => {
                security = Security::StartTlsOpportunistic
            }
            ("tls", "none") if security != Security::ImplicitTls => security = Security::Plain,
            ("tls", "implicit") => security = Security::ImplicitTls,
            ("auth", "xoauth2" | "oauthbearer") => bearer = true,
            ("auth", "password") => bearer = false,
            ("helo", name) if !name.is_empty() => options.hello_name = name.to_string(),
            _ => return Err(UrlError::Parameter(pair.to_string())),
        }
    }
    options.security = security;
    options.lmtp = lmtp;
    if let (Some(user), Some(secret)) = (user, secret) {
        options.credentials = Some(if bearer {
            Credentials::Bearer {
                user: Some(user),
                token: secret,
            }
        } else {
            Credentials::password(user, secret)
        });
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submission_with_starttls() {
        let o =
            parse("smtp://me%40example.com:s3cr%3At@smtp.example.com:587?tls=required").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("smtp.example.com", 587));
        assert_eq!(o.security, Security::StartTlsRequired);
        assert_eq!(
            o.credentials,
            Some(Credentials::password("me@example.com", "s3cr:t"))
        );
    }

    #[test]
    fn defaults_per_scheme() {
        let o = parse("smtps://u:p@mail.example:465").unwrap();
        assert_eq!((o.security, o.port), (Security::ImplicitTls, 465));
        let o = parse("smtps://mail.example").unwrap();
        assert_eq!(
            (o.security, o.port, o.credentials),
            (Security::ImplicitTls, 465, None)
        );
        let o = parse("smtp://mail.example/").unwrap();
        assert_eq!((o.security, o.port), (Security::StartTlsOpportunistic, 25));
        let o = parse("lmtp://[::1]:2424?tls=none").unwrap();
        assert_eq!(
            (o.host.as_str(), o.port, o.security, o.lmtp),
            ("::1", 2424, Security::Plain, true)
        );
    }

    /// Mutation-testing finds: an IPv6 host without a port, junk after the
    /// bracket, `tls=implicit`, `auth=password`, and implicit TLS that no
    /// parameter can turn into STARTTLS.
    #[test]
    fn less_common_forms() {
        let o = parse("smtp://[::1]").unwrap();
        assert_eq!((o.host.as_str(), o.port), ("::1", 25));
        assert_eq!(parse("smtp://[::1]x").unwrap_err(), UrlError::Authority);
        assert_eq!(parse("smtp://[::1").unwrap_err(), UrlError::Authority);
        let o = parse("smtp://h:587?tls=implicit").unwrap();
        assert_eq!(o.security, Security::ImplicitTls);
        let o = parse("smtp://u:t@h?auth=xoauth2&auth=password&helo=me.example").unwrap();
        assert_eq!(o.credentials, Some(Credentials::password("u", "t")));
        assert_eq!(o.hello_name, "me.example");
        for p in ["tls=required", "tls=opportunistic"] {
            assert_eq!(
                parse(&format!("smtps://h?{p}")).unwrap_err(),
                UrlError::Parameter(p.into())
            );
        }
        let o = parse("smtp://h?tls=opportunistic").unwrap();
        assert_eq!(o.security, Security::StartTlsOpportunistic);
        assert_eq!(
            parse("smtp://u:%41%42@h").unwrap().credentials,
            Some(Credentials::password("u", "AB"))
        );
        assert_eq!(parse("smtp://u:%4@h").unwrap_err(), UrlError::Encoding);
        assert_eq!(
            parse("smtp://h?helo=").unwrap_err(),
            UrlError::Parameter("helo=".into())
        );
    }

    #[test]
    fn oauth_token() {
        let o =
            parse("smtp://me%40gmail.com:ya29.tok@smtp.gmail.com:587?tls=required&auth=xoauth2")
                .unwrap();
        assert_eq!(
            o.credentials,
            Some(Credentials::Bearer {
                user: Some("me@gmail.com".into()),
                token: "ya29.tok".into()
            })
        );
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert_eq!(
            parse("http://x").unwrap_err(),
            UrlError::Scheme("http".into())
        );
        assert_eq!(parse("smtp://:25").unwrap_err(), UrlError::Authority);
        assert_eq!(parse("smtp://h:port").unwrap_err(), UrlError::Authority);
        assert_eq!(parse("smtp://u:%zz@h").unwrap_err(), UrlError::Encoding);
        assert_eq!(
            parse("smtp://h?tls=maybe").unwrap_err(),
            UrlError::Parameter("tls=maybe".into())
        );
        // Implicit TLS cannot be downgraded by a parameter.
        assert_eq!(
            parse("smtps://h?tls=none").unwrap_err(),
            UrlError::Parameter("tls=none".into())
        );
    }
}
