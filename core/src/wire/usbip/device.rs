//! The USB token behind USB/IP, sans-IO: its USB descriptors, the control
//! requests a host's enumeration sends, and the interrupt IN endpoint that
//! carries the key and status reports. [`Session`] is one connection:
//! bytes in, packets out; the simulator's server only moves them.

use std::collections::VecDeque;

use crate::wire::hid::EmulatedToken;
use crate::wire::hid::report::{KeyboardReport, PRODUCT_ID, REPORT_DESCRIPTOR, VENDOR_ID, id};

use super::packet::{
    Command, DIR_IN, ExportedDevice, OpRequest, Reply, Submit, Unlink, UsbipError, import_refused,
    status,
};

/// The bus ID the token is exported under, as `usbip list` shows it.
pub const BUSID: &str = "1-1";
/// The interrupt IN endpoint's address (endpoint 1, IN).
pub const INTERRUPT_IN: u8 = 0x81;
/// Largest packet on endpoint 0 and on the interrupt endpoint: every
/// report (65 bytes at most, the info feature) fits one control transfer,
/// and every input report (17 bytes at most) one interrupt packet.
const MAX_PACKET: u8 = 64;
/// String descriptor indices.
const MANUFACTURER: u8 = 1;
const PRODUCT: u8 = 2;
const SERIAL: u8 = 3;
const MANUFACTURER_NAME: &str = "tokenrig";
const PRODUCT_NAME: &str = "tokenrig USB OTP token";
/// US English, the one language the strings are in.
const LANGUAGE: u16 = 0x0409;
/// The only configuration.
const CONFIGURATION: u8 = 1;
/// The most input reports one connection queues while the host reads none:
/// 64 presses' worth; past it the oldest are dropped, as a device's buffer
/// overruns, and memory stays bounded.
const MAX_QUEUED: usize = 64 * 16;
/// The most interrupt IN submits one connection keeps waiting (Linux's
/// usbhid keeps one); past it a new one stalls, so memory stays bounded.
const MAX_WAITING: usize = 64;

// bRequest of standard requests (USB 2.0, table 9-4) and HID class ones
// (HID 1.11, section 7.2).
const GET_STATUS: u8 = 0x00;
const CLEAR_FEATURE: u8 = 0x01;
const SET_ADDRESS: u8 = 0x05;
const GET_DESCRIPTOR: u8 = 0x06;
const GET_CONFIGURATION: u8 = 0x08;
const SET_CONFIGURATION: u8 = 0x09;
const GET_INTERFACE: u8 = 0x0a;
const SET_INTERFACE: u8 = 0x0b;
const HID_GET_REPORT: u8 = 0x01;
const HID_GET_IDLE: u8 = 0x02;
const HID_GET_PROTOCOL: u8 = 0x03;
const HID_SET_REPORT: u8 = 0x09;
const HID_SET_IDLE: u8 = 0x0a;
const HID_SET_PROTOCOL: u8 = 0x0b;
// Descriptor types.
const DEVICE_DESCRIPTOR: u8 = 0x01;
const CONFIG_DESCRIPTOR: u8 = 0x02;
const STRING_DESCRIPTOR: u8 = 0x03;
const HID_DESCRIPTOR: u8 = 0x21;
const HID_REPORT_DESCRIPTOR: u8 = 0x22;
// HID report types, wValue's high byte of GET/SET_REPORT.
const INPUT_REPORT: u8 = 1;
const OUTPUT_REPORT: u8 = 2;
const FEATURE_REPORT: u8 = 3;

/// The device descriptor: USB 2.0, class in the interface, one configuration.
pub fn device_descriptor() -> [u8; 18] {
    let [vl, vh] = VENDOR_ID.to_le_bytes();
    let [pl, ph] = PRODUCT_ID.to_le_bytes();
    [
        18,
        DEVICE_DESCRIPTOR,
        0x00,
        0x02, // bcdUSB 2.00
        0,
        0,
        0, // class, subclass, protocol: per interface
        MAX_PACKET,
        vl,
        vh,
        pl,
        ph,
        0x00,
        0x01, // bcdDevice 1.00
        MANUFACTURER,
        PRODUCT,
        SERIAL,
        1, // bNumConfigurations
    ]
}

/// The HID descriptor: HID 1.11, one report descriptor of our length.
fn hid_descriptor() -> [u8; 9] {
    let [ll, lh] = (REPORT_DESCRIPTOR.len() as u16).to_le_bytes();
    [
        9,
        HID_DESCRIPTOR,
        0x11,
        0x01,
        0,
        1,
        HID_REPORT_DESCRIPTOR,
        ll,
        lh,
    ]
}

