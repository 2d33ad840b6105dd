//! `struct uhid_event` from `<linux/uhid.h>`, encoded and decoded as
//! plain bytes: the device side of the kernel's uhid interface, sans-IO,
//! so its layout is tested without a /dev/uhid.
//!
//! Every event is one packed struct: a `u32` type, then the union of the
//! requests. Fields are in the host's byte order.

/// The size of `struct uhid_event`: the type and the union, whose largest
/// member (`uhid_create2_req`, 4372 bytes) is rounded up to the 8-byte
/// alignment of `uhid_start_req`'s `u64`. The kernel reads whole events.
pub const EVENT_SIZE: usize = 4 + (128 + 64 + 64 + 2 + 2 + 4 * 4 + DATA_MAX).next_multiple_of(8);
/// `UHID_DATA_MAX`: the largest report or descriptor.
pub const DATA_MAX: usize = 4096;

// Event types (enum uhid_event_type).
const DESTROY: u32 = 1;
const START: u32 = 2;
const STOP: u32 = 3;
const OPEN: u32 = 4;
const CLOSE: u32 = 5;
const OUTPUT: u32 = 6;
const GET_REPORT: u32 = 9;
const GET_REPORT_REPLY: u32 = 10;
const CREATE2: u32 = 11;
const INPUT2: u32 = 12;
const SET_REPORT: u32 = 13;
const SET_REPORT_REPLY: u32 = 14;

/// `enum uhid_report_type`.
pub const FEATURE_REPORT: u8 = 0;

/// `BUS_USB` from `<linux/input.h>`: the device shows as a USB device, so
/// hidapi lists it with its vendor and product ID like hardware.
pub const BUS_USB: u16 = 0x03;

/// `EIO`, the error a request the device cannot answer gets.
pub const EIO: u16 = 5;

/// The identity a uhid device is created with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Create<'a> {
    pub name: &'a str,
    pub phys: &'a str,
    /// Becomes the USB serial number hidapi reports.
    pub uniq: &'a str,
    pub descriptor: &'a [u8],
    pub vendor: u32,
    pub product: u32,
}

