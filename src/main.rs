//! The `portprobe` binary: parse arguments, call the library, map the answer to an exit code
//! (0 success, 1 negative answer, 2 usage or input error, 130/143 interrupted).

use std::process::ExitCode;

use clap::Parser;
use portprobe::cli::Cli;
use portprobe::nmap_args::normalize_args;

fn main() -> ExitCode {
    // Die quietly on a closed pipe (`portprobe scan … | head -1`), as Unix tools do.
    // SAFETY: setting a signal disposition to its default before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // nmap's spellings (-sT, -T4, -oX) become long options; the flags portprobe cannot honour
    // get one line saying what to use instead (never clap's bare "unexpected argument").
    let args = match normalize_args(std::env::args_os()) {
        Ok(args) => args,
        Err(e) => {
            portprobe::escape::say(&e);
            return ExitCode::from(2);
        }
    };
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version write to stdout: a failed write is an error, not success.
            let printed = e
                .print()
                .and_then(|_| std::io::Write::flush(&mut std::io::stdout()));
            if let (Err(err), false) = (printed, e.use_stderr()) {
                portprobe::escape::say(format!("cannot write output: {err}"));
                return ExitCode::from(1);
            }
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let code = match portprobe::commands::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            // Every message already names its cause; printing the source chain too would say
            // it twice ("No such file or directory: No such file or directory").
            portprobe::escape::say(&e);
            e.exit_code()
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