/// The configuration descriptor with everything under it: the one HID
/// interface (no boot subclass: the reports carry IDs, which the boot
/// protocol has not), its HID descriptor, the interrupt IN endpoint. No
/// OUT endpoint: a host sends output reports by SET_REPORT on endpoint 0,
/// as Linux's usbhid and hidraw do for a device without one.
pub fn configuration_descriptor() -> Vec<u8> {
    let interface = [9, 0x04, 0, 0, 1, 0x03, 0, 0, 0];
    let endpoint = [7, 0x05, INTERRUPT_IN, 0x03, MAX_PACKET, 0, 10];
    let total = (9 + interface.len() + 9 + endpoint.len()) as u16;
    let [tl, th] = total.to_le_bytes();
    // Bus powered, 100 mA.
    let mut out = vec![9, CONFIG_DESCRIPTOR, tl, th, 1, CONFIGURATION, 0, 0x80, 50];
    out.extend_from_slice(&interface);
    out.extend_from_slice(&hid_descriptor());
    out.extend_from_slice(&endpoint);
    out
}

/// A string descriptor: its length, type, then UTF-16LE.
fn string_descriptor(text: &str) -> Vec<u8> {
    let mut out = vec![0, STRING_DESCRIPTOR];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out[0] = out.len() as u8;
    out
}

/// How DEVLIST and IMPORT describe the token.
pub fn exported() -> ExportedDevice {
    ExportedDevice {
        path: "/sys/devices/platform/tokenrig/usb1/1-1".to_owned(),
        busid: BUSID.to_owned(),
        busnum: 1,
        devnum: 2,
        speed: 2,
        vendor: VENDOR_ID,
        product: PRODUCT_ID,
        bcd_device: 0x0100,
        class: [0, 0, 0],
        configuration_value: CONFIGURATION,
        configurations: 1,
        interfaces: vec![[0x03, 0, 0]],
    }
}

/// The 8-byte USB setup packet, little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Setup {
    request_type: u8,
    request: u8,
    value: u16,
    index: u16,
    length: u16,
}

impl Setup {
    fn parse(b: [u8; 8]) -> Setup {
        Setup {
            request_type: b[0],
            request: b[1],
            value: u16::from_le_bytes([b[2], b[3]]),
            index: u16::from_le_bytes([b[4], b[5]]),
            length: u16::from_le_bytes([b[6], b[7]]),
        }
    }
}

/// What a control request comes to: data for the host (IN), accepted
/// (OUT, or IN with no data), or a stall.
enum Control {
    Data(Vec<u8>),
    Ack,
    Stall,
}

/// What the session asks of its connection after some bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Keep reading.
    Open,
    /// The replies are the last: close the connection once they are sent
    /// (after a device list, as usbipd does, or a refused import).
    Close,
}

/// The token's endpoints once imported.
#[derive(Debug, Default)]
struct Imported {
    configuration: u8,
    idle: u8,
    /// 1 (report protocol) unless the host asked for the boot protocol;
    /// the reports keep their IDs either way, as the descriptor says.
    protocol: u8,
    /// Input reports not yet read by an interrupt IN.
    reports: VecDeque<Vec<u8>>,
    /// Interrupt IN submits waiting for a report: seqnum and length.
    waiting: VecDeque<(u32, u32)>,
}

/// One USB/IP connection to the token, sans-IO.
#[derive(Debug, Default)]
pub struct Session {
    buffer: Vec<u8>,
    imported: Option<Imported>,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// Takes bytes from the connection, returns the packets to send back
    /// in order. An error means the peer sent what is no USB/IP packet:
    /// the connection is to be closed, and nothing already answered is
    /// undone.
    pub fn receive(
        &mut self,
        token: &mut EmulatedToken,
        bytes: &[u8],
        replies: &mut Vec<Vec<u8>>,
    ) -> Result<Flow, UsbipError> {
        self.buffer.extend_from_slice(bytes);
        let mut used = 0;
        let flow = loop {
            let rest = &self.buffer[used..];
            let step = match self.imported.as_mut() {
                None => match OpRequest::decode(rest) {
                    Ok(Some((request, n))) => {
                        used += n;
                        Some(self.operation(request, replies))
                    }
                    Ok(None) => None,
                    Err(e) => break Err(e),
                },
                Some(device) => match Command::decode(rest) {
                    Ok(Some((command, n))) => {
                        used += n;
                        device.command(token, command, replies);
                        Some(Flow::Open)
                    }
                    Ok(None) => None,
                    Err(e) => break Err(e),
                },
            };
            match step {
                Some(Flow::Open) => continue,
                Some(Flow::Close) => break Ok(Flow::Close),
                None => break Ok(Flow::Open),
            }
        };
        self.buffer.drain(..used);
        flow
    }

