//! Gratuitous ARP: the announcement `boot` sends after it adds an IPv4 address, so that a
//! neighbour still holding that address with another MAC (a VM made before the CPI derived
//! MACs from addresses, another machine that had the address) corrects its entry at once
//! instead of when the entry expires (`docs/decisions.md` §10). The real agent sends none
//! for the preconfigured networks of a warden-style stemcell.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

use anyhow::{Context, Result, bail};
use nix::libc;
use nix::sys::socket::{
    AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, SockaddrLike, sendto, socket,
};

/// The length of an ARP frame over Ethernet (without the padding the NIC adds).
pub const FRAME_LEN: usize = 42;
const ETH_P_ARP: u16 = 0x0806;
const BROADCAST: [u8; 6] = [0xff; 6];

/// An ARP announcement (RFC 5227 §2.3) for `ip` at `mac`: a broadcast request whose
/// sender and target address are both `ip`, target MAC zero.
pub fn announcement(mac: [u8; 6], ip: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[0..6].copy_from_slice(&BROADCAST);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&ip.octets());
    f[38..42].copy_from_slice(&ip.octets());
    f
}

/// `00:16:3e:aa:bb:cc` (either case) as bytes.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut out {
        let part = parts.next()?;
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Sends the announcement for `ip` out of interface `index`, whose MAC is `mac`.
pub fn announce(index: u32, mac: [u8; 6], ip: Ipv4Addr) -> Result<()> {
    let ifindex = i32::try_from(index).context("interface index out of range")?;
    let family = u16::try_from(libc::AF_PACKET).context("AF_PACKET out of range")?;
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .context("opening a packet socket")?;
    let mut sll_addr = [0u8; 8];
    sll_addr[..6].copy_from_slice(&BROADCAST);
    let ll = libc::sockaddr_ll {
        sll_family: family,
        sll_protocol: ETH_P_ARP.to_be(),
        sll_ifindex: ifindex,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr,
    };
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_ll>())
        .context("sockaddr_ll size")?;
    // SAFETY: `ll` is a fully initialised sockaddr_ll that outlives the call, and `len` is
    // its exact size, which is what `from_raw` checks an AF_PACKET address against.
    let addr = unsafe { LinkAddr::from_raw(std::ptr::from_ref(&ll).cast(), Some(len)) }
        .context("building the link-layer address")?;
    let frame = announcement(mac, ip);
    let sent = sendto(fd.as_raw_fd(), &frame, &addr, MsgFlags::empty())
        .with_context(|| format!("sending the ARP announcement of {ip} on link {index}"))?;
    if sent != frame.len() {
        bail!(
            "sent {sent} of {} bytes of the ARP announcement of {ip}",
            frame.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_carry_the_address_as_sender_and_target() {
        // (MAC, address): the frame's fields at their offsets.
        let cases = [
            (
                [0x02, 0xb0, 0x0a, 0xf5, 0x01, 0x02],
                Ipv4Addr::new(10, 245, 1, 2),
            ),
            (
                [0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc],
                Ipv4Addr::new(192, 168, 0, 1),
            ),
        ];
        for (mac, ip) in cases {
            let f = announcement(mac, ip);
            assert_eq!(f[0..6], BROADCAST, "{ip}: broadcast");
            assert_eq!(f[6..12], mac, "{ip}: Ethernet source");
            assert_eq!(f[12..14], [0x08, 0x06], "{ip}: ARP");
            assert_eq!(
                f[14..22],
                [0, 1, 0x08, 0, 6, 4, 0, 1],
                "{ip}: Ethernet/IPv4 request"
            );
            assert_eq!(f[22..28], mac, "{ip}: sender MAC");
            assert_eq!(f[28..32], ip.octets(), "{ip}: sender address");
            assert_eq!(f[32..38], [0; 6], "{ip}: target MAC unknown");
            assert_eq!(f[38..42], ip.octets(), "{ip}: target address = sender");
        }
    }

    #[test]
    fn macs_parse_in_either_case_and_nothing_else() {
        let cases = [
            (
                "02:b0:0a:f5:01:02",
                Some([0x02, 0xb0, 0x0a, 0xf5, 0x01, 0x02]),
            ),
            (
                "00:16:3E:AA:BB:CC",
                Some([0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc]),
            ),
            ("00:16:3e:aa:bb", None),
            ("00:16:3e:aa:bb:cc:dd", None),
            ("00:16:3e:aa:bb:c", None),
            ("00:16:3e:aa:bb:zz", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_mac(text), want, "{text:?}");
        }
    }
}
