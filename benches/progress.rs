//! What the wizard's live progress costs while rows are being copied.
//!
//! While a copy runs, the wizard applies each progress report to its state and redraws
//! the Copy rows screen: reports arrive at most 10 times a second and the spinner ticks 10
//! times a second, so at most 20 frames a second (frames are also at least 16 ms apart).
//! This bench does exactly that work — `state::update` with a fresh `CopyProgress`, then
//! `Terminal::draw` through crossterm's backend (the diff and the escape sequences, written
//! to a sink instead of a terminal) — for a copy of 18 tables whose counters move every
//! frame, and reports the time per frame and the share of one CPU core at 20 frames a
//! second. The headless runner's progress lines are measured by `benches/copy.rs` (runs
//! with and without `--quiet`).
//!
//! `cargo bench --bench progress [-- --frames N]`

use dj2pg::copy::{CopyProgress, TablePhase, TableProgress};
use dj2pg::state::{self, JobEvent, Migration, Msg, RunOptions, Status, Step};
use dj2pg::tui::{UiState, draw};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::time::Instant;

/// The most frames a second the wizard draws while a copy runs.
const FRAMES_PER_SEC: f64 = 20.0;

const TABLES: [(&str, u64); 18] = [
    ("auth_group", 1),
    ("django_content_type", 13),
    ("auth_permission", 52),
    ("auth_group_permissions", 3),
    ("auth_user", 8),
    ("auth_user_groups", 2),
    ("auth_user_user_permissions", 0),
    ("classifier_dataset", 200),
    ("classifier_dataset_maintainers", 400),
    ("classifier_label", 5),
    ("classifier_trainingexample", 299_734),
    ("classifier_embedding", 239_788),
    ("classifier_modelversion", 60),
    ("classifier_prediction", 339_699),
    ("classifier_feedback", 119_895),
    ("classifier_modelversion_datasets", 120),
    ("django_admin_log", 4),
    ("django_session", 0),
];

/// The copy `frame` frames in: the small tables done, two big ones loading.
fn progress(frame: u64, frames: u64) -> CopyProgress {
    let share = (frame + 1) as f64 / frames as f64;
    let tables = TABLES
        .iter()
        .enumerate()
        .map(|(i, &(name, total))| {
            let (done, phase) = match i {
                13 | 11 => ((total as f64 * share) as u64, TablePhase::Loading),
                14 => (0, TablePhase::Waiting),
                _ => (total, TablePhase::Verified),
            };
            TableProgress {
                table: name.into(),
                rows_done: done,
                rows_total: total,
                phase,
            }
        })
        .collect();
    CopyProgress {
        tables,
        elapsed_ms: 1_000 + frame * 50,
        rows_per_sec: 200_000.0 + (frame % 97) as f64,
        stage: dj2pg::copy::Stage::Loading,
    }
}

/// What the wizard's live progress costs per frame.
#[derive(clap::Parser)]
#[command(name = "cargo bench --bench progress --")]
struct Args {
    /// Frames drawn per terminal size.
    #[arg(long, default_value_t = 5_000)]
    frames: u64,
    /// Passed by `cargo bench` to every bench binary.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let frames = <Args as clap::Parser>::parse().frames;
    println!("== wizard progress: Copy rows screen, 18 tables, {frames} frames each ==");
    println!(
        "{:<10} {:>14} {:>26}",
        "terminal", "per frame", "share of one core at 20/s"
    );
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 60)] {
        let per_frame = measure(w, h, frames);
        println!(
            "{:<10} {:>11.1} µs {:>25.3}%",
            format!("{w}x{h}"),
            per_frame * 1e6,
            per_frame * FRAMES_PER_SEC * 100.0
        );
    }
    println!(
        "\nThe copy itself keeps both cores busy for seconds to hours; the target is that the \
         display costs under 2% of it."
    );
}

/// Seconds per frame: apply a progress report, then draw.
fn measure(width: u16, height: u16, frames: u64) -> f64 {
    let mut m = Migration::new(RunOptions {
        project: "/home/ana/sentiment-api".into(),
        jobs: 2,
        ..RunOptions::default()
    });
    m.cursor = Step::CopyRows;
    m.job = Some((6, Step::CopyRows));
    m.step_mut(Step::CopyRows).status = Status::Running {
        detail: "loading".into(),
        fraction: Some(0.0),
    };
    let ui = UiState::default();
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, width, height)),
        },
    )
    .expect("terminal over a sink");
    // Warm up (first frames draw everything; later ones only what changed).
    for f in 0..50 {
        step(&mut m, &ui, &mut terminal, f, frames);
    }
    let start = Instant::now();
    for f in 0..frames {
        step(&mut m, &ui, &mut terminal, f, frames);
    }
    start.elapsed().as_secs_f64() / frames as f64
}

fn step(
    m: &mut Migration,
    ui: &UiState,
    terminal: &mut Terminal<CrosstermBackend<std::io::Sink>>,
    frame: u64,
    frames: u64,
) {
    let p = progress(frame, frames);
    let _ = state::update(m, Msg::Job(6, JobEvent::CopyProgress(Box::new(p))));
    terminal
        .draw(|f| draw(f, m, ui))
        .expect("draw to a sink cannot fail");
}