    /// The connection ended: an error if it ended inside a packet.
    pub fn finish(&self) -> Result<(), UsbipError> {
        match self.buffer.len() {
            0 => Ok(()),
            n => Err(UsbipError::Truncated(n)),
        }
    }

    fn operation(&mut self, request: OpRequest, replies: &mut Vec<Vec<u8>>) -> Flow {
        match request {
            OpRequest::DevList => {
                replies.push(exported().devlist_reply());
                Flow::Close
            }
            OpRequest::Import { busid } if busid == BUSID => {
                replies.push(exported().import_reply());
                self.imported = Some(Imported {
                    protocol: 1,
                    ..Imported::default()
                });
                Flow::Open
            }
            OpRequest::Import { .. } => {
                replies.push(import_refused());
                Flow::Close
            }
        }
    }
}

impl Imported {
    fn command(&mut self, token: &mut EmulatedToken, command: Command, out: &mut Vec<Vec<u8>>) {
        match command {
            Command::Submit(submit) if submit.ep == 0 => {
                let setup = Setup::parse(submit.setup);
                let reply = match self.control(token, setup, &submit.data) {
                    Control::Data(mut data) => {
                        data.truncate(usize::from(setup.length).min(submit.length as usize));
                        submitted(submit.seqnum, 0, data.len() as u32, data)
                    }
                    Control::Ack => submitted(submit.seqnum, 0, submit.data.len() as u32, vec![]),
                    Control::Stall => submitted(submit.seqnum, status::EPIPE, 0, vec![]),
                };
                out.push(reply);
            }
            Command::Submit(submit)
                if submit.ep == u32::from(INTERRUPT_IN & 0x0f)
                    && submit.direction == DIR_IN
                    && self.waiting.len() < MAX_WAITING =>
            {
                self.waiting.push_back((submit.seqnum, submit.length));
            }
            Command::Submit(Submit { seqnum, .. }) => {
                out.push(submitted(seqnum, status::EPIPE, 0, vec![]));
            }
            Command::Unlink(Unlink { seqnum, victim, .. }) => {
                let before = self.waiting.len();
                self.waiting.retain(|&(s, _)| s != victim);
                let status = if self.waiting.len() < before {
                    status::ECONNRESET
                } else {
                    0
                };
                out.push(Reply::Unlink { seqnum, status }.encode());
            }
        }
        self.deliver(out);
    }

    /// Pairs waiting interrupt IN submits with queued reports, in order.
    fn deliver(&mut self, out: &mut Vec<Vec<u8>>) {
        while !self.reports.is_empty() && !self.waiting.is_empty() {
            let (Some(mut report), Some((seqnum, length))) =
                (self.reports.pop_front(), self.waiting.pop_front())
            else {
                break;
            };
            report.truncate(length as usize);
            out.push(submitted(seqnum, 0, report.len() as u32, report));
        }
    }

