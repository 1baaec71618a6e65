//! IPv4 arithmetic for dynamic networks: an LXD bridge's subnet (`ipv4.address`, e.g.
//! `10.245.0.1/16`, which is also the gateway), its DHCP ranges, and picking a free
//! address among them.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// A bridge's IPv4 subnet, from its `ipv4.address` (`<gateway>/<prefix>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The bridge's own address: the guests' gateway.
    pub gateway: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
}

impl Subnet {
    /// Parses `A.B.C.D/N`; `none`, `auto`, an empty value or garbage give `None`.
    pub fn parse(cidr: &str) -> Option<Subnet> {
        let (addr, prefix) = cidr.trim().split_once('/')?;
        let gateway: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        Some(Subnet { gateway, prefix })
    }

    fn mask(&self) -> u32 {
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0)
    }

    /// The netmask, dotted (`255.255.0.0`).
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask())
    }

    /// True when `ip` lies in the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.gateway) & self.mask()
    }

    /// The host addresses: the subnet without its network and broadcast addresses.
    pub fn hosts(&self) -> Option<(u32, u32)> {
        if self.prefix > 30 {
            return None;
        }
        let network = u32::from(self.gateway) & self.mask();
        Some((network + 1, (network | !self.mask()) - 1))
    }
}

/// Parses `ipv4.dhcp.ranges` (`A-B,C-D`), keeping only ranges inside `subnet`.
pub fn parse_ranges(ranges: &str, subnet: &Subnet) -> Vec<(u32, u32)> {
    ranges
        .split(',')
        .filter_map(|r| {
            let (a, b) = r.trim().split_once('-')?;
            let (a, b): (Ipv4Addr, Ipv4Addr) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            (subnet.contains(a) && subnet.contains(b) && a <= b).then(|| (a.into(), b.into()))
        })
        .collect()
}

/// A free address of `ranges`, not in `used`. The search starts at `seed` (modulo the
/// number of candidates) and wraps around, so concurrent pickers rarely meet and a free
/// address is found whenever one exists.
pub fn pick(ranges: &[(u32, u32)], used: &BTreeSet<Ipv4Addr>, seed: u64) -> Option<Ipv4Addr> {
    let sizes: Vec<u64> = ranges
        .iter()
        .map(|(a, b)| u64::from(*b) - u64::from(*a) + 1)
        .collect();
    let total: u64 = sizes.iter().sum();
    if total == 0 {
        return None;
    }
    let start = seed % total;
    (0..total)
        .map(|i| nth(ranges, &sizes, (start + i) % total))
        .find(|ip| !used.contains(ip))
}

/// The `n`th address over all ranges, in order.
fn nth(ranges: &[(u32, u32)], sizes: &[u64], mut n: u64) -> Ipv4Addr {
    for ((first, _), size) in ranges.iter().zip(sizes) {
        if n < *size {
            let offset = u32::try_from(n).unwrap_or(0);
            return Ipv4Addr::from(first + offset);
        }
        n -= size;
    }
    Ipv4Addr::UNSPECIFIED
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_parse_and_describe_themselves() {
        let s = Subnet::parse("10.245.0.1/16").unwrap();
        assert_eq!(s.netmask(), ip("255.255.0.0"));
        assert!(s.contains(ip("10.245.255.254")) && !s.contains(ip("10.246.0.1")));
        assert_eq!(
            s.hosts(),
            Some((ip("10.245.0.1").into(), ip("10.245.255.254").into()))
        );
        for bad in ["none", "auto", "", "10.0.0.1", "10.0.0.1/33", "x/8"] {
            assert_eq!(Subnet::parse(bad), None, "case {bad:?}");
        }
        assert_eq!(Subnet::parse("10.0.0.1/31").unwrap().hosts(), None);
        assert_eq!(
            Subnet::parse("10.0.0.1/0").unwrap().netmask(),
            ip("0.0.0.0")
        );
    }

    #[test]
    fn dhcp_ranges_outside_the_subnet_are_dropped() {
        let s = Subnet::parse("10.0.0.1/24").unwrap();
        let r = parse_ranges(
            "10.0.0.10-10.0.0.20, 10.0.1.1-10.0.1.9,bad,10.0.0.9-10.0.0.5",
            &s,
        );
        assert_eq!(r, vec![(ip("10.0.0.10").into(), ip("10.0.0.20").into())]);
    }

    #[test]
    fn picks_skip_used_addresses_and_wrap_around() {
        let ranges = [
            (ip("10.0.0.2").into(), ip("10.0.0.3").into()),
            (ip("10.0.0.9").into(), ip("10.0.0.9").into()),
        ];
        let used: BTreeSet<_> = [ip("10.0.0.9")].into();
        assert_eq!(
            pick(&ranges, &used, 2),
            Some(ip("10.0.0.2")),
            "wraps past the end"
        );
        assert_eq!(pick(&ranges, &used, 1), Some(ip("10.0.0.3")));
        let full: BTreeSet<_> = [ip("10.0.0.2"), ip("10.0.0.3"), ip("10.0.0.9")].into();
        assert_eq!(pick(&ranges, &full, 0), None);
        assert_eq!(pick(&[], &used, 0), None);
    }
}
