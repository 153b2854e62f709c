//! The screen's connection to Logto's database is made before the terminal is taken. Over a
//! slow link that took 30 s of a blank terminal, and a Ctrl-C was taken only once it was made
//! (the signals are watched from before, for the screen's orderly way out: bb102 F3). While it
//! is made, a line on stderr says so after a second, and a signal ends custodian at once:
//! nothing has been read or written yet, and the server drops the half-made session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::inert;
use crate::store::ConnectionSpec;

/// How long a connection is made before the line saying so is written.
const SAID_AFTER: Duration = Duration::from_secs(1);
/// How often the signal flags are looked at.
const LOOKED_AT_EVERY: Duration = Duration::from_millis(50);

/// Watches the signals while the connection is made; dropped once it is.
pub(super) struct Connecting {
    made: Arc<AtomicBool>,
    watch: Option<JoinHandle<()>>,
}

impl Connecting {
    /// Starts watching while the screen connects to `url` (said without its password).
    pub(super) fn start(url: &str, signalled: fn() -> bool) -> Self {
        let made = Arc::new(AtomicBool::new(false));
        let shown = inert::line(&ConnectionSpec::redacted(url)).into_owned();
        let flag = Arc::clone(&made);
        let watch = std::thread::Builder::new()
            .name("connecting".into())
            .spawn(move || {
                let began = Instant::now();
                let mut said = false;
                while !flag.load(Ordering::Relaxed) {
                    if signalled() {
                        crate::stderr_line!(
                            "custodian: stopped while connecting to {shown}: nothing was read or written"
                        );
                        std::process::exit(130);
                    }
                    if !said && began.elapsed() >= SAID_AFTER {
                        crate::stderr_line!("custodian: connecting to {shown}… (Ctrl-C stops)");
                        said = true;
                    }
                    std::thread::sleep(LOOKED_AT_EVERY);
                }
            })
            .ok();
        Self { made, watch }
    }
}

impl Drop for Connecting {
    fn drop(&mut self) {
        self.made.store(true, Ordering::Relaxed);
        if let Some(watch) = self.watch.take() {
            let _ = watch.join();
        }
    }
}
