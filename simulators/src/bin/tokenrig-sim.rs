//! `tokenrig-sim`: run emulated tokens as devices.
//!
//! - `tokenrig-sim fleet` writes the inventory of a seeded fleet (the file a
//!   vendor ships to the verifier).
//! - `tokenrig-sim c100|c200|usb … (--pty | --port PATH)` runs one token on a
//!   serial line, answering the line protocol (`docs/protocols.md`).
//! - `tokenrig-sim usb … --uhid` runs the USB token as a kernel HID device
//!   (Linux /dev/uhid), answering the HID report protocol.
//! - `tokenrig-sim usb … --usbip ADDR` serves the USB token as a USB/IP
//!   device, for `usbip list -r` and `usbip attach`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, Parser, Subcommand};
use tokenrig_core::clock::{Clock, SystemClock, UnixTime};
use tokenrig_core::device::{Model, Serial};
use tokenrig_core::otp::{SecretKey, TimeStep};
use tokenrig_core::wire::hid::EmulatedToken;
use tokenrig_simulators::fleet::{Fleet, FleetSpec};
use tokenrig_simulators::serial::engine::{CounterLog, LineEngine, Volatile};
use tokenrig_simulators::serial::pty::Pty;
use tokenrig_simulators::serial::serve::{Shutdown, serve};
use tokenrig_simulators::serial::spec::{Sim, SimSpec, SimToken};
use tokenrig_simulators::serial::state::StateFile;

/// Emulated OTP tokens as devices.
#[derive(Debug, Parser)]
#[command(name = "tokenrig-sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the inventory CSV (serial,kind,key,digits,step) of a seeded fleet.
    ///
    /// The same seed always gives the same serials and keys, so a test rig
    /// can import the inventory into a verifier and later regenerate the
    /// tokens that match it. The output contains keys: test seeds only.
    Fleet(FleetArgs),
    /// Run a C100 event key fob on a serial line.
    C100(EventArgs),
    /// Run a C200 time key fob on a serial line.
    C200(TimeArgs),
    /// Run a USB OTP token on a serial line, as a kernel HID device (--uhid),
    /// or as a USB/IP device on a TCP port (--usbip).
    Usb(EventArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: tokenrig::cmdline::Shell,
    },
    /// Write the man pages (tokenrig-sim.1 and one per command) into a directory.
    Man {
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
    },
}

/// What every serial-line token needs.
#[derive(Debug, Args)]
struct LineArgs {
    /// The serial on the token's back (1–40 printable ASCII characters)
    #[arg(long, value_name = "S")]
    serial: String,
    /// The token's secret key in hex (a test key: it shows in `ps`)
    #[arg(long, value_name = "HEX")]
    key: String,
    /// Run on a clock that starts at --start (or now) and moves only by ADVANCE
    #[arg(long)]
    test_clock: bool,
    /// Where the test clock starts, in Unix seconds
    #[arg(long, value_name = "UNIX", requires = "test_clock")]
    start: Option<u64>,
    /// Create a pseudo-terminal pair; its path is the first line on stdout
    #[arg(long, conflicts_with_all = ["port", "uhid", "usbip"], required_unless_present_any = ["port", "uhid", "usbip"])]
    pty: bool,
    /// usb only: be a kernel HID device through /dev/uhid instead of a
    /// serial line; the first stdout line is `uhid <serial>`
    #[arg(long, conflicts_with = "port")]
    uhid: bool,
    /// usb only: serve the token as a USB/IP device on ADDR (IP:PORT, or an
    /// IP alone for port 3240; port 0 picks a free one), for `usbip list
    /// -r` and `usbip attach -b 1-1`; the first stdout line is
    /// `usbip <addr> <busid> <serial>`
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["port", "uhid"], value_parser = tokenrig_simulators::usbip::parse_addr)]
    usbip: Option<std::net::SocketAddr>,
    /// Sit on this serial device (a real tty wired to the host)
    #[arg(long, value_name = "PATH")]
    port: Option<PathBuf>,
    /// Line speed for --port
    #[arg(long, value_name = "N", default_value_t = 9_600, requires = "port")]
    baud: u32,
}

