//! Turns a `tcp_ws_stream` input (e.g. a crash artifact) into a pcap that
//! `wsforensics` reads, for a regression test in the main crate:
//!
//!     cargo run --example tcp_ws_to_pcap -- INPUT OUT.pcap
//!
//! Prints whether the scenario uses the small limits (then name the file
//! `*.small.pcap`: the regression test picks the limits from the name).

use arbitrary::{Arbitrary, Unstructured};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(input), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: tcp_ws_to_pcap INPUT OUT.pcap");
        std::process::exit(2);
    };
    let bytes = std::fs::read(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    let parsed = wsforensics_fuzz::Input::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap_or_else(|e| panic!("{input}: {e}"));
    let sc = wsforensics_fuzz::scenario(parsed);
    std::fs::write(out, wsforensics_fuzz::to_pcap(&sc)).unwrap_or_else(|e| panic!("{out}: {e}"));
    println!("{} packets, small limits: {}", sc.packets.len(), sc.small);
}
