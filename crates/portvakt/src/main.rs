//! The `portvakt` binary: see the library ([`portvakt::cli_main`]).

fn main() -> std::process::ExitCode {
    portvakt::cli_main()
}
