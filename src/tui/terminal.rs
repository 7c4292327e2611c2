//! The terminal guard: raw mode and the alternate screen on, and off again however leadq
//! ends: a normal quit (Drop), a panic (ratatui's hook), SIGTERM, or SIGHUP from a dropped
//! SSH session (the loop sees the signal flag and returns through Drop).

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;

pub struct TerminalGuard {
    /// Never dropped: ratatui's `Drop` shows the cursor and, when the terminal hung up, reports
    /// the failure with `eprintln!`, which panics on the dead stderr, and the panic hook's own
    /// report then aborts the process. The guard shows the cursor itself, ignoring failure.
    pub terminal: ManuallyDrop<DefaultTerminal>,
    mouse: bool,
    /// Set by SIGTERM, SIGHUP or SIGINT.
    pub stop: Arc<AtomicBool>,
}

impl TerminalGuard {
    pub fn new(mouse: bool) -> std::io::Result<TerminalGuard> {
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
            signal_hook::consts::SIGINT,
        ] {
            signal_hook::flag::register(sig, Arc::clone(&stop))?;
        }
        let terminal = ManuallyDrop::new(ratatui::try_init()?);
        if mouse {
            // Undone in Drop; a panic restores raw mode and the screen through ratatui's hook.
            execute!(std::io::stdout(), EnableMouseCapture)?;
        }
        Ok(TerminalGuard {
            terminal,
            mouse,
            stop,
        })
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.mouse {
            let _ = execute!(std::io::stdout(), DisableMouseCapture);
        }
        // After SIGHUP the terminal may be gone: restoring can fail, and that is fine.
        let _ = ratatui::try_restore();
        let _ = self.terminal.show_cursor();
    }
}