#[derive(Debug, Args)]
struct EventArgs {
    #[command(flatten)]
    line: LineArgs,
    /// The counter of the first press
    #[arg(long, value_name = "N", default_value_t = 0)]
    counter: u64,
    /// Record the counter here before each code is shown, and resume from it
    #[arg(long, value_name = "FILE", conflicts_with_all = ["uhid", "usbip"])]
    state: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct TimeArgs {
    #[command(flatten)]
    line: LineArgs,
    /// Time step in seconds, as the token was made
    #[arg(long, value_name = "30|60", default_value_t = 60)]
    step: u64,
    /// How fast the token's quartz runs, in ppm (negative: slow)
    #[arg(
        long,
        value_name = "X",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    drift_ppm: f64,
}

/// Why the simulator stopped: bad input (exit 2) or a failure (exit 1).
#[derive(Debug)]
enum SimError {
    Usage(String),
    Failure(String),
}

#[derive(Debug, Args)]
struct FleetArgs {
    /// Seed for serials, keys and drifts
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of C100 event key fobs
    #[arg(long, default_value_t = 1)]
    c100: u64,
    /// Number of C200 time key fobs
    #[arg(long, default_value_t = 1)]
    c200: u64,
    /// Number of USB OTP tokens
    #[arg(long, default_value_t = 0)]
    usb: u64,
    /// Time step of the C200s in seconds
    #[arg(long, value_name = "30|60", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    step: u64,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!(
                "tokenrig-sim: error: {}",
                tokenrig::cmdline::clap_error_line(&e)
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Fleet(args) => match fleet(args) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(SimError::Failure(e.to_string())),
        },
        Command::C100(args) => event(Model::C100, args),
        Command::Usb(args) => event(Model::Usb, args),
        Command::C200(args) => time(args),
        Command::Completions { shell } => {
            let mut out = io::stdout();
            match tokenrig::cmdline::write_completions(&mut Cli::command(), shell, &mut out) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(SimError::Failure(e.to_string()))
                }
                _ => Ok(()),
            }
        }
        Command::Man { out } => tokenrig::cmdline::write_man_pages(Cli::command(), &out)
            .map_err(|e| SimError::Failure(format!("{}: {e}", out.display()))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(SimError::Usage(message)) => {
            eprintln!("tokenrig-sim: error: {message}");
            ExitCode::from(2)
        }
        Err(SimError::Failure(message)) => {
            eprintln!("tokenrig-sim: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The spec shared by every model; the key string never reaches a message.
fn spec(model: Model, line: &LineArgs) -> Result<SimSpec, SimError> {
    let key = SecretKey::from_hex(&line.key).map_err(|e| SimError::Usage(format!("--key: {e}")))?;
    let test_clock = line.test_clock.then(|| match line.start {
        Some(secs) => UnixTime::from_secs(secs),
        None => SystemClock.now(),
    });
    Ok(SimSpec {
        model,
        serial: line.serial.clone(),
        key,
        counter: 0,
        step_secs: 60,
        drift_ppm: 0.0,
        test_clock,
    })
}

fn build(spec: &SimSpec) -> Result<Sim, SimError> {
    spec.build(Arc::new(SystemClock))
        .map_err(|e| SimError::Usage(e.to_string()))
}

fn event(model: Model, args: EventArgs) -> Result<(), SimError> {
    let mut spec = spec(model, &args.line)?;
    spec.counter = args.counter;
    let mut sim = build(&spec)?;
    if args.line.uhid {
        return match sim.token {
            SimToken::Usb(token) => uhid(EmulatedToken::new(token)),
            _ => Err(uhid_only()),
        };
    }
    if let Some(addr) = args.line.usbip {
        return match sim.token {
            SimToken::Usb(token) => usbip(addr, EmulatedToken::new(token)),
            _ => Err(usbip_only()),
        };
    }
    match args.state {
        Some(path) => {
            let serial = Serial::parse(&spec.serial).map_err(|e| SimError::Usage(e.to_string()))?;
            let state = StateFile::new(path, serial);
            if let Some(next) = state.load().map_err(|e| SimError::Failure(e.to_string()))? {
                sim.token = sim.token.resume(next);
            }
            run(&args.line, LineEngine::new(sim, state))
        }
        None => run(&args.line, LineEngine::new(sim, Volatile)),
    }
}

fn uhid_only() -> SimError {
    SimError::Usage("--uhid: only the usb token has a HID interface".to_owned())
}

fn usbip_only() -> SimError {
    SimError::Usage("--usbip: only the usb token is a USB device".to_owned())
}

/// Listens on `addr`, prints `usbip <addr> <busid> <serial>` (the port
/// bound, if 0 was asked) as the first stdout line, then serves until
/// SIGINT or SIGTERM.
fn usbip(addr: std::net::SocketAddr, token: EmulatedToken) -> Result<(), SimError> {
    let failure = |what: &str, e: io::Error| SimError::Failure(format!("{what}: {e}"));
    let shutdown = Shutdown::install().map_err(|e| failure("installing signal handlers", e))?;
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| failure(&format!("usbip: cannot listen on {addr}"), e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| failure("usbip: the listening address", e))?;
    let serial = token.info().serial;
    let busid = tokenrig_core::wire::usbip::device::BUSID;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "usbip {bound} {busid} {serial}")
        .and_then(|()| stdout.flush())
        .map_err(|e| failure("writing the announce line to stdout", e))?;
    drop(stdout);
    tokenrig_simulators::usbip::serve(&listener, token, &shutdown).map_err(|e| failure("usbip", e))
}

/// Creates the kernel HID device, prints `uhid <serial>` as the first
/// stdout line once it exists, then serves until SIGINT or SIGTERM.
fn uhid(mut token: EmulatedToken) -> Result<(), SimError> {
    let failure = |what: &str, e: io::Error| SimError::Failure(format!("{what}: {e}"));
    let shutdown = Shutdown::install().map_err(|e| failure("installing signal handlers", e))?;
    let mut device = tokenrig_simulators::uhid::open().map_err(|e| failure("uhid", e))?;
    let serial = token.info().serial;
    let ready = || {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "uhid {serial}").and_then(|()| stdout.flush())
    };
    tokenrig_simulators::uhid::serve(&mut device, &mut token, &shutdown, ready)
        .map_err(|e| failure("uhid", e))
}

fn time(args: TimeArgs) -> Result<(), SimError> {
    if args.line.uhid {
        return Err(uhid_only());
    }
    if args.line.usbip.is_some() {
        return Err(usbip_only());
    }
    let mut spec = spec(Model::C200, &args.line)?;
    spec.step_secs = args.step;
    spec.drift_ppm = args.drift_ppm;
    run(&args.line, LineEngine::new(build(&spec)?, Volatile))
}

/// Opens the line, prints its path as the first stdout line (the signal a
/// test or script waits for), then serves until SIGINT or SIGTERM.
fn run<L: CounterLog>(line: &LineArgs, mut engine: LineEngine<L>) -> Result<(), SimError> {
    let failure = |what: &str, e: io::Error| SimError::Failure(format!("{what}: {e}"));
    let shutdown = Shutdown::install().map_err(|e| failure("installing signal handlers", e))?;
    let result = match &line.port {
        Some(path) => {
            let mut port = serialport::new(path.to_string_lossy(), line.baud)
                // Writes wait at most this long for a host that stopped reading.
                .timeout(std::time::Duration::from_secs(1))
                .open_native()
                .map_err(|e| {
                    SimError::Failure(format!("cannot open {}: {}", path.display(), e.description))
                })?;
            announce(path)?;
            serve(&mut port, &mut engine, &shutdown)
        }
        None => {
            let mut pty = Pty::open().map_err(|e| failure("cannot create a pseudo-terminal", e))?;
            announce(&pty.path)?;
            serve(&mut pty.master, &mut engine, &shutdown)
        }
    };
    result.map_err(|e| failure("serial line", e))
}

fn announce(path: &std::path::Path) -> Result<(), SimError> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", path.display())
        .and_then(|()| stdout.flush())
        .map_err(|e| SimError::Failure(format!("writing the line's path to stdout: {e}")))
}

fn fleet(args: FleetArgs) -> io::Result<()> {
    let step = TimeStep::from_secs(args.step).map_err(io::Error::other)?;
    let spec = FleetSpec {
        seed: args.seed,
        c100: args.c100,
        c200: args.c200,
        usb: args.usb,
        c200_step: step,
        ..FleetSpec::default()
    };
    // The inventory does not depend on the start time; 0 keeps it explicit.
    let fleet = Fleet::generate(&spec, UnixTime::EPOCH).map_err(io::Error::other)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    fleet.write_inventory(&mut out)?;
    out.flush()
}
