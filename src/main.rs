use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use leadq::cli::{Cli, Exit, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
                return ExitCode::from(*code);
            }
            // A closed pipe (`leadq list | head`) is the reader's choice, not an error.
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            // Not eprintln!: after a hang-up stderr is gone, and a failed eprintln! panics.
            let _ = writeln!(std::io::stderr(), "leadq: {e:#}");
            ExitCode::from(1)
        }
    }
}
