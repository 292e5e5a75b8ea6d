//! Where a webhook may be sent. The server posts to URLs its users type, from inside its own
//! network, so an unchecked URL would make it a scanner of that network (or a reader of a cloud's
//! metadata service at 169.254.169.254). A URL is checked when it is registered and its resolved
//! addresses again at every send ([`GuardedResolver`]), since a name can point elsewhere later.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use reqwest::{
    dns::{Addrs, Name, Resolve, Resolving},
    Url,
};

/// Why a URL is refused as a webhook target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL.
    #[error("not a URL: {0}")]
    Malformed(String),
    /// Not http or https.
    #[error("only http and https URLs can receive webhooks")]
    Scheme,
    /// User name or password in the URL.
    #[error("a webhook URL may not carry credentials")]
    Credentials,
    /// No host.
    #[error("the URL has no host")]
    NoHost,
    /// The host does not resolve.
    #[error("{0} does not resolve")]
    Unresolved(String),
    /// The host is (or resolves to) an address of the server's own networks.
    #[error("{0} is a loopback, private, link-local or unspecified address; webhooks go to public addresses only")]
    Private(IpAddr),
}

/// Whether `ip` is one a webhook must not reach: loopback, private (RFC 1918, unique local),
/// link-local (the metadata service), unspecified, shared (CGNAT), broadcast or documentation
/// ranges, and IPv4 mapped into IPv6 the same.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || a >= 224
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Checks `url`'s form (http or https, a host, no credentials) and, unless `allow_private`, that
/// its host is no forbidden address; a name is resolved and every address checked.
pub async fn check(url: &str, allow_private: bool) -> Result<Url, TargetError> {
    let parsed = check_form(url)?;
    if allow_private {
        return Ok(parsed);
    }
    let host = parsed.host_str().ok_or(TargetError::NoHost)?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match literal(&parsed) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| TargetError::Unresolved(host.clone()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(TargetError::Unresolved(host));
    }
    match addrs.iter().find(|a| is_forbidden(a.ip())) {
        Some(a) => Err(TargetError::Private(a.ip())),
        None => Ok(parsed),
    }
}

/// The form checks alone (no resolution).
pub fn check_form(url: &str) -> Result<Url, TargetError> {
    let parsed = Url::parse(url).map_err(|e| TargetError::Malformed(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Credentials);
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(TargetError::NoHost);
    }
    Ok(parsed)
}

/// The URL's host if it is an IP address (reqwest connects to those without resolving).
pub fn literal(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// A resolver for the dispatcher's HTTP client that refuses names resolving to a forbidden
/// address, so what is checked is what is connected to (no second lookup to rebind).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver;

impl GuardedResolver {
    pub(crate) fn shared() -> Arc<Self> {
        Arc::new(Self)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
                return Err(Box::new(TargetError::Private(bad.ip())) as _);
            }
            if addrs.is_empty() {
                return Err(Box::new(TargetError::Unresolved(host)) as _);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_internal_targets_and_odd_urls() {
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.1/",
            "http://0.0.0.0/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fe80::1]/",
            "http://localhost/",
        ] {
            assert!(matches!(check(url, false).await, Err(TargetError::Private(_))), "{url}");
        }
        assert_eq!(check("ftp://example.com/", false).await, Err(TargetError::Scheme));
        assert_eq!(check("http://u:p@example.com/", true).await, Err(TargetError::Credentials));
        assert!(matches!(check("not a url", true).await, Err(TargetError::Malformed(_))));
        assert!(check("http://127.0.0.1:8080/hook", true).await.is_ok());
        assert!(check("https://93.184.215.14/hook", false).await.is_ok());
    }
}
