//! Progress of a conformance run on stderr, shared by `conformance` and
//! `demo`: a bar of cases done with the counts so far and how many cases
//! are waiting for the wall clock; where stderr is not a terminal (CI
//! logs), a line every 50 cases and at the end instead.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokenrig::harness::{CaseResult, Observer, Status};

pub struct Progress {
    bar: ProgressBar,
    total: usize,
    waiting: AtomicUsize,
    /// passed, failed, unsupported, errors.
    counts: Mutex<[usize; 4]>,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} cases  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            total,
            waiting: AtomicUsize::new(0),
            counts: Mutex::new([0; 4]),
        }
    }

    fn message(&self) -> String {
        let [pass, fail, unsupported, error] = self.counts.lock().map_or([0; 4], |c| *c);
        let waiting = self.waiting.load(Ordering::Relaxed);
        let mut text = format!("{pass} passed, {fail} failed, {unsupported} unsupported");
        if error > 0 {
            text.push_str(&format!(", {error} errors"));
        }
        if waiting > 0 {
            text.push_str(&format!(" · {waiting} waiting for the wall clock"));
        }
        text
    }

    /// Clears the bar so the report starts on a clean line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn waiting(&self, _id: &str, _how_long: Duration) {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        self.bar.set_message(self.message());
    }

    fn resumed(&self, _id: &str) {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        self.bar.set_message(self.message());
    }

    fn finished(&self, result: &CaseResult) {
        let done = if let Ok(mut counts) = self.counts.lock() {
            let slot = match result.status {
                Status::Pass => 0,
                Status::Fail => 1,
                Status::Unsupported => 2,
                Status::Error => 3,
            };
            counts[slot] += 1;
            counts.iter().sum::<usize>()
        } else {
            0
        };
        self.bar.inc(1);
        self.bar.set_message(self.message());
        if self.bar.is_hidden() && (done % 50 == 0 || done == self.total) {
            eprintln!("tokenrig: {done}/{} cases: {}", self.total, self.message());
        }
    }
}
