//! `dj2pg copy`: the copy engine alone (`crate::copy::standalone`), with Ctrl-C as a clean,
//! resumable stop.

use crate::cli::CopyArgs;
use anyhow::Result;
use std::process::ExitCode;

/// `dj2pg copy`: exit 0 when every table is verified.
pub fn copy(args: CopyArgs) -> Result<ExitCode> {
    let Some(url) = args.target.to.as_deref() else {
        anyhow::bail!(
            "dj2pg copy needs the target: --to postgresql://USER@HOST:PORT/DB?sslmode=require"
        );
    };
    let (to, password) = crate::cli::parse_target(url)?;
    let (use_tz, time_zone) = match args.time_zone {
        Some(tz) => (false, tz),
        None => (true, "UTC".to_string()),
    };
    let stop = crate::copy::Stop::default();
    crate::interrupt::install(&stop.cancel)?;
    let result = crate::copy::standalone::run_with_stop(
        crate::copy::standalone::StandaloneArgs {
            from: args.from,
            to,
            password,
            jobs: args.copy.jobs,
            rejects: args.copy.rejects,
            on_bad_data: args.copy.on_bad_data.into(),
            yes: args.copy.yes,
            json: args.copy.json,
            quiet: args.copy.quiet,
            use_tz,
            time_zone,
            bulk_min_rows: args.copy.bulk_min_rows,
            batch_rows: args.copy.batch_rows,
            lz4: !args.copy.server_compression,
            siblings_together: !args.copy.siblings_apart,
            leave_behind: args.copy.leave_behind,
        },
        &mut std::io::stdout().lock(),
        stop,
    );
    if let Some(sig) = crate::interrupt::signal() {
        // Stopped on purpose: what was committed stays; the same command picks up the rest.
        eprintln!(
            "dj2pg copy: stopped by {}; run the same command again to copy the rest",
            crate::interrupt::name(sig)
        );
        return Ok(ExitCode::from(crate::interrupt::exit_status(sig)));
    }
    let report = result?;
    Ok(if report.all_verified() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