    fn control(&mut self, token: &mut EmulatedToken, setup: Setup, data: &[u8]) -> Control {
        let [kind, number] = setup.value.to_be_bytes();
        match (setup.request_type, setup.request) {
            (0x80, GET_DESCRIPTOR) => match kind {
                DEVICE_DESCRIPTOR => Control::Data(device_descriptor().to_vec()),
                CONFIG_DESCRIPTOR if number == 0 => Control::Data(configuration_descriptor()),
                STRING_DESCRIPTOR => {
                    let serial = token.info().serial;
                    match number {
                        0 => Control::Data(
                            [&[4, STRING_DESCRIPTOR][..], &LANGUAGE.to_le_bytes()].concat(),
                        ),
                        MANUFACTURER => Control::Data(string_descriptor(MANUFACTURER_NAME)),
                        PRODUCT => Control::Data(string_descriptor(PRODUCT_NAME)),
                        SERIAL => Control::Data(string_descriptor(serial.as_str())),
                        _ => Control::Stall,
                    }
                }
                // A device qualifier among them: a full-speed-only device
                // stalls it (USB 2.0, 9.6.2).
                _ => Control::Stall,
            },
            (0x80..=0x82, GET_STATUS) => Control::Data(vec![0, 0]),
            (0x80, GET_CONFIGURATION) => Control::Data(vec![self.configuration]),
            (0x00, SET_CONFIGURATION) if setup.value <= u16::from(CONFIGURATION) => {
                self.configuration = setup.value as u8;
                Control::Ack
            }
            (0x00, SET_ADDRESS) | (0x02, CLEAR_FEATURE) => Control::Ack,
            (0x81, GET_INTERFACE) if setup.index == 0 => Control::Data(vec![0]),
            (0x01, SET_INTERFACE) if setup.index == 0 && setup.value == 0 => Control::Ack,
            (0x81, GET_DESCRIPTOR) if setup.index == 0 => match kind {
                HID_DESCRIPTOR => Control::Data(hid_descriptor().to_vec()),
                HID_REPORT_DESCRIPTOR => Control::Data(REPORT_DESCRIPTOR.to_vec()),
                _ => Control::Stall,
            },
            (0x21, HID_SET_IDLE) => {
                self.idle = kind;
                Control::Ack
            }
            (0xa1, HID_GET_IDLE) => Control::Data(vec![self.idle]),
            (0x21, HID_SET_PROTOCOL) if setup.value <= 1 => {
                self.protocol = setup.value as u8;
                Control::Ack
            }
            (0xa1, HID_GET_PROTOCOL) => Control::Data(vec![self.protocol]),
            // An output report is a command: a press types its keystrokes
            // and status on the interrupt endpoint, as on the uhid device.
            (0x21, HID_SET_REPORT) if kind == OUTPUT_REPORT && number == id::COMMAND => {
                for report in token.output(data) {
                    if self.reports.len() == MAX_QUEUED {
                        self.reports.pop_front();
                    }
                    self.reports.push_back(report);
                }
                Control::Ack
            }
            (0xa1, HID_GET_REPORT) => match (kind, number) {
                (FEATURE_REPORT, _) => token.feature(number).map_or(Control::Stall, Control::Data),
                (INPUT_REPORT, id::STATUS) => token
                    .feature(id::STATUS)
                    .map_or(Control::Stall, Control::Data),
                (INPUT_REPORT, id::KEYBOARD) => {
                    Control::Data(KeyboardReport::RELEASED.encode().to_vec())
                }
                _ => Control::Stall,
            },
            // Everything else, SET_REPORT of a feature among them (the
            // token has no settable one), stalls: -EPIPE.
            _ => Control::Stall,
        }
    }
}

fn submitted(seqnum: u32, status: i32, actual_length: u32, data: Vec<u8>) -> Vec<u8> {
    Reply::Submit {
        seqnum,
        status,
        actual_length,
        data,
    }
    .encode()
}

#[cfg(test)]
mod tests {
    use super::super::packet::{DIR_OUT, Reply};
    use super::*;
    use crate::device::{Serial, UsbToken};
    use crate::otp::SecretKey;
    use crate::wire::hid::report::{Command as HidCommand, InputReport, Status};
    use proptest::prelude::*;

    fn token() -> EmulatedToken {
        let serial = Serial::parse("1000133508267").unwrap();
        let key = SecretKey::new(b"12345678901234567890".to_vec());
        EmulatedToken::new(UsbToken::new(serial, key))
    }

    fn imported(token: &mut EmulatedToken) -> Session {
        let mut session = Session::new();
        let mut replies = Vec::new();
        let import = OpRequest::Import {
            busid: BUSID.to_owned(),
        };
        assert_eq!(
            session.receive(token, &import.encode(), &mut replies),
            Ok(Flow::Open)
        );
        session
    }

    fn control(seqnum: u32, setup: [u8; 8], data: Vec<u8>) -> Vec<u8> {
        let direction = if setup[0] & 0x80 != 0 {
            DIR_IN
        } else {
            DIR_OUT
        };
        let length = if direction == DIR_IN {
            u32::from(u16::from_le_bytes([setup[6], setup[7]]))
        } else {
            data.len() as u32
        };
        Command::Submit(Submit {
            seqnum,
            devid: 0x0001_0002,
            direction,
            ep: 0,
            transfer_flags: 0,
            length,
            interval: 0,
            setup,
            data,
        })
        .encode()
    }

    fn interrupt_in(seqnum: u32) -> Vec<u8> {
        Command::Submit(Submit {
            seqnum,
            devid: 0x0001_0002,
            direction: DIR_IN,
            ep: 1,
            transfer_flags: 0,
            length: 64,
            interval: 10,
            setup: [0; 8],
            data: vec![],
        })
        .encode()
    }

    /// One whole reply: it carries data if it is longer than a header.
    fn reply(bytes: &[u8]) -> Reply {
        Reply::decode(bytes, |_| bytes.len() > 48)
            .unwrap()
            .unwrap()
            .0
    }

