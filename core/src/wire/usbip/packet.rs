//! USB/IP packets as bytes (Linux's `Documentation/usb/usbip_protocol.rst`),
//! sans-IO: every field big-endian, except the 8-byte USB setup packet,
//! which is USB's own little-endian layout and kept as bytes here.
//!
//! Decoders take the bytes received so far and return `Ok(None)` until a
//! whole packet is there, so a stream reader calls them as bytes arrive;
//! what can never become a packet is an error at once.

/// The protocol version both sides send; usbip-utils 2.0 refuses others.
pub const VERSION: u16 = 0x0111;

/// Operation codes of the first phase (the reply's code is the request's
/// without the `0x8000` bit).
pub mod op {
    pub const REQ_DEVLIST: u16 = 0x8005;
    pub const REP_DEVLIST: u16 = 0x0005;
    pub const REQ_IMPORT: u16 = 0x8003;
    pub const REP_IMPORT: u16 = 0x0003;
}

/// Commands of the second phase, after an import.
pub mod cmd {
    pub const SUBMIT: u32 = 1;
    pub const UNLINK: u32 = 2;
    pub const RET_SUBMIT: u32 = 3;
    pub const RET_UNLINK: u32 = 4;
}

/// `direction` in a command header.
pub const DIR_OUT: u32 = 0;
pub const DIR_IN: u32 = 1;

/// Statuses a reply carries: Linux errno values, negated.
pub mod status {
    /// A stalled endpoint: the answer to a request the device does not know.
    pub const EPIPE: i32 = -32;
    /// An unlinked URB.
    pub const ECONNRESET: i32 = -104;
}

/// The header of an operation: version, code, status.
pub const OP_HEADER_LEN: usize = 8;
/// A bus ID field: NUL-padded ASCII.
pub const BUSID_LEN: usize = 32;
/// A sysfs path field: NUL-padded ASCII.
pub const PATH_LEN: usize = 256;
/// Every command and its reply starts with this many bytes.
pub const COMMAND_HEADER_LEN: usize = 48;
/// The most OUT data one submit may carry: more than any request to the
/// token needs (its largest report is 65 bytes), so a peer cannot make a
/// connection buffer more.
pub const MAX_OUT_DATA: usize = 4096;

/// Why bytes are not a USB/IP packet; the connection they came on is
/// closed, as usbipd closes it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsbipError {
    #[error("USB/IP version {0:#06x}, not {VERSION:#06x}")]
    Version(u16),
    #[error("unknown USB/IP operation {0:#06x}")]
    UnknownOp(u16),
    #[error("unknown USB/IP command {0}")]
    UnknownCommand(u32),
    #[error("a USB/IP request with status {0}, not 0")]
    RequestStatus(u32),
    #[error("a USB/IP packet with {0} bytes of data, more than {MAX_OUT_DATA}")]
    TooLong(u32),
    #[error("a USB/IP submit with {0} isochronous packets; the token has no isochronous endpoint")]
    Isochronous(u32),
    #[error("a USB/IP direction {0}, neither 0 (out) nor 1 (in)")]
    Direction(u32),
    #[error("a USB/IP bus ID that is not printable ASCII")]
    BusId,
    #[error("the USB/IP connection ended inside a packet ({0} bytes of it)")]
    Truncated(usize),
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A NUL-padded field's text up to its first NUL; sysfs names are
/// printable ASCII, so anything else is refused rather than guessed at.
fn field_text(field: &[u8]) -> Result<String, UsbipError> {
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let text = &field[..len];
    if !text.iter().all(|b| b.is_ascii_graphic()) {
        return Err(UsbipError::BusId);
    }
    Ok(text.iter().map(|&b| char::from(b)).collect())
}

/// `text` NUL-padded to `len` bytes; a longer text is cut (the fields we
/// fill are our own, shorter names).
fn put_field(out: &mut Vec<u8>, text: &str, len: usize) {
    let bytes = &text.as_bytes()[..text.len().min(len)];
    out.extend_from_slice(bytes);
    out.resize(out.len() + len - bytes.len(), 0);
}

/// A request of the first phase, client to server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpRequest {
    DevList,
    Import { busid: String },
}

impl OpRequest {
    pub fn encode(&self) -> Vec<u8> {
        let code = match self {
            OpRequest::DevList => op::REQ_DEVLIST,
            OpRequest::Import { .. } => op::REQ_IMPORT,
        };
        let mut out = op_header(code, 0);
        if let OpRequest::Import { busid } = self {
            put_field(&mut out, busid, BUSID_LEN);
        }
        out
    }

