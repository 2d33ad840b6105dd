//! `tokenrig devices list|press`: the tokens this machine can reach, and
//! codes read from one of them, over HID or a serial line.

use std::io::{self, Write};

use clap::{Args, Subcommand};
use tokenrig::device::{Serial, UsbToken};
use tokenrig::transport::hid::{HidBackend, HidDevice, HidError, HidapiBackend, VirtualHid};
use tokenrig::transport::{Device, SerialDevice, SerialOptions, TransportError};

use super::{CliError, Context, args};

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// HID tokens (hidapi, and any --virtual-usb) and serial ports found here.
    List(ListArgs),
    /// Press a token's button and print its codes, one per line.
    Press(PressArgs),
}

/// Where HID tokens are looked for.
#[derive(Debug, Args)]
pub struct HidArgs {
    /// USB vendor ID of the HID tokens to look for, hex
    #[arg(long, value_name = "HEX", default_value = "1209", value_parser = hex_id)]
    vendor_id: u16,
    /// USB product ID of the HID tokens to look for, hex
    #[arg(long, value_name = "HEX", default_value = "0001", value_parser = hex_id)]
    product_id: u16,
    /// Plug in an emulated USB token, reached through the virtual HID
    /// backend (a test key: it shows in `ps`); repeatable
    #[arg(long, value_name = "SERIAL=HEXKEY")]
    virtual_usb: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    hid: HidArgs,
}

#[derive(Debug, Args)]
#[group(id = "device", required = true, multiple = false, args = ["hid", "serial_port"])]
pub struct PressArgs {
    #[command(flatten)]
    backends: HidArgs,
    /// The HID token with this USB serial number (the token's serial)
    #[arg(long, value_name = "SERIAL")]
    hid: Option<String>,
    /// The token on this serial line (a tty, or tokenrig-sim's pseudo-terminal)
    #[arg(long, value_name = "PATH")]
    serial_port: Option<String>,
    /// How many presses
    #[arg(long, value_name = "K", default_value = "1", value_parser = args::positive)]
    count: u64,
}

fn hex_id(s: &str) -> Result<u16, String> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u16::from_str_radix(digits, 16).map_err(|_| "must be 1 to 4 hex digits, e.g. 1209".to_owned())
}

pub fn run(cmd: DevicesCommand) -> Result<(), CliError> {
    match cmd {
        DevicesCommand::List(a) => list(a),
        DevicesCommand::Press(a) => press(a),
    }
}

/// The HID backends to search, in order: the virtual tokens given on the
/// command line, then hidapi. A hidapi that cannot start is a warning,
/// not a failure: the other backends still answer.
fn backends(hid: &HidArgs) -> Result<Vec<Box<dyn HidBackend>>, CliError> {
    let mut virtual_hid = VirtualHid::new();
    for spec in &hid.virtual_usb {
        let (serial, key) = spec
            .split_once('=')
            .ok_or_else(|| CliError::Usage("--virtual-usb: expected SERIAL=HEXKEY".to_owned()))?;
        let serial = Serial::parse(serial).input("--virtual-usb")?;
        let key = args::key(key, false).input("--virtual-usb")?;
        let token = UsbToken::new(serial, key);
        virtual_hid.plug(token);
    }
    let mut found: Vec<Box<dyn HidBackend>> = Vec::new();
    if !hid.virtual_usb.is_empty() {
        found.push(Box::new(virtual_hid));
    }
    match HidapiBackend::new(hid.vendor_id, hid.product_id) {
        Ok(hidapi) => found.push(Box::new(hidapi)),
        Err(e) => eprintln!("tokenrig: warning: {e}"),
    }
    Ok(found)
}

/// One row of `devices list`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    transport: &'static str,
    device: String,
    model: String,
    kind: String,
    place: String,
}

const HEADER: [&str; 5] = ["TRANSPORT", "DEVICE", "MODEL", "KIND", "WHERE"];

