//! The `portvakt` binary: see the library ([`portvakt::cli_main`]).

/// mimalloc rather than glibc's malloc: under load a request allocates and frees
/// from several threads, and glibc's arenas spent ~12 % of the server's CPU in
/// malloc/free (perf of a refresh run on PostgreSQL, BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    portvakt::cli_main()
}