    /// The request and its length, `None` while incomplete.
    pub fn decode(b: &[u8]) -> Result<Option<(OpRequest, usize)>, UsbipError> {
        if b.len() < OP_HEADER_LEN {
            // The version is checked as soon as it is there, so garbage is
            // refused on its first two bytes.
            if b.len() >= 2 && be16(b, 0) != VERSION {
                return Err(UsbipError::Version(be16(b, 0)));
            }
            return Ok(None);
        }
        if be16(b, 0) != VERSION {
            return Err(UsbipError::Version(be16(b, 0)));
        }
        if be32(b, 4) != 0 {
            return Err(UsbipError::RequestStatus(be32(b, 4)));
        }
        match be16(b, 2) {
            op::REQ_DEVLIST => Ok(Some((OpRequest::DevList, OP_HEADER_LEN))),
            op::REQ_IMPORT => {
                let len = OP_HEADER_LEN + BUSID_LEN;
                if b.len() < len {
                    return Ok(None);
                }
                let busid = field_text(&b[OP_HEADER_LEN..len])?;
                Ok(Some((OpRequest::Import { busid }, len)))
            }
            code => Err(UsbipError::UnknownOp(code)),
        }
    }
}

/// An operation header: version, code, status.
pub fn op_header(code: u16, status: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(OP_HEADER_LEN);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&status.to_be_bytes());
    out
}

/// What DEVLIST and IMPORT say about an exported device
/// (`struct usbip_usb_device`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedDevice {
    pub path: String,
    pub busid: String,
    pub busnum: u32,
    pub devnum: u32,
    /// `enum usb_device_speed`: 2 is full speed.
    pub speed: u32,
    pub vendor: u16,
    pub product: u16,
    pub bcd_device: u16,
    pub class: [u8; 3],
    pub configuration_value: u8,
    pub configurations: u8,
    /// Class, subclass and protocol of each interface.
    pub interfaces: Vec<[u8; 3]>,
}

/// The length of `struct usbip_usb_device`.
pub const DEVICE_LEN: usize = PATH_LEN + BUSID_LEN + 12 + 6 + 6;

impl ExportedDevice {
    /// `struct usbip_usb_device`, as IMPORT's reply holds it.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_field(out, &self.path, PATH_LEN);
        put_field(out, &self.busid, BUSID_LEN);
        for n in [self.busnum, self.devnum, self.speed] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        for n in [self.vendor, self.product, self.bcd_device] {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out.extend_from_slice(&self.class);
        out.push(self.configuration_value);
        out.push(self.configurations);
        out.push(self.interfaces.len() as u8);
    }

    /// OP_REP_DEVLIST with this device alone: the device, then each
    /// interface's class triple and a padding byte.
    pub fn devlist_reply(&self) -> Vec<u8> {
        let mut out = op_header(op::REP_DEVLIST, 0);
        out.extend_from_slice(&1u32.to_be_bytes());
        self.encode(&mut out);
        for interface in &self.interfaces {
            out.extend_from_slice(interface);
            out.push(0);
        }
        out
    }

    /// OP_REP_IMPORT: status 0 and the device.
    pub fn import_reply(&self) -> Vec<u8> {
        let mut out = op_header(op::REP_IMPORT, 0);
        self.encode(&mut out);
        out
    }
}

/// OP_REP_IMPORT refusing a bus ID not exported here (status 1, no device).
pub fn import_refused() -> Vec<u8> {
    op_header(op::REP_IMPORT, 1)
}

/// USBIP_CMD_SUBMIT: one URB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submit {
    pub seqnum: u32,
    pub devid: u32,
    pub direction: u32,
    pub ep: u32,
    pub transfer_flags: u32,
    /// For IN, how many bytes the host takes; for OUT, `data`'s length.
    pub length: u32,
    pub interval: u32,
    /// The USB setup packet, little-endian (zeros except on endpoint 0).
    pub setup: [u8; 8],
    /// OUT data; empty for IN.
    pub data: Vec<u8>,
}

/// USBIP_CMD_UNLINK: cancel the submit numbered `victim`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unlink {
    pub seqnum: u32,
    pub devid: u32,
    pub direction: u32,
    pub ep: u32,
    pub victim: u32,
}

/// A command of the second phase, client to server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Submit(Submit),
    Unlink(Unlink),
}

