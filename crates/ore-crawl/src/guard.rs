//! The SSRF guard: by default a crawl of public sites does not follow links
//! to loopback, private, link-local or otherwise non-public addresses.

use std::collections::HashSet;
use std::net::IpAddr;

use url::{Host, Url};

/// Whether an address is one a public web page may send us to.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // shared address space
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xff00) == 0xff00) // multicast
        }
    }
}

/// Refuses URLs whose host is, or resolves to, a non-public address.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow_private: bool,
    /// Hosts classified as public whatever their address (tests only:
    /// they simulate a public site on 127.0.0.1).
    public_hosts: HashSet<String>,
}

impl Guard {
    pub fn new(allow_private: bool, public_hosts: HashSet<String>) -> Self {
        Self {
            allow_private,
            public_hosts,
        }
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Whether the URL's host is public, resolving names through DNS only
    /// when the host is not an address literal.
    pub async fn is_public(&self, url: &Url) -> Result<bool, String> {
        let Some(host) = url.host() else {
            return Err("URL has no host".into());
        };
        if url
            .host_str()
            .is_some_and(|h| self.public_hosts.contains(h))
        {
            return Ok(true);
        }
        match host {
            Host::Ipv4(ip) => Ok(is_public_ip(IpAddr::V4(ip))),
            Host::Ipv6(ip) => Ok(is_public_ip(IpAddr::V6(ip))),
            Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    return Ok(false);
                }
                let port = url.port_or_known_default().unwrap_or(80);
                let addrs = tokio::net::lookup_host((name.as_str(), port))
                    .await
                    .map_err(|e| format!("cannot resolve {name}: {e}"))?;
                let mut any = false;
                for addr in addrs {
                    any = true;
                    if !is_public_ip(addr.ip()) {
                        return Ok(false);
                    }
                }
                Ok(any)
            }
        }
    }

    /// `Err(detail)` when the URL must not be fetched.
    pub async fn check(&self, url: &Url) -> Result<(), String> {
        if self.allow_private {
            return Ok(());
        }
        match self.is_public(url).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "{} is a loopback, private or link-local address",
                url.host_str().unwrap_or("")
            )),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public_ip(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public_ip(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn refuses_literals_and_localhost_without_connecting() {
        let guard = Guard::new(false, HashSet::new());
        for u in [
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://localhost/",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            assert!(guard.check(&Url::parse(u).unwrap()).await.is_err(), "{u}");
        }
        let open = Guard::new(true, HashSet::new());
        assert!(
            open.check(&Url::parse("http://127.0.0.1/").unwrap())
                .await
                .is_ok()
        );
    }
}