/// Why an identity or report does not fit its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("uhid: {0} is too long")]
pub struct TooLong(&'static str);

fn put_str(out: &mut [u8], field: &'static str, s: &str) -> Result<(), TooLong> {
    // Room for the terminating NUL the kernel expects.
    if s.len() >= out.len() {
        return Err(TooLong(field));
    }
    out[..s.len()].copy_from_slice(s.as_bytes());
    Ok(())
}

fn event(kind: u32) -> Vec<u8> {
    let mut out = vec![0u8; EVENT_SIZE];
    out[..4].copy_from_slice(&kind.to_ne_bytes());
    out
}

/// `UHID_CREATE2`: the device appears, with its report descriptor.
pub fn create2(c: &Create<'_>) -> Result<Vec<u8>, TooLong> {
    let mut out = event(CREATE2);
    put_str(&mut out[4..132], "name", c.name)?;
    put_str(&mut out[132..196], "phys", c.phys)?;
    put_str(&mut out[196..260], "uniq", c.uniq)?;
    if c.descriptor.len() > DATA_MAX {
        return Err(TooLong("descriptor"));
    }
    let len = c.descriptor.len() as u16;
    out[260..262].copy_from_slice(&len.to_ne_bytes());
    out[262..264].copy_from_slice(&BUS_USB.to_ne_bytes());
    out[264..268].copy_from_slice(&c.vendor.to_ne_bytes());
    out[268..272].copy_from_slice(&c.product.to_ne_bytes());
    // version and country stay 0.
    out[280..280 + c.descriptor.len()].copy_from_slice(c.descriptor);
    Ok(out)
}

/// `UHID_INPUT2`: an input report from the device, report ID first.
pub fn input2(report: &[u8]) -> Result<Vec<u8>, TooLong> {
    if report.len() > DATA_MAX {
        return Err(TooLong("input report"));
    }
    let mut out = event(INPUT2);
    out[4..6].copy_from_slice(&(report.len() as u16).to_ne_bytes());
    out[6..6 + report.len()].copy_from_slice(report);
    Ok(out)
}

/// `UHID_GET_REPORT_REPLY`: `Ok(report)` or an errno.
pub fn get_report_reply(id: u32, reply: Result<&[u8], u16>) -> Vec<u8> {
    let mut out = event(GET_REPORT_REPLY);
    out[4..8].copy_from_slice(&id.to_ne_bytes());
    match reply {
        Ok(report) if report.len() <= DATA_MAX => {
            out[10..12].copy_from_slice(&(report.len() as u16).to_ne_bytes());
            out[12..12 + report.len()].copy_from_slice(report);
        }
        Ok(_) => out[8..10].copy_from_slice(&EIO.to_ne_bytes()),
        Err(errno) => out[8..10].copy_from_slice(&errno.to_ne_bytes()),
    }
    out
}

/// `UHID_SET_REPORT_REPLY` with an errno (0 for success).
pub fn set_report_reply(id: u32, errno: u16) -> Vec<u8> {
    let mut out = event(SET_REPORT_REPLY);
    out[4..8].copy_from_slice(&id.to_ne_bytes());
    out[8..10].copy_from_slice(&errno.to_ne_bytes());
    out
}

/// `UHID_DESTROY`: the device goes away.
pub fn destroy() -> Vec<u8> {
    event(DESTROY)
}

/// What the kernel tells the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelEvent {
    Start,
    Stop,
    Open,
    Close,
    /// An output report written by a host, report ID first.
    Output(Vec<u8>),
    GetReport {
        id: u32,
        rnum: u8,
        rtype: u8,
    },
    SetReport {
        id: u32,
    },
    /// An event type this device has no use for.
    Other(u32),
}

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_ne_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Decodes one event read from /dev/uhid; `None` if it is shorter than its
/// type needs. Sizes past [`DATA_MAX`] are cut to it.
pub fn decode(b: &[u8]) -> Option<KernelEvent> {
    let need = |n: usize| (b.len() >= n).then_some(());
    need(4)?;
    Some(match u32_at(b, 0) {
        START => KernelEvent::Start,
        STOP => KernelEvent::Stop,
        OPEN => KernelEvent::Open,
        CLOSE => KernelEvent::Close,
        OUTPUT => {
            need(4 + DATA_MAX + 2)?;
            let size = u16_at(b, 4 + DATA_MAX).min(DATA_MAX);
            KernelEvent::Output(b[4..4 + size].to_vec())
        }
        GET_REPORT => {
            need(10)?;
            KernelEvent::GetReport {
                id: u32_at(b, 4),
                rnum: b[8],
                rtype: b[9],
            }
        }
        SET_REPORT => {
            need(8)?;
            KernelEvent::SetReport { id: u32_at(b, 4) }
        }
        other => KernelEvent::Other(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_event_is_as_large_as_the_kernels() {
        // sizeof(struct uhid_event), as a C compiler gives it for
        // <linux/uhid.h> on x86-64.
        assert_eq!(EVENT_SIZE, 4380);
    }

    #[test]
    fn create2_lays_out_the_identity() {
        let ev = create2(&Create {
            name: "tokenrig usb",
            phys: "tokenrig-sim",
            uniq: "1000133508267",
            descriptor: &[0x05, 0x01],
            vendor: 0x1209,
            product: 0x0001,
        })
        .unwrap();
        assert_eq!(ev.len(), EVENT_SIZE);
        assert_eq!(u32_at(&ev, 0), CREATE2);
        assert_eq!(&ev[4..16], b"tokenrig usb");
        assert_eq!(&ev[196..209], b"1000133508267");
        assert_eq!(u16_at(&ev, 260), 2);
        assert_eq!(u16_at(&ev, 262), usize::from(BUS_USB));
        assert_eq!(u32_at(&ev, 264), 0x1209);
        assert_eq!(&ev[280..282], &[0x05, 0x01]);
        let long = "x".repeat(64);
        assert!(
            create2(&Create {
                uniq: &long,
                ..Create {
                    name: "",
                    phys: "",
                    uniq: "",
                    descriptor: &[],
                    vendor: 0,
                    product: 0
                }
            })
            .is_err()
        );
    }

    #[test]
    fn kernel_events_decode() {
        let mut output = event(OUTPUT);
        output[4..7].copy_from_slice(&[3, 1, 9]);
        output[4 + DATA_MAX..4 + DATA_MAX + 2].copy_from_slice(&3u16.to_ne_bytes());
        assert_eq!(decode(&output), Some(KernelEvent::Output(vec![3, 1, 9])));
        let mut get = event(GET_REPORT);
        get[4..8].copy_from_slice(&77u32.to_ne_bytes());
        get[8] = 2;
        assert_eq!(
            decode(&get),
            Some(KernelEvent::GetReport {
                id: 77,
                rnum: 2,
                rtype: FEATURE_REPORT
            })
        );
        assert_eq!(decode(&event(OPEN)), Some(KernelEvent::Open));
        assert_eq!(decode(&[1, 2]), None);
        let reply = get_report_reply(77, Ok(&[2, 1]));
        assert_eq!(
            (u32_at(&reply, 4), u16_at(&reply, 8), u16_at(&reply, 10)),
            (77, 0, 2)
        );
        assert_eq!(u16_at(&get_report_reply(1, Err(EIO)), 8), usize::from(EIO));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..5000)) {
            let _ = decode(&bytes);
        }
    }
}