/// Aligned columns under a header; "no devices found" when there are none,
/// so a script and a person both see that the search ran.
fn render(rows: &[Row]) -> Vec<String> {
    let cells: Vec<[&str; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.transport,
                r.device.as_str(),
                r.model.as_str(),
                r.kind.as_str(),
                r.place.as_str(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |row: &[&str; 5]| {
        let mut out = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out
    };
    let mut lines = vec![line(&HEADER)];
    lines.extend(cells.iter().map(line));
    if rows.is_empty() {
        lines.push("no devices found".to_owned());
    }
    lines
}

fn list(a: ListArgs) -> Result<(), CliError> {
    let mut rows = Vec::new();
    for mut backend in backends(&a.hid)? {
        let entries = match backend.enumerate() {
            Ok(entries) => entries,
            Err(e) => {
                eprintln!("tokenrig: warning: {e}");
                continue;
            }
        };
        for entry in entries {
            // Which model it is, asked of the token itself; a token that
            // cannot be opened (permissions, a foreign device) still lists.
            let info = HidDevice::open(backend.as_mut(), &entry.serial).and_then(|mut d| d.info());
            let (model, kind) = match info {
                Ok(info) => (info.model.to_string(), info.family().to_string()),
                Err(_) => ("?".to_owned(), "?".to_owned()),
            };
            rows.push(Row {
                transport: "hid",
                device: entry.serial,
                model,
                kind,
                place: entry.path,
            });
        }
    }
    match serialport::available_ports() {
        Ok(ports) => rows.extend(ports.into_iter().map(|p| Row {
            transport: "serial",
            device: p.port_name,
            model: "-".to_owned(),
            kind: "-".to_owned(),
            place: port_place(&p.port_type),
        })),
        Err(e) => eprintln!("tokenrig: warning: listing serial ports: {}", e.description),
    }
    super::write_lines(render(&rows))
}

fn port_place(kind: &serialport::SerialPortType) -> String {
    match kind {
        serialport::SerialPortType::UsbPort(usb) => {
            format!("usb {:04x}:{:04x}", usb.vid, usb.pid)
        }
        serialport::SerialPortType::PciPort => "pci".to_owned(),
        serialport::SerialPortType::BluetoothPort => "bluetooth".to_owned(),
        serialport::SerialPortType::Unknown => "-".to_owned(),
    }
}

fn press(a: PressArgs) -> Result<(), CliError> {
    let mut device: Box<dyn Device> = match (&a.hid, &a.serial_port) {
        (Some(serial), _) => Box::new(open_hid(&a.backends, serial)?),
        (None, Some(path)) => Box::new(SerialDevice::open(path, SerialOptions::default())?),
        (None, None) => return Err(CliError::Usage("give --hid or --serial-port".to_owned())),
    };
    // Each code is printed as it is read: with a person at a real token,
    // or a slow line, waiting for all of them would look like a hang.
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for _ in 0..a.count {
        let code = device.press()?;
        writeln!(out, "{code}")?;
        out.flush()?;
    }
    Ok(())
}

fn open_hid(hid: &HidArgs, serial: &str) -> Result<HidDevice, CliError> {
    let parsed = Serial::parse(serial).input("--hid")?;
    let mut searched = Vec::new();
    for mut backend in backends(hid)? {
        let entries = backend.enumerate().map_err(TransportError::from)?;
        if entries.iter().any(|e| e.serial == parsed.as_str()) {
            return Ok(HidDevice::open(backend.as_mut(), parsed.as_str())?);
        }
        searched.push(match backend.name() {
            "hidapi" => format!(
                "hidapi, vendor {:04x} product {:04x}",
                hid.vendor_id, hid.product_id
            ),
            name => name.to_owned(),
        });
    }
    if searched.is_empty() {
        searched.push("no HID backend available".to_owned());
    }
    Err(TransportError::from(HidError::NotFound {
        serial: parsed.as_str().to_owned(),
        searched: searched.join("; "),
    })
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_says_so_under_its_header() {
        assert_eq!(
            render(&[]),
            ["TRANSPORT  DEVICE  MODEL  KIND  WHERE", "no devices found"]
        );
    }

    #[test]
    fn rows_align_under_the_header() {
        let rows = [
            Row {
                transport: "hid",
                device: "1000133508267".to_owned(),
                model: "usb".to_owned(),
                kind: "event".to_owned(),
                place: "virtual:0".to_owned(),
            },
            Row {
                transport: "serial",
                device: "/dev/ttyS0".to_owned(),
                model: "-".to_owned(),
                kind: "-".to_owned(),
                place: "pci".to_owned(),
            },
        ];
        assert_eq!(
            render(&rows),
            [
                "TRANSPORT  DEVICE         MODEL  KIND   WHERE",
                "hid        1000133508267  usb    event  virtual:0",
                "serial     /dev/ttyS0     -      -      pci",
            ]
        );
    }

    #[test]
    fn ids_are_hex_and_default_to_the_emulated_token() {
        use tokenrig::transport::hid::report::{PRODUCT_ID, VENDOR_ID};
        assert_eq!(hex_id("1209"), Ok(VENDOR_ID));
        assert_eq!(hex_id("0001"), Ok(PRODUCT_ID));
        assert_eq!(hex_id("0x0001"), Ok(1));
        assert!(hex_id("12345").is_err());
        assert!(hex_id("").is_err());
    }
}
