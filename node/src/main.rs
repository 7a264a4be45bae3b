//! `certledger-node`: a department node. Under construction (issue 3).

fn main() {
    eprintln!("certledger-node is under construction (tracked as issue 3)");
    std::process::exit(2);
}
