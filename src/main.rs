#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    dj2pg::cli::main()
}
