//! `certledger-wallet`: the citizen wallet. Not implemented yet (issue 5); this binary says so.

fn main() {
    eprintln!("certledger-wallet is not implemented yet (tracked as issue 5)");
    std::process::exit(2);
}
