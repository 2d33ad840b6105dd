//! `tokenrig-sim usb --usbip` as a real process on a real TCP port: Debian's
//! `usbip list -r` sees it; a host walking enumeration over the USB/IP
//! protocol reads 100 codes typed on interrupt IN, each the OTP core's;
//! garbage and cut packets close only their own connection; the captured
//! exchanges in `fixtures/usbip/` replay byte for byte, into the sans-IO
//! session and through the process.
//!
//! Attaching it as a kernel USB device needs `vhci-hcd`, which most
//! containers and CI machines lack: there that test prints why it skipped
//! and passes (nothing CI could install would bring the kernel module).

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{RFC_KEY_HEX, Sim, assert_fails, hidapi_reads_100_codes, require_tool, skip};
use tokenrig_core::device::{Serial, UsbToken};
use tokenrig_core::otp::{Algorithm, Code, Digits, OtpKey, SecretKey};
use tokenrig_core::wire::hid::EmulatedToken;
use tokenrig_core::wire::hid::keyboard::{KeyboardWedge, Typed};
use tokenrig_core::wire::hid::report::{
    Command as HidCommand, InputReport, PRODUCT_ID, Status, VENDOR_ID,
};
use tokenrig_core::wire::usbip::Session;
use tokenrig_core::wire::usbip::device::BUSID;
use tokenrig_core::wire::usbip::packet::{
    Command, DEVICE_LEN, DIR_IN, DIR_OUT, OP_HEADER_LEN, OpRequest, Reply, Submit, Unlink,
};

const SERIAL: &str = "1000133508267";

/// The simulator on a free loopback port, and that port.
fn start(counter: u64) -> (Sim, u16) {
    let counter = counter.to_string();
    let sim = Sim::start(&[
        "usb",
        "--serial",
        SERIAL,
        "--key",
        RFC_KEY_HEX,
        "--counter",
        &counter,
        "--usbip",
        "127.0.0.1:0",
    ]);
    let port = announced_port(&sim);
    (sim, port)
}

/// The port of the announce line `usbip <addr> <busid> <serial>`.
fn announced_port(sim: &Sim) -> u16 {
    let fields: Vec<&str> = sim.path.split(' ').collect();
    let [kind, addr, busid, serial] = fields[..] else {
        panic!("announce line {:?}", sim.path)
    };
    assert_eq!((kind, busid, serial), ("usbip", BUSID, SERIAL));
    addr.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("an address with a port")
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    // Each submit is a small packet the server waits for.
    stream.set_nodelay(true).expect("no Nagle delay");
    stream
}