    #[test]
    fn the_configuration_descriptor_declares_its_length_and_the_report_descriptors() {
        let config = configuration_descriptor();
        assert_eq!(
            usize::from(u16::from_le_bytes([config[2], config[3]])),
            config.len()
        );
        let hid = &config[18..27];
        assert_eq!(
            usize::from(u16::from_le_bytes([hid[7], hid[8]])),
            REPORT_DESCRIPTOR.len()
        );
    }

    #[test]
    fn unknown_requests_stall_and_a_short_read_is_cut() {
        let mut token = token();
        let mut session = imported(&mut token);
        let mut replies = Vec::new();
        // GET_DESCRIPTOR(device qualifier), then the device descriptor's
        // first 8 bytes (what Linux asks first).
        let mut bytes = control(1, [0x80, 6, 0, 6, 0, 0, 10, 0], vec![]);
        bytes.extend(control(2, [0x80, 6, 0, 1, 0, 0, 8, 0], vec![]));
        session.receive(&mut token, &bytes, &mut replies).unwrap();
        assert!(matches!(
            reply(&replies[0]),
            Reply::Submit {
                seqnum: 1,
                status: -32,
                ..
            }
        ));
        assert!(
            matches!(reply(&replies[1]), Reply::Submit { seqnum: 2, status: 0, data, .. } if data == device_descriptor()[..8])
        );
    }

    #[test]
    fn an_interrupt_in_waits_for_a_press_and_can_be_unlinked() {
        let mut token = token();
        let mut session = imported(&mut token);
        let mut replies = Vec::new();
        session
            .receive(&mut token, &interrupt_in(10), &mut replies)
            .unwrap();
        assert!(replies.is_empty());
        let press = HidCommand::Press { seq: 1 }.encode().to_vec();
        let set_report = control(11, [0x21, 9, 3, 2, 0, 0, 9, 0], press);
        session
            .receive(&mut token, &set_report, &mut replies)
            .unwrap();
        assert!(matches!(
            reply(&replies[0]),
            Reply::Submit {
                seqnum: 11,
                status: 0,
                actual_length: 9,
                ..
            }
        ));
        assert!(
            matches!(reply(&replies[1]), Reply::Submit { seqnum: 10, data, .. } if data == KeyboardReport::key(0x24).encode())
        );
        replies.clear();
        for seqnum in 12..26 {
            session
                .receive(&mut token, &interrupt_in(seqnum), &mut replies)
                .unwrap();
        }
        let last = reply(replies.last().unwrap());
        let Reply::Submit { data, .. } = last else {
            panic!("a submit reply")
        };
        assert!(matches!(
            InputReport::decode(&data),
            Ok(InputReport::Status(s)) if matches!(s.status, Status::Code(c) if c.to_string() == "755224")
        ));
        replies.clear();
        session
            .receive(&mut token, &interrupt_in(30), &mut replies)
            .unwrap();
        let unlink = |victim| {
            Command::Unlink(Unlink {
                seqnum: 31,
                devid: 0,
                direction: DIR_OUT,
                ep: 1,
                victim,
            })
            .encode()
        };
        session
            .receive(&mut token, &unlink(30), &mut replies)
            .unwrap();
        session
            .receive(&mut token, &unlink(30), &mut replies)
            .unwrap();
        assert_eq!(
            replies.iter().map(|r| reply(r)).collect::<Vec<_>>(),
            [
                Reply::Unlink {
                    seqnum: 31,
                    status: status::ECONNRESET
                },
                Reply::Unlink {
                    seqnum: 31,
                    status: 0
                }
            ]
        );
    }

    #[test]
    fn a_wrong_bus_id_is_refused_and_a_cut_packet_is_truncated() {
        let mut token = token();
        let mut session = Session::new();
        let mut replies = Vec::new();
        let import = OpRequest::Import {
            busid: "9-9".to_owned(),
        };
        assert_eq!(
            session.receive(&mut token, &import.encode(), &mut replies),
            Ok(Flow::Close)
        );
        assert_eq!(replies, [import_refused()]);
        let mut session = Session::new();
        session
            .receive(&mut token, &OpRequest::DevList.encode()[..5], &mut replies)
            .unwrap();
        assert_eq!(session.finish(), Err(UsbipError::Truncated(5)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn arbitrary_commands_never_panic_and_stay_bounded(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..100), 0..20)
        ) {
            let mut token = token();
            let mut session = imported(&mut token);
            let mut replies = Vec::new();
            for chunk in chunks {
                if session.receive(&mut token, &chunk, &mut replies).is_err() {
                    break;
                }
                prop_assert!(session.buffer.len() <= super::super::packet::COMMAND_HEADER_LEN + super::super::packet::MAX_OUT_DATA);
            }
        }
    }
}