fn command_header(command: u32, seqnum: u32, devid: u32, direction: u32, ep: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(COMMAND_HEADER_LEN);
    for n in [command, seqnum, devid, direction, ep] {
        out.extend_from_slice(&n.to_be_bytes());
    }
    out
}

impl Command {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Command::Submit(s) => {
                let mut out = command_header(cmd::SUBMIT, s.seqnum, s.devid, s.direction, s.ep);
                // start_frame 0, number_of_packets 0xffffffff (not
                // isochronous), as Linux's vhci sends them.
                for n in [s.transfer_flags, s.length, 0, u32::MAX, s.interval] {
                    out.extend_from_slice(&n.to_be_bytes());
                }
                out.extend_from_slice(&s.setup);
                out.extend_from_slice(&s.data);
                out
            }
            Command::Unlink(u) => {
                let mut out = command_header(cmd::UNLINK, u.seqnum, u.devid, u.direction, u.ep);
                out.extend_from_slice(&u.victim.to_be_bytes());
                out.resize(COMMAND_HEADER_LEN, 0);
                out
            }
        }
    }

    /// The command and its length, `None` while incomplete.
    pub fn decode(b: &[u8]) -> Result<Option<(Command, usize)>, UsbipError> {
        if b.len() >= 4 && !matches!(be32(b, 0), cmd::SUBMIT | cmd::UNLINK) {
            return Err(UsbipError::UnknownCommand(be32(b, 0)));
        }
        if b.len() < COMMAND_HEADER_LEN {
            return Ok(None);
        }
        let (seqnum, devid, direction, ep) = (be32(b, 4), be32(b, 8), be32(b, 12), be32(b, 16));
        if direction > DIR_IN {
            return Err(UsbipError::Direction(direction));
        }
        if be32(b, 0) == cmd::UNLINK {
            let victim = be32(b, 20);
            let unlink = Unlink {
                seqnum,
                devid,
                direction,
                ep,
                victim,
            };
            return Ok(Some((Command::Unlink(unlink), COMMAND_HEADER_LEN)));
        }
        let (transfer_flags, length, packets, interval) =
            (be32(b, 20), be32(b, 24), be32(b, 32), be32(b, 36));
        if packets != 0 && packets != u32::MAX {
            return Err(UsbipError::Isochronous(packets));
        }
        let data_len = if direction == DIR_OUT { length } else { 0 };
        if data_len as usize > MAX_OUT_DATA {
            return Err(UsbipError::TooLong(data_len));
        }
        let total = COMMAND_HEADER_LEN + data_len as usize;
        if b.len() < total {
            return Ok(None);
        }
        let mut setup = [0u8; 8];
        setup.copy_from_slice(&b[40..48]);
        let submit = Submit {
            seqnum,
            devid,
            direction,
            ep,
            transfer_flags,
            length,
            interval,
            setup,
            data: b[COMMAND_HEADER_LEN..total].to_vec(),
        };
        Ok(Some((Command::Submit(submit), total)))
    }
}

/// A reply of the second phase, server to client. The header's devid,
/// direction and ep are 0, as the protocol says a reply carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// USBIP_RET_SUBMIT: the status, how many bytes moved, IN data.
    Submit {
        seqnum: u32,
        status: i32,
        actual_length: u32,
        data: Vec<u8>,
    },
    /// USBIP_RET_UNLINK: `ECONNRESET` if the URB was cancelled, 0 if it
    /// had already completed.
    Unlink { seqnum: u32, status: i32 },
}

