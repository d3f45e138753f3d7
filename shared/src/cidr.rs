//! Address ranges (`address/prefix`), as the webhook's optional source allow-list names them
//! (`WEBHOOK_ALLOWED_CIDRS`): read by the configuration, applied by the HTTP edge.

use std::net::IpAddr;

/// One `address/prefix` range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (addr, prefix) = s.trim().split_once('/').unwrap_or((s.trim(), ""));
        let network: IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an address/prefix range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() { max } else { prefix.parse().map_err(|_| format!("{s:?}: bad prefix"))? };
        if prefix > max {
            return Err(format!("{s:?}: prefix over {max}"));
        }
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u32) {
            match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        };
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let ((net, net_len), (addr, addr_len)) = (bits(self.network), bits(ip));
        if net_len != addr_len {
            return false;
        }
        let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
        net & mask == addr & mask
    }
}

/// Parses a comma-separated list of ranges.
pub fn parse_list(s: &str) -> Result<Vec<Cidr>, String> {
    s.split(',').filter(|p| !p.trim().is_empty()).map(Cidr::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_contain_their_addresses_only() {
        let list = parse_list("31.13.24.0/21, 2a03:2880::/32,69.63.176.0/20").unwrap();
        let within = |ip: &str| list.iter().any(|c| c.contains(ip.parse().unwrap()));
        assert!(within("31.13.24.1") && within("31.13.31.255") && within("69.63.191.0"));
        assert!(!within("31.13.32.0") && !within("10.0.0.1"));
        assert!(within("2a03:2880:f003::1") && !within("2a03:2881::1"));
        assert!(within("::ffff:31.13.24.9"), "IPv4-mapped IPv6 is its IPv4 address");
        assert!(parse_list("not-a-range").is_err() && parse_list("1.2.3.4/33").is_err());
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    }
}