/// OP_REQ_DEVLIST on a connection of its own, as `usbip list -r` does:
/// one device, the token's IDs; then the server closes the connection.
fn devlist(port: u16) {
    let mut stream = connect(port);
    stream
        .write_all(&OpRequest::DevList.encode())
        .expect("devlist sent");
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .expect("the list, then the end");
    assert_eq!(
        reply[..12],
        [0x01, 0x11, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(reply.len(), OP_HEADER_LEN + 4 + DEVICE_LEN + 4);
    let ids = &reply[OP_HEADER_LEN + 4 + 256 + 32 + 12..][..4];
    assert_eq!(
        ids,
        [VENDOR_ID.to_be_bytes(), PRODUCT_ID.to_be_bytes()].concat()
    );
    assert_eq!(reply[reply.len() - 4..], [0x03, 0, 0, 0]);
}

/// A USB/IP host: the import, then URBs by sequence number.
struct Host {
    stream: TcpStream,
    seqnum: u32,
    buffer: Vec<u8>,
    /// Sequence numbers of IN submits, whose replies carry data.
    ins: Vec<u32>,
}

impl Host {
    fn import(port: u16) -> Host {
        let mut stream = connect(port);
        let request = OpRequest::Import {
            busid: BUSID.to_owned(),
        };
        stream.write_all(&request.encode()).expect("import sent");
        let mut reply = vec![0u8; OP_HEADER_LEN + DEVICE_LEN];
        stream.read_exact(&mut reply).expect("the import reply");
        assert_eq!(reply[..8], [0x01, 0x11, 0x00, 0x03, 0, 0, 0, 0]);
        let ids = &reply[OP_HEADER_LEN + 256 + 32 + 12..][..4];
        assert_eq!(
            ids,
            [VENDOR_ID.to_be_bytes(), PRODUCT_ID.to_be_bytes()].concat()
        );
        Host {
            stream,
            seqnum: 0,
            buffer: Vec::new(),
            ins: Vec::new(),
        }
    }

    /// Sends a submit and returns its sequence number.
    fn submit(&mut self, ep: u32, setup: [u8; 8], length: u32, data: Vec<u8>) -> u32 {
        self.seqnum += 1;
        let direction = if ep == 1 || setup[0] & 0x80 != 0 {
            DIR_IN
        } else {
            DIR_OUT
        };
        if direction == DIR_IN {
            self.ins.push(self.seqnum);
        }
        let submit = Command::Submit(Submit {
            seqnum: self.seqnum,
            devid: 0x0001_0002,
            direction,
            ep,
            transfer_flags: 0,
            length,
            interval: if ep == 1 { 10 } else { 0 },
            setup,
            data,
        });
        self.stream
            .write_all(&submit.encode())
            .expect("submit sent");
        self.seqnum
    }

    /// A control transfer on endpoint 0: its status and IN data.
    fn control(&mut self, setup: [u8; 8], data: Vec<u8>) -> (i32, Vec<u8>) {
        let length = if setup[0] & 0x80 != 0 {
            u32::from(u16::from_le_bytes([setup[6], setup[7]]))
        } else {
            data.len() as u32
        };
        let seqnum = self.submit(0, setup, length, data);
        match self.reply() {
            Reply::Submit {
                seqnum: s,
                status,
                data,
                ..
            } if s == seqnum => (status, data),
            other => panic!("control {seqnum} answered by {other:?}"),
        }
    }

    fn reply(&mut self) -> Reply {
        loop {
            let ins = &self.ins;
            if let Some((reply, n)) = Reply::decode(&self.buffer, |s| ins.contains(&s))
                .expect("the server sends USB/IP replies")
            {
                self.buffer.drain(..n);
                return reply;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("a reply in time");
            assert!(n > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

fn get_descriptor(kind: u8, index: u8, recipient: u8, language: u16, length: u16) -> [u8; 8] {
    let [ll, lh] = length.to_le_bytes();
    let [gl, gh] = language.to_le_bytes();
    [0x80 | recipient, 0x06, index, kind, gl, gh, ll, lh]
}

fn utf16(descriptor: &[u8]) -> String {
    let units: Vec<u16> = descriptor[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).expect("UTF-16")
}

#[test]
fn a_host_enumerates_the_token_and_reads_the_otp_cores_codes_on_interrupt_in() {
    let (sim, port) = start(3);
    devlist(port);
    let mut host = Host::import(port);
    let (status, device) = host.control(get_descriptor(1, 0, 0, 0, 64), vec![]);
    assert_eq!((status, device.len()), (0, 18));
    assert_eq!(device[8..12], [0x09, 0x12, 0x01, 0x00]);
    let (_, head) = host.control(get_descriptor(2, 0, 0, 0, 9), vec![]);
    let total = u16::from_le_bytes([head[2], head[3]]);
    let (_, config) = host.control(get_descriptor(2, 0, 0, 0, total), vec![]);
    assert_eq!(config.len(), usize::from(total));
    // Interface class 3 (HID), then the HID descriptor, then endpoint 0x81.
    assert_eq!(
        (config[9 + 5], config[18 + 1], config[27 + 2]),
        (3, 0x21, 0x81)
    );
    let report_len = u16::from_le_bytes([config[18 + 7], config[18 + 8]]);
    let (_, languages) = host.control(get_descriptor(3, 0, 0, 0, 255), vec![]);
    assert_eq!(languages, [4, 3, 0x09, 0x04]);
    let (_, serial) = host.control(get_descriptor(3, 3, 0, 0x0409, 255), vec![]);
    assert_eq!(utf16(&serial), SERIAL);
    assert_eq!(host.control([0, 9, 1, 0, 0, 0, 0, 0], vec![]).0, 0);
    assert_eq!(host.control([0x21, 0x0a, 0, 0, 0, 0, 0, 0], vec![]).0, 0);
    let (_, descriptor) = host.control(get_descriptor(0x22, 0, 1, 0, report_len), vec![]);
    assert_eq!(
        descriptor,
        tokenrig_core::wire::hid::report::REPORT_DESCRIPTOR
    );
    let reference = OtpKey::new(
        Algorithm::Sha1,
        &SecretKey::from_hex(RFC_KEY_HEX).expect("hex key"),
    );
    let mut wedge = KeyboardWedge::new();
    for (seq, counter) in (1u8..).zip(3..103) {
        // An IN waiting before the press, as usbhid keeps one submitted.
        host.submit(1, [0; 8], 64, vec![]);
        let press = HidCommand::Press { seq }.encode().to_vec();
        let (status, _) = host.control([0x21, 0x09, 0x03, 0x02, 0, 0, 9, 0], press);
        assert_eq!(status, 0);
        let code = loop {
            let Reply::Submit { data, .. } = host.reply() else {
                panic!("an unlink reply to no unlink")
            };
            match InputReport::decode(&data).expect("an input report") {
                InputReport::Keyboard(k) => wedge.push(&k),
                InputReport::Status(s) => {
                    assert_eq!(s.seq, seq);
                    let Status::Code(code) = s.status else {
                        panic!("press {seq}: {:?}", s.status)
                    };
                    break code;
                }
            }
            host.submit(1, [0; 8], 64, vec![]);
        };
        let expected: Code = reference.hotp(counter, Digits::SIX);
        assert_eq!(code, expected, "counter {counter}");
        assert_eq!(
            wedge.next_typed(),
            Some(Typed::Digits(expected.to_string()))
        );
    }
    drop(host);
    assert!(sim.stop(Signal::SIGTERM).success());
}

#[test]
fn garbage_and_cut_packets_close_their_connection_only() {
    let (sim, port) = start(0);
    // A host that imported and waits on interrupt IN the whole time.
    let mut waiting = Host::import(port);
    waiting.submit(1, [0; 8], 64, vec![]);
    // Not USB/IP at all: closed at once.
    let mut garbage = connect(port);
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("written");
    let mut rest = Vec::new();
    assert_eq!(
        garbage.read_to_end(&mut rest).expect("closed, not reset"),
        0
    );
    // Half a header, then the client gives up.
    let mut cut = connect(port);
    cut.write_all(&OpRequest::DevList.encode()[..5])
        .expect("written");
    cut.shutdown(Shutdown::Write).expect("half closed");
    assert_eq!(cut.read_to_end(&mut rest).expect("closed"), 0);
    // An imported connection sending an unknown command.
    let mut host = Host::import(port);
    host.stream
        .write_all(&[0, 0, 0, 9])
        .expect("an unknown command");
    assert_eq!(host.stream.read_to_end(&mut rest).expect("closed"), 0);
    // A good client still gets its codes.
    let mut host = Host::import(port);
    host.submit(1, [0; 8], 64, vec![]);
    let press = HidCommand::Press { seq: 1 }.encode().to_vec();
    assert_eq!(
        host.control([0x21, 0x09, 0x03, 0x02, 0, 0, 9, 0], press).0,
        0
    );
    assert!(matches!(host.reply(), Reply::Submit { status: 0, .. }));
    // The first host is still served: its IN is still waiting (unlinked).
    let unlink = Command::Unlink(Unlink {
        seqnum: 2,
        devid: 0x0001_0002,
        direction: DIR_OUT,
        ep: 1,
        victim: 1,
    });
    waiting
        .stream
        .write_all(&unlink.encode())
        .expect("unlink sent");
    assert_eq!(
        waiting.reply(),
        Reply::Unlink {
            seqnum: 2,
            status: -104
        }
    );
    drop((host, waiting));
    let (exit, stderr) = sim.stop_with_stderr(Signal::SIGINT);
    assert!(exit.success());
    for line in [
        "USB/IP version 0x4745, not 0x0111; connection closed",
        "the USB/IP connection ended inside a packet (5 bytes of it); connection closed",
        "unknown USB/IP command 9; connection closed",
    ] {
        assert!(stderr.contains(line), "{line:?} not in {stderr:?}");
    }
}

#[test]
fn debians_usbip_lists_the_token_with_its_ids() {
    let Some(usbip) = require_tool("usbip", "usbip") else {
        return;
    };
    let (sim, port) = start(0);
    let out = Process::new(usbip)
        .args(["--tcp-port", &port.to_string(), "list", "-r", "127.0.0.1"])
        .output()
        .expect("usbip runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {:?}", out.stderr);
    assert!(
        stdout.contains(&format!("{BUSID}: ")) && stdout.contains("(1209:0001)"),
        "{stdout}"
    );
    assert!(stdout.contains("Human Interface Device"), "{stdout}");
    assert!(sim.stop(Signal::SIGTERM).success());
}

/// One line of a `fixtures/usbip/*.hex` exchange.
#[derive(Debug)]
enum Line {
    Comment(String),
    Sent(Vec<u8>),
    Answer(Vec<u8>),
}

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex bytes"))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An exchange: `#` comments (one `# sim: ARGS`), `> HEX` packets the
/// client sent, each followed by the `< HEX` packets answering it.
fn load(path: &Path) -> Vec<Line> {
    fs::read_to_string(path)
        .expect("fixture is readable")
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_at(1) {
            ("#", _) => Line::Comment(l.to_owned()),
            (">", rest) => Line::Sent(hex(rest)),
            ("<", rest) => Line::Answer(hex(rest)),
            _ => panic!("{}: unexpected line {l:?}", path.display()),
        })
        .collect()
}

/// The client's packets, each with the answers recorded after it.
fn steps(lines: &[Line]) -> Vec<(&[u8], Vec<&[u8]>)> {
    let mut steps: Vec<(&[u8], Vec<&[u8]>)> = Vec::new();
    for line in lines {
        match line {
            Line::Sent(bytes) => steps.push((bytes, Vec::new())),
            Line::Answer(bytes) => steps
                .last_mut()
                .expect("an answer follows a packet")
                .1
                .push(bytes),
            Line::Comment(_) => {}
        }
    }
    steps
}

fn sim_args(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .find_map(|l| match l {
            Line::Comment(c) => c.strip_prefix("# sim: "),
            _ => None,
        })
        .expect("a `# sim:` line")
        .split(' ')
        .map(str::to_owned)
        .collect()
}

fn exchanges() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/usbip");
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .expect("fixtures/usbip exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 2, "fixtures/usbip holds the exchanges");
    paths
}

/// The session's answers to each client packet, on the fixture's token.
fn session_answers(lines: &[Line]) -> Vec<Vec<Vec<u8>>> {
    let args = sim_args(lines);
    let flag = |name: &str| {
        let at = args.iter().position(|a| a == name).expect("the flag");
        args[at + 1].clone()
    };
    let token = UsbToken::new(
        Serial::parse(&flag("--serial")).expect("a serial"),
        SecretKey::from_hex(&flag("--key")).expect("a key"),
    )
    .with_counter(flag("--counter").parse().expect("a counter"));
    let mut token = EmulatedToken::new(token);
    let mut session = Session::new();
    steps(lines)
        .iter()
        .map(|(sent, _)| {
            let mut replies = Vec::new();
            session
                .receive(&mut token, sent, &mut replies)
                .expect("the fixture is USB/IP");
            replies
        })
        .collect()
}

#[test]
fn the_captured_exchanges_replay_byte_for_byte() {
    for path in exchanges() {
        let lines = load(&path);
        let answers = session_answers(&lines);
        if std::env::var_os("TOKENRIG_BLESS").is_some() {
            let mut answers = answers.iter();
            let mut text = String::new();
            for line in &lines {
                match line {
                    Line::Comment(c) => text += &format!("{c}\n"),
                    Line::Sent(bytes) => {
                        text += &format!("> {}\n", to_hex(bytes));
                        for reply in answers.next().expect("an answer per packet") {
                            text += &format!("< {}\n", to_hex(reply));
                        }
                    }
                    Line::Answer(_) => {}
                }
            }
            fs::write(&path, text).expect("fixture written");
            continue;
        }
        let steps = steps(&lines);
        for (i, ((_, recorded), answer)) in steps.iter().zip(&answers).enumerate() {
            assert_eq!(recorded, answer, "{} packet {}", path.display(), i + 1);
        }
        // The same bytes through the process: each packet's answers, exactly.
        let args = sim_args(&lines);
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(["--usbip", "127.0.0.1:0"]);
        let sim = Sim::start(&args);
        let mut stream = connect(announced_port(&sim));
        for (i, (sent, recorded)) in steps.iter().enumerate() {
            stream.write_all(sent).expect("packet sent");
            let mut got = vec![0u8; recorded.iter().map(|r| r.len()).sum()];
            stream.read_exact(&mut got).expect("the recorded answers");
            assert_eq!(
                got,
                recorded.concat(),
                "{} packet {}",
                path.display(),
                i + 1
            );
        }
        drop(stream);
        assert!(sim.stop(Signal::SIGTERM).success());
    }
}

/// Where the kernel's USB/IP host driver shows once loaded.
fn vhci_present() -> Option<&'static str> {
    ["/sys/module/vhci_hcd", "/sys/devices/platform/vhci_hcd.0"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

#[test]
fn attached_through_vhci_the_token_gives_hidapi_the_otp_cores_codes() {
    if vhci_present().is_none() {
        skip("vhci-hcd not loaded (no /sys/module/vhci_hcd or /sys/devices/platform/vhci_hcd.0)");
        return;
    }
    let Some(usbip) = require_tool("usbip", "usbip") else {
        return;
    };
    let (sim, port) = start(3);
    let port = port.to_string();
    let attach = Process::new(&usbip)
        .args([
            "--tcp-port",
            &port,
            "attach",
            "-r",
            "127.0.0.1",
            "-b",
            BUSID,
        ])
        .output()
        .expect("usbip runs");
    assert!(attach.status.success(), "{attach:?}");
    // The kernel enumerates the device a moment after the attach.
    hidapi_reads_100_codes(SERIAL, 3);
    // The vhci port the device took: `usbip port` lists it.
    let ports = Process::new(&usbip)
        .arg("port")
        .output()
        .expect("usbip runs");
    let listing = String::from_utf8_lossy(&ports.stdout);
    if let Some(n) = listing
        .lines()
        .find_map(|l| l.strip_prefix("Port ").and_then(|r| r.split(':').next()))
    {
        let _ = Process::new(&usbip)
            .args(["detach", "-p", n.trim()])
            .status();
    }
    assert!(sim.stop(Signal::SIGTERM).success());
}

#[test]
fn usbip_flags_are_checked_in_one_line() {
    let key = ["--key", RFC_KEY_HEX];
    let cases: [(Vec<&str>, i32, &str); 4] = [
        (
            [
                &["c100", "--serial", SERIAL][..],
                &key,
                &["--usbip", "127.0.0.1"],
            ]
            .concat(),
            2,
            "tokenrig-sim: error: --usbip: only the usb token is a USB device\n",
        ),
        (
            [
                &["usb", "--serial", SERIAL][..],
                &key,
                &["--usbip", "localhost"],
            ]
            .concat(),
            2,
            "tokenrig-sim: error: invalid value 'localhost' for '--usbip <ADDR>': \"localhost\" is neither IP:PORT nor an IP address\n",
        ),
        (
            [
                &["usb", "--serial", SERIAL][..],
                &key,
                &["--usbip", "127.0.0.1:0", "--state", "x"],
            ]
            .concat(),
            2,
            "tokenrig-sim: error: the argument '--usbip <ADDR>' cannot be used with '--state <FILE>'\n",
        ),
        (
            [
                &["usb", "--serial", SERIAL][..],
                &key,
                &["--usbip", "192.0.2.1:1"],
            ]
            .concat(),
            1,
            "tokenrig-sim: error: usbip: cannot listen on 192.0.2.1:1: Cannot assign requested address (os error 99)\n",
        ),
    ];
    assert_fails(&cases);
}
