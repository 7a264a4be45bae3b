//! `certledger-node`: the department node binary. The commands live in the library
//! ([`certledger_node::cli`]); this sets up logging and the runtime and maps errors to exit codes.

use std::process::ExitCode;

use certledger_node::cli::{dispatch, exit_code, Cli};
use clap::Parser as _;

fn main() -> ExitCode {
    let cli = Cli::parse();
    certledger_node::logging::init(cli.log_format);
    certledger_node::tools::client::set_ca(cli.ca);
    if let Some(file) = cli.passphrase_file.clone() {
        certledger_node::keyfile::set_passphrase_file(file);
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}