impl Reply {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Submit {
                seqnum,
                status,
                actual_length,
                data,
            } => {
                let mut out = command_header(cmd::RET_SUBMIT, *seqnum, 0, 0, 0);
                out.extend_from_slice(&status.to_be_bytes());
                out.extend_from_slice(&actual_length.to_be_bytes());
                // start_frame, number_of_packets, error_count, setup: zero.
                out.resize(COMMAND_HEADER_LEN, 0);
                out.extend_from_slice(data);
                out
            }
            Reply::Unlink { seqnum, status } => {
                let mut out = command_header(cmd::RET_UNLINK, *seqnum, 0, 0, 0);
                out.extend_from_slice(&status.to_be_bytes());
                out.resize(COMMAND_HEADER_LEN, 0);
                out
            }
        }
    }

    /// A host reads a RET_SUBMIT's data only when it asked for IN, so the
    /// caller says which seqnums were IN: `is_in(seqnum)`.
    pub fn decode(
        b: &[u8],
        is_in: impl Fn(u32) -> bool,
    ) -> Result<Option<(Reply, usize)>, UsbipError> {
        if b.len() >= 4 && !matches!(be32(b, 0), cmd::RET_SUBMIT | cmd::RET_UNLINK) {
            return Err(UsbipError::UnknownCommand(be32(b, 0)));
        }
        if b.len() < COMMAND_HEADER_LEN {
            return Ok(None);
        }
        let (seqnum, status) = (be32(b, 4), be32(b, 20) as i32);
        if be32(b, 0) == cmd::RET_UNLINK {
            return Ok(Some((Reply::Unlink { seqnum, status }, COMMAND_HEADER_LEN)));
        }
        let actual_length = be32(b, 24);
        let data_len = if is_in(seqnum) { actual_length } else { 0 };
        if data_len as usize > MAX_OUT_DATA {
            return Err(UsbipError::TooLong(data_len));
        }
        let total = COMMAND_HEADER_LEN + data_len as usize;
        Ok((b.len() >= total).then(|| {
            let reply = Reply::Submit {
                seqnum,
                status,
                actual_length,
                data: b[COMMAND_HEADER_LEN..total].to_vec(),
            };
            (reply, total)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests_decode_only_when_whole() {
        let import = OpRequest::Import {
            busid: "1-1".to_owned(),
        }
        .encode();
        assert_eq!(import.len(), 40);
        for cut in 0..import.len() {
            assert_eq!(OpRequest::decode(&import[..cut]), Ok(None), "{cut}");
        }
        assert_eq!(
            OpRequest::decode(&import),
            Ok(Some((
                OpRequest::Import {
                    busid: "1-1".to_owned()
                },
                40
            )))
        );
        assert_eq!(
            OpRequest::decode(b"GET / HTTP/1.1\r\n"),
            Err(UsbipError::Version(0x4745))
        );
        assert_eq!(
            OpRequest::decode(&[0x01, 0x11, 0x80, 0x07, 0, 0, 0, 0]),
            Err(UsbipError::UnknownOp(0x8007))
        );
        let mut odd = import.clone();
        odd[9] = 0xff;
        assert_eq!(OpRequest::decode(&odd), Err(UsbipError::BusId));
        let mut full = import;
        full[8..].fill(b'9');
        let busid = "9".repeat(BUSID_LEN);
        assert_eq!(
            OpRequest::decode(&full),
            Ok(Some((
                OpRequest::Import {
                    busid: busid.clone()
                },
                40
            )))
        );
        assert_eq!(OpRequest::Import { busid }.encode(), full);
    }

    #[test]
    fn a_submit_round_trips_and_refuses_what_it_cannot_hold() {
        let submit = Command::Submit(Submit {
            seqnum: 7,
            devid: 0x0001_0002,
            direction: DIR_OUT,
            ep: 0,
            transfer_flags: 0,
            length: 9,
            interval: 0,
            setup: [0x21, 0x09, 0x03, 0x02, 0, 0, 9, 0],
            data: vec![3, 1, 1, 0, 0, 0, 0, 0, 0],
        });
        let bytes = submit.encode();
        assert_eq!(bytes.len(), 57);
        assert_eq!(Command::decode(&bytes[..56]), Ok(None));
        assert_eq!(Command::decode(&bytes), Ok(Some((submit, 57))));
        let mut long = bytes.clone();
        long[24..28].copy_from_slice(&5000u32.to_be_bytes());
        assert_eq!(Command::decode(&long), Err(UsbipError::TooLong(5000)));
        let mut iso = bytes;
        iso[32..36].copy_from_slice(&3u32.to_be_bytes());
        assert_eq!(Command::decode(&iso), Err(UsbipError::Isochronous(3)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
            let _ = OpRequest::decode(&bytes);
            let _ = Command::decode(&bytes);
            let _ = Reply::decode(&bytes, |_| true);
        }

        #[test]
        fn replies_round_trip(seqnum in any::<u32>(), status in any::<i32>(), data in prop::collection::vec(any::<u8>(), 0..70)) {
            let reply = Reply::Submit { seqnum, status, actual_length: data.len() as u32, data };
            let bytes = reply.encode();
            prop_assert_eq!(Reply::decode(&bytes, |_| true), Ok(Some((reply, bytes.len()))));
            let unlink = Reply::Unlink { seqnum, status };
            prop_assert_eq!(Reply::decode(&unlink.encode(), |_| true), Ok(Some((unlink, 48))));
        }
    }
}
