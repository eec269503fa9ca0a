//! Fuzz the import-file parser and validator: never a panic, always a verdict.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let _ = portvakt_core::import::parse(data);
    });
}
