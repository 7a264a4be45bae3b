//! `certledger-wallet`: the citizen wallet.
//!
//! Keeps the holder key and credentials in one passphrase-encrypted file, imports credentials
//! after checking them against the departments' trust root, answers verifiers' presentation
//! requests with self-contained bundles (file and QR codes), refreshes status proofs from a node,
//! verifies bundles locally with the same pipeline as the browser, and prints paper credentials.
//! Every check lives in `certledger-core`; this binary does files, prompts, network and images.
//! Normative description: `specs/wallet.md`.
#![forbid(unsafe_code)]

mod card;
mod cli;
mod commands;
mod error;
mod identity;
mod keystore;
mod node;
mod qr;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{generated, Cli, Command, IdentityCommand, TrustCommand};
use crate::commands::Ctx;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(bytes) = generated(&cli.command) {
        use std::io::Write as _;
        return match std::io::stdout().lock().write_all(&bytes) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(error::Kind::Usage.exit_code()),
        };
    }
    node::set_ca(cli.ca.clone());
    let dir = cli.wallet_dir.clone().unwrap_or_else(|| {
        std::env::var_os("HOME")
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
            .join(".certledger-wallet")
    });
    let ctx = Ctx {
        wallet_path: store::Wallet::file_in(&dir),
        passphrase: store::PassphraseSource { file: cli.passphrase_file.clone() },
        json: cli.json,
        lang: cli.lang,
    };
    // One command at a time per wallet: a second command waits for the first (bounded), so two
    // concurrent writers can never lose each other's changes.
    let _lock = match store::lock_wallet_dir(&dir) {
        Ok(lock) => lock,
        Err(failure) => return report(&ctx, Err(failure)),
    };
    let result = match cli.command {
        Command::Init => commands::init::init(&ctx),
        Command::Backup { out } => commands::backup::backup(&ctx, &out),
        Command::Restore { file, force } => commands::restore::restore(&ctx, &file, force),
        Command::Trust(TrustCommand::Set { file }) => commands::trust::trust_set(&ctx, &file),
        Command::Trust(TrustCommand::Show) => commands::trust::trust_show(&ctx),
        Command::Trust(TrustCommand::Add { file }) => commands::trust::trust_add(&ctx, &file),
        Command::Trust(TrustCommand::List) => commands::trust::trust_list(&ctx),
        Command::Trust(TrustCommand::Drop { chain_id }) => {
            commands::trust::trust_drop(&ctx, &chain_id)
        }
        Command::Import { file, max_checkpoint_age } => {
            commands::import::import(&ctx, &file, max_checkpoint_age)
        }
        Command::List => commands::list::list(&ctx),
        Command::Show { id } => commands::show::show(&ctx, &id),
        Command::Present(args) => commands::present::present(&ctx, &args),
        Command::History { out, verifier } => {
            commands::history::history(&ctx, out.as_deref(), verifier.as_deref())
        }
        Command::Delete { id, yes } => commands::delete::delete(&ctx, &id, yes),
        Command::Refresh { node } => commands::refresh::refresh(&ctx, &node),
        Command::Verify(args) => commands::verify::verify(&ctx, &args),
        Command::Print(args) => commands::print::print(&ctx, &args),
        Command::Identity(IdentityCommand::Keys { count, out }) => {
            commands::identity::keys(&ctx, count, &out)
        }
        Command::Completions { .. } | Command::Man => {
            Err(error::usage("completions and man need no wallet"))
        }
    };
    report(&ctx, result)
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn report(ctx: &Ctx, result: error::CmdResult<commands::Output>) -> ExitCode {
    match result {
        Ok(out) => {
            if ctx.json {
                let mut json = out.json;
                if let Some(obj) = json.as_object_mut() {
                    obj.insert("ok".into(), true.into());
                }
                println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
            } else {
                print!("{}", out.text);
            }
            for notice in &out.notices {
                eprintln!("{notice}");
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let code = failure.kind.exit_code();
            if ctx.json {
                let mut err = serde_json::json!({
                    "kind": failure.kind.as_str(),
                    "message": format!("{:#}", failure.error),
                });
                if let Some(r) = &failure.reason {
                    err["code"] = r.code.clone().into();
                    err["message_en"] = r.message_en.clone().into();
                    err["message_zh"] = r.message_zh.clone().into();
                }
                let json = serde_json::json!({ "ok": false, "exit_code": code, "error": err });
                println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
            } else {
                match &failure.reason {
                    Some(r) => {
                        eprintln!("refused [{}]: {}\n拒绝：{}", r.code, r.message_en, r.message_zh)
                    }
                    None => eprintln!("error: {:#}", failure.error),
                }
            }
            ExitCode::from(code)
        }
    }
}
