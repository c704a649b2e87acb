//! The command line. Being built.

pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
