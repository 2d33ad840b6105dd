//! `tokenrig simulate` through the real binary: a small run's table and
//! JSON snapshotted (insta), the same JSON on one thread and on two, the
//! closed-form cases end to end, and bad input refused in one line.

use std::path::Path;
use std::process::{Command, Output};

fn simulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenrig"))
        .arg("simulate")
        .args(args)
        .output()
        .expect("the tokenrig binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

/// A small mixed fleet over a grid of four policies.
const SMALL: &[&str] = &[
    "--seed",
    "7",
    "--years",
    "1",
    "--c100",
    "6",
    "--c200-30",
    "4",
    "--c200-60",
    "12",
    "--usb",
    "3",
    "--drift-ppm",
    "normal:0:8",
    "--logins-per-day",
    "poisson:1.5",
    "--stray-presses",
    "geometric:2",
    "--time-window",
    "0,1",
    "--learn-drift",
    "on,off",
    "--sample-tokens",
    "1",
];

fn run_ok(args: &[&str]) -> String {
    let out = simulate(args);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn json_of(dir: &Path, name: &str, extra: &[&str]) -> String {
    let path = dir.join(name);
    let path_arg = path.display().to_string();
    let mut args = SMALL.to_vec();
    args.extend(extra);
    args.extend(["--json", &path_arg]);
    run_ok(&args);
    std::fs::read_to_string(&path).expect("the JSON was written")
}

#[test]
fn simulate_small_run_table_and_json_are_snapshotted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let table = run_ok(SMALL);
    insta::assert_snapshot!("simulate_table", table);
    let json = json_of(dir.path(), "run.json", &[]);
    insta::assert_snapshot!("simulate_json", json);
}

#[test]
fn simulate_json_is_the_same_on_one_thread_and_on_two() {
    let dir = tempfile::tempdir().expect("temp dir");
    let one = json_of(dir.path(), "one.json", &["--threads", "1"]);
    let two = json_of(dir.path(), "two.json", &["--threads", "2"]);
    assert_eq!(one, two);
    let again = json_of(dir.path(), "again.json", &["--threads", "2"]);
    assert_eq!(two, again);
}

#[test]
fn simulate_writes_csv_and_three_svg_plots() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("run.csv");
    let plots = dir.path().join("plots");
    let mut args = SMALL.to_vec();
    let (csv_arg, plot_arg) = (csv.display().to_string(), plots.display().to_string());
    args.extend(["--csv", &csv_arg, "--plot", &plot_arg]);
    run_ok(&args);
    let csv = std::fs::read_to_string(&csv).expect("CSV written");
    let lines: Vec<&str> = csv.lines().collect();
    // A header, then 4 policies × 4 kinds.
    assert_eq!(lines.len(), 1 + 16, "{csv}");
    assert!(lines[0].starts_with("time_window,learn_drift,"));
    assert!(
        lines[1].starts_with("0,true,10,1000,24,10,c100,6,6,"),
        "{}",
        lines[1]
    );
    for name in ["desync.svg", "drift.svg", "risk.svg"] {
        let svg = std::fs::read_to_string(plots.join(name)).expect("plot written");
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(
            svg.contains("desync per 1,000 logins") || name == "drift.svg",
            "{name}"
        );
        assert!(svg.contains("<text"), "{name} has labels");
    }
}

/// Zero drift from the factory, a login every working day at any window:
/// never refused. One step a year with learning off: refused only from
/// year two; with learning on: never.
#[test]
fn simulate_closed_form_cases_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let step_a_year = (60.0 / (365.0 * 86_400.0) * 1e6).to_string();
    let base = [
        "--c200-60",
        "30",
        "--years",
        "2",
        "--shelf-days",
        "0",
        "--holidays",
        "0",
        "--idle-spells-per-year",
        "0",
        "--sample-tokens",
        "0",
    ];
    let run = |name: &str, extra: &[&str]| -> serde_json::Value {
        let path = dir.path().join(name);
        let path_arg = path.display().to_string();
        let mut args = base.to_vec();
        args.extend(extra);
        args.extend(["--json", &path_arg]);
        run_ok(&args);
        serde_json::from_str(&std::fs::read_to_string(&path).expect("JSON")).expect("valid JSON")
    };
    let zero = run("zero.json", &["--drift-ppm", "0", "--time-window", "0,1,2"]);
    for p in zero["policies"].as_array().expect("policies") {
        let k = &p["kinds"][0];
        assert_eq!(k["logins"], 30 * 2 * 261);
        assert_eq!(k["desync_rejections"], 0, "window {}", p["time_window"]);
    }
    let drifting = run(
        "drift.json",
        &["--drift-ppm", &step_a_year, "--learn-drift", "off,on"],
    );
    let off = &drifting["policies"][0]["kinds"][0];
    assert_eq!(off["by_year"][0]["desync_rejections"], 0);
    assert!(off["by_year"][1]["desync_rejections"].as_u64() > Some(0));
    let on = &drifting["policies"][1]["kinds"][0];
    assert_eq!(on["desync_rejections"], 0);
    assert_eq!(on["resyncs"], 0);
}

#[test]
fn simulate_refuses_bad_input_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("fleet.toml");
    std::fs::write(&file, "seed = 3\n[usage]\nlogins_per_week = 5\n").expect("write");
    let file_arg = file.display().to_string();
    let cases: [(&[&str], &str); 4] = [
        (&["--config", &file_arg], "logins_per_week"),
        (&["--drift-ppm", "gauss:0:3"], "expected normal:MEAN:SIGMA"),
        (&["--c100", "0"], "the fleet has no tokens"),
        (
            &[
                "--time-window",
                "0,1,2,3,4,5,6,7,8,9",
                "--max-failures",
                "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26",
            ],
            "more than 256",
        ),
    ];
    for (args, expected) in cases {
        let out = simulate(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("tokenrig: error: "), "{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let out = simulate(&["--config", &file_arg]);
    assert!(
        text(&out.stderr).contains("line 3"),
        "{}",
        text(&out.stderr)
    );
}
