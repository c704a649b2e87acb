//! Carries out the state machine's effects on worker threads and reports back as `Msg`s.
//!
//! Shared by the terminal wizard and the headless runner, so both do exactly the same
//! work. Workers take owned inputs, a cancel flag and a sender; they never touch the state.
//! Secrets (the target's password) live here, in memory only.

use crate::data::privileges::RecipeOptions;
use crate::data::resume::Record;
use crate::django::settings_rewrite;
use crate::pg::Secret;
use crate::pg::privileges;
use crate::resume_check::now_text;
use crate::state::{Effect, JobEvent, JobId, Msg, Role};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use crate::copy::CopyProgress;

/// Flags a running job watches.
#[derive(Clone, Default)]
pub struct JobControl {
    pub cancel: Arc<AtomicBool>,
    pub pause: Arc<AtomicBool>,
}

impl JobControl {
    /// The copy engine's view of the same flags.
    pub fn stop(&self) -> crate::copy::Stop {
        crate::copy::Stop {
            cancel: Arc::clone(&self.cancel),
            pause: Arc::clone(&self.pause),
        }
    }
}

/// A copy's failure as an event: a cancellation is not a failure.
fn failure(e: anyhow::Error) -> JobEvent {
    if e.downcast_ref::<crate::copy::Cancelled>().is_some() {
        JobEvent::Cancelled
    } else {
        JobEvent::Failed(format!("{e:#}"))
    }
}

/// Progress to the state machine at most ten times a second; the newest value wins, and
/// the last one is always delivered.
struct Throttle {
    tx: Sender<Msg>,
    job: JobId,
    last_sent: Option<Instant>,
    /// The stage of the last progress sent: a new stage is sent at once.
    last_stage: Option<String>,
    pending: Option<CopyProgress>,
}

impl Throttle {
    fn new(tx: Sender<Msg>, job: JobId) -> Throttle {
        Throttle {
            tx,
            job,
            last_sent: None,
            last_stage: None,
            pending: None,
        }
    }

    /// Send `p` unless one was sent less than 100 ms ago (then keep it for later). A change
    /// of stage always goes at once: kept back, a short stage followed by a long one (a
    /// quick ANALYZE, then the verification) would show the older stage the whole time.
    fn offer(&mut self, p: &CopyProgress) {
        let new_stage = self.last_stage.as_deref() != Some(p.stage.as_str());
        if !new_stage
            && self
                .last_sent
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            self.pending = Some(p.clone());
            return;
        }
        self.pending = None;
        self.last_sent = Some(Instant::now());
        self.last_stage = Some(p.stage.clone());
        let _ = self.tx.send(Msg::Job(
            self.job,
            JobEvent::CopyProgress(Box::new(p.clone())),
        ));
    }

    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = self
                .tx
                .send(Msg::Job(self.job, JobEvent::CopyProgress(Box::new(p))));
        }
    }
}

/// The effect executor.
pub struct Runner {
    tx: Sender<Msg>,
    /// The target's password, given on the form, the command line or the environment.
    pub password: Option<Secret>,
    /// The admin's password (Fix permissions), given on its prompt or the command line.
    pub admin_password: Option<Secret>,
    jobs: HashMap<JobId, JobControl>,
}

impl Runner {
    pub fn new(tx: Sender<Msg>) -> Runner {
        install_panic_hook();
        Runner {
            tx,
            password: None,
            admin_password: None,
            jobs: HashMap::new(),
        }
    }

    /// Start the work of one effect. `Save` and `Quit` belong to the driver and are ignored.
    pub fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Save | Effect::Quit => {}
            Effect::Discover {
                job,
                project,
                python,
            } => spawn_job(&self.tx, job, "discover", move |tx| {
                match crate::django::discover(&project, python.as_deref()) {
                    Ok(d) => {
                        // What a resume checks: is the SQLite file still this one?
                        if let Some(s) = &d.sqlite
                            && let Ok(stamp) = crate::resume_check::stamp(&s.path)
                        {
                            record(
                                tx,
                                job,
                                Record::Sqlite {
                                    stamp,
                                    at: now_text(),
                                },
                            );
                        }
                        JobEvent::Discovered(Box::new(d))
                    }
                    // A project dj2pg already moved no longer uses SQLite: say so.
                    Err(e) => match crate::backup::latest_finished_run(&project) {
                        Some(run) => JobEvent::Failed(run.explain(&format!("{e:#}"))),
                        None => JobEvent::Failed(format!("{e:#}")),
                    },
                }
            }),
            Effect::Connect {
                job,
                config,
                direct,
                admin,
            } => {
                let password = self.password.clone();
                let cancel = self.control(job).cancel;
                spawn_job(&self.tx, job, "connect", move |tx| {
                    match config.connect_until(password.as_ref(), "", Some(&cancel)) {
                        Ok(mut client) => match crate::pg::pool_route::route(
                            &config,
                            direct.as_ref(),
                            admin.as_ref(),
                            password.as_ref(),
                            &mut client,
                        ) {
                            Err(e) => JobEvent::ConnectFailed(e),
                            Ok(routed) => connected(tx, job, client, routed, &config.host),
                        },
                        Err(_) if cancel.load(Ordering::SeqCst) => JobEvent::ConnectStopped,
                        Err(e) => JobEvent::ConnectFailed(e),
                    }
                })
            }
            Effect::Preflight {
                job,
                sqlite,
                config,
                role,
                settings,
            } => {
                let password = self.secret(role);
                let stop = self.control(job).stop();
                spawn_job(
                    &self.tx,
                    job,
                    "preflight",
                    move |_| match crate::copy::Context::new(
                        &sqlite, config, password, settings, stop,
                    )
                    .and_then(|cx| crate::copy::preflight(&cx))
                    {
                        Ok(report) => JobEvent::Preflight(Box::new(report)),
                        Err(e) => failure(e),
                    },
                )
            }
            Effect::Copy {
                job,
                sqlite,
                config,
                role,
                policy,
                settings,
            } => {
                let password = self.secret(role);
                let stop = self.control(job).stop();
                spawn_job(&self.tx, job, "copy", move |tx| {
                    let mut throttle = Throttle::new(tx.clone(), job);
                    let result =
                        crate::copy::Context::new(&sqlite, config, password, settings, stop)
                            .and_then(|cx| {
                                crate::copy::copy(&cx, policy, &mut |p| throttle.offer(p))
                            });
                    throttle.flush();
                    match result {
                        Ok(report) => {
                            record(tx, job, Record::Copied { at: now_text() });
                            JobEvent::CopyFinished(Box::new(report))
                        }
                        Err(e) => failure(e),
                    }
                })
            }
            Effect::WatchChanges {
                job,
                sqlite,
                config,
            } => {
                let stop = self.control(job).stop();
                spawn_job(&self.tx, job, "watch", move |tx| {
                    watch_changes(tx, job, &sqlite, &config, &stop)
                })
            }
            Effect::Sync {
                job,
                sqlite,
                config,
                role,
                on_conflict,
            } => {
                let password = self.secret(role);
                let stop = self.control(job).stop();
                spawn_job(&self.tx, job, "sync", move |_| {
                    let started = Instant::now();
                    let result =
                        crate::copy::sync::prepare(&sqlite, &config, password.as_ref(), stop)
                            .and_then(|p| p.apply(on_conflict));
                    match result {
                        Ok(mut report) => {
                            report.cutover_ms = started.elapsed().as_millis() as u64;
                            JobEvent::Synced(Box::new(report))
                        }
                        Err(e) => failure(e),
                    }
                })
            }
            Effect::Backup {
                job,
                discovery,
                backup_dir,
            } => {
                let cancel = self.control(job).cancel;
                spawn_job(&self.tx, job, "backup", move |tx| {
                    let mut log = log_to(tx, job);
                    let request = crate::backup::backup_request(&discovery, backup_dir.as_deref());
                    match crate::backup::run_backup(request, &mut log, cancel) {
                        Ok(r) => JobEvent::BackedUp(Box::new(r)),
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::ScanMigrations {
                job,
                python,
                project_dir,
                settings_module,
            } => spawn_job(&self.tx, job, "scan-migrations", move |_| {
                match crate::django::migrations::scan_migrations(
                    &python,
                    &project_dir,
                    settings_module.as_deref(),
                ) {
                    Ok(s) => JobEvent::Scanned(Box::new(s)),
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                }
            }),
            Effect::ResetMigrations {
                job,
                project_dir,
                backup_dir,
                scan,
                selected,
                python,
                settings_module,
            } => {
                let cancel = self.control(job).cancel;
                spawn_job(&self.tx, job, "reset-migrations", move |tx| {
                    let mut log = log_to(tx, job);
                    reset_and_regenerate(
                        ResetJob {
                            project_dir,
                            backup_dir,
                            scan: *scan,
                            selected,
                            python,
                            settings_module,
                        },
                        &mut log,
                        cancel,
                    )
                })
            }
            Effect::DryRun { job, input } => {
                let cancel = self.control(job).cancel;
                spawn_job(&self.tx, job, "dry-run", move |tx| {
                    let mut log = log_to(tx, job);
                    match crate::django::dry_run(input, &mut log, cancel) {
                        Ok(r) => JobEvent::DryRunFinished(Box::new(r)),
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::Diagnose {
                job,
                app,
                admin,
                schema,
            } => {
                let (app_pw, admin_pw) = (self.password.clone(), self.admin_password.clone());
                spawn_job(&self.tx, job, "diagnose", move |tx| {
                    let mut log = log_to(tx, job);
                    let admin = admin.as_ref().map(|a| (a, admin_pw.as_ref()));
                    match privileges::diagnose(&app, app_pw.as_ref(), admin, &schema, &mut log) {
                        Ok(d) => {
                            let options = RecipeOptions {
                                admin_role: d
                                    .admin
                                    .as_ref()
                                    .map_or_else(|| "doadmin".into(), |a| a.role.clone()),
                                ..RecipeOptions::default()
                            };
                            let recipes = privileges::recipes(&d, &options);
                            JobEvent::Diagnosed(Box::new(d), recipes)
                        }
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::ApplyRecipe {
                job,
                recipe,
                app,
                admin,
            } => {
                let (app_pw, admin_pw) = (self.password.clone(), self.admin_password.clone());
                spawn_job(&self.tx, job, "fix-permissions", move |tx| {
                    let mut log = log_to(tx, job);
                    match privileges::apply(
                        &recipe,
                        &app,
                        app_pw.as_ref(),
                        &admin,
                        admin_pw.as_ref(),
                        &mut log,
                    ) {
                        Ok(r) => JobEvent::Applied(Box::new(r)),
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::SaveDbaScript {
                job,
                recipe,
                diagnosis,
                app,
                path,
            } => spawn_job(&self.tx, job, "save-sql", move |_| {
                let script = privileges::dba_script(&recipe, &diagnosis, &app, &path);
                match write_file(&path, script.as_bytes()) {
                    Ok(()) => JobEvent::DbaScriptSaved(path),
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                }
            }),
            Effect::CreateSchema {
                job,
                input,
                role,
                grants,
                app_roles,
            } => {
                let password = self.secret(role);
                let cancel = self.control(job).cancel;
                spawn_job(&self.tx, job, "create-schema", move |tx| {
                    let mut log = log_to(tx, job);
                    let target = input.target.clone();
                    // Before migrate creates anything: would its tables be handed to other
                    // roles (Supabase's API roles)? Asked once; the answer comes back here.
                    let before = match grants_before(&target, password.as_ref(), grants, &app_roles)
                    {
                        Ok(GrantsBefore::Ask(found)) => {
                            return JobEvent::DefaultGrantsFound(Box::new(found));
                        }
                        Ok(GrantsBefore::Revoke(found, before)) => Some((found, before)),
                        Ok(GrantsBefore::Nothing) => None,
                        Err(e) => return JobEvent::Failed(format!("{e:#}")),
                    };
                    match crate::django::create_schema(input, password.clone(), &mut log, cancel) {
                        Ok(mut r) => {
                            if r.passed()
                                && let Some((found, before)) = before
                            {
                                match revoke_after(&target, password.as_ref(), &found, &before) {
                                    Ok(done) => {
                                        for s in &done.sql {
                                            log(s.clone());
                                        }
                                        r.warnings.push(format!(
                                            "revoked {}'s default grants to {} on the {} \
                                             table(s) and {} sequence(s) migrate created \
                                             (REVOKE in the log)",
                                            found.role,
                                            found.grantee_words(),
                                            done.tables,
                                            done.sequences
                                        ));
                                    }
                                    Err(e) => return JobEvent::Failed(format!("{e:#}")),
                                }
                            }
                            // What a resume checks: the migrations migrate applied.
                            if r.passed() {
                                let applied = target
                                    .connect(password.as_ref())
                                    .map_err(|e| e.message)
                                    .and_then(|mut c| {
                                        crate::resume_check::applied_migrations(&mut c)
                                    });
                                match applied {
                                    Ok(applied) => record(
                                        tx,
                                        job,
                                        Record::Schema {
                                            applied,
                                            at: now_text(),
                                        },
                                    ),
                                    Err(e) => log(format!(
                                        "could not read django_migrations back ({e}): a \
                                         resume will run Create schema again"
                                    )),
                                }
                            }
                            JobEvent::SchemaCreated(Box::new(r))
                        }
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::FindEmbeddings { job, discovery } => spawn_job(
                &self.tx,
                job,
                "find-embeddings",
                move |_| match crate::embeddings::find(&discovery) {
                    Ok(found) => JobEvent::EmbeddingsFound(crate::embeddings::describe(&found)),
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                },
            ),
            Effect::ApplyEmbeddings {
                job,
                discovery,
                backup_dir,
                target,
                admin,
                choice,
            } => {
                let (password, admin_password) =
                    (self.password.clone(), self.admin_password.clone());
                spawn_job(&self.tx, job, "apply-embeddings", move |tx| {
                    let mut log = log_to(tx, job);
                    let inputs = crate::embeddings::Inputs {
                        discovery: &discovery,
                        backup_dir: backup_dir.as_deref(),
                        target: Some((&target, password.as_ref())),
                        admin: admin.as_ref().map(|a| (a, admin_password.as_ref())),
                        // The user chose the change on a screen that says it installs it.
                        install: true,
                    };
                    let kind = match choice {
                        crate::data::embeddings::EmbeddingsChoice::HalfVec => "halfvec",
                        _ => "vector",
                    };
                    let chosen = crate::django::pgvector_plan::Choice::parse(&[kind.into()], None);
                    let result = chosen.and_then(|c| {
                        crate::embeddings::run(&inputs, &c, &mut |event, text| {
                            log(format!("{event}: {text}"))
                        })
                    });
                    match result {
                        Ok(_) => JobEvent::EmbeddingsApplied(choice),
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::InstallDriver { job, check } => {
                let cancel = self.control(job).cancel;
                spawn_job(&self.tx, job, "install-driver", move |tx| {
                    let mut log = log_to(tx, job);
                    match crate::django::install_driver(check, &mut log, cancel) {
                        Ok(r) => JobEvent::DriverInstalled(Box::new(r)),
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::PlanSettings {
                job,
                python,
                project_dir,
                settings_module,
                target,
                style,
            } => spawn_job(
                &self.tx,
                job,
                "plan-settings",
                move |_| match settings_rewrite::locate(&python, &project_dir, &settings_module)
                    .and_then(|loc| {
                        settings_rewrite::plan_rewrite(&project_dir, &loc, &target, style)
                    }) {
                    Ok(plan) => JobEvent::SettingsPlanned(Box::new(plan)),
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                },
            ),
            Effect::ApplySettings {
                job,
                plan,
                write,
                backup_dir,
                python,
                project_dir,
                settings_module,
                role,
            } => {
                let password = self.secret(role);
                spawn_job(&self.tx, job, "update-settings", move |tx| {
                    let mut log = log_to(tx, job);
                    let applied = if write {
                        match settings_rewrite::apply(&plan, &backup_dir) {
                            Ok(a) => {
                                log(format!(
                                    "wrote {} (the old file is in {})",
                                    a.settings_file.display(),
                                    a.backup.archived.display()
                                ));
                                Some(a)
                            }
                            Err(e) => return JobEvent::Failed(format!("{e:#}")),
                        }
                    } else {
                        None
                    };
                    let env = settings_rewrite::validation_env(&plan.env, password.as_ref());
                    match settings_rewrite::validate(
                        &python,
                        &project_dir,
                        &settings_module,
                        &env,
                        password.as_ref(),
                    ) {
                        Ok(v) => {
                            for run in std::iter::once(&v.check).chain(v.read.iter()) {
                                log(format!("$ {}", run.command));
                                run.output.lines().for_each(|l| log(l.to_string()));
                            }
                            JobEvent::SettingsApplied(applied.map(Box::new), Box::new(v))
                        }
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::RevertSettings { job, applied } => spawn_job(
                &self.tx,
                job,
                "revert-settings",
                move |_| match settings_rewrite::revert(&applied) {
                    Ok(()) => JobEvent::SettingsReverted,
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                },
            ),
            Effect::Restore {
                job,
                project_dir,
                backup_dir,
                yes,
            } => spawn_job(&self.tx, job, "restore", move |tx| {
                let mut log = log_to(tx, job);
                match crate::backup::restore(&project_dir, &backup_dir, yes) {
                    Ok(r) => {
                        for line in crate::backup::restore_lines(&r) {
                            log(line);
                        }
                        JobEvent::Restored(Box::new(r))
                    }
                    Err(e) => JobEvent::Failed(format!("{e:#}")),
                }
            }),
            Effect::WriteReport { job, dir, report } => {
                spawn_job(&self.tx, job, "report", move |_| {
                    let md = dir.join("report.md");
                    let json = dir.join("report.json");
                    let text = serde_json::to_vec_pretty(&*report).unwrap_or_default();
                    match write_file(&md, report.markdown().as_bytes())
                        .and_then(|()| write_file(&json, &text))
                    {
                        Ok(()) => JobEvent::ReportWritten(vec![md, json]),
                        Err(e) => JobEvent::Failed(format!("{e:#}")),
                    }
                })
            }
            Effect::CheckResume { job, input } => {
                let password = self.password.clone();
                spawn_job(&self.tx, job, "resume-check", move |_| {
                    let seen = crate::resume_check::observe(&input, password.as_ref());
                    JobEvent::Checked(Box::new(seen))
                })
            }
            Effect::Pause { job, paused } => {
                if let Some(c) = self.jobs.get(&job) {
                    c.pause.store(paused, Ordering::SeqCst);
                }
            }
            Effect::Cancel { job } => {
                if let Some(c) = self.jobs.get(&job) {
                    c.cancel.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// The password of `role`, held here in memory only.
    fn secret(&self, role: Role) -> Option<Secret> {
        match role {
            Role::App => self.password.clone(),
            Role::Admin => self.admin_password.clone(),
        }
    }

    /// Register the control flags of a new job.
    pub fn control(&mut self, job: JobId) -> JobControl {
        self.jobs.entry(job).or_default().clone()
    }
}

/// How often Cutover looks at the SQLite file while the app still runs, at most.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Cutover's watch: a look at what changed every [`WATCH_EVERY`] (or, on a file that takes
/// long to read, twice as long as a look takes, so the watch never keeps a core busy)
/// until cancelled (the user said the app is stopped, or skipped the step). Reads the
/// SQLite file only.
fn watch_changes(
    tx: &Sender<Msg>,
    job: JobId,
    sqlite: &std::path::Path,
    config: &crate::pg::ConnConfig,
    stop: &crate::copy::Stop,
) -> JobEvent {
    loop {
        let started = Instant::now();
        match crate::copy::sync::look(sqlite, config) {
            Ok(look) => {
                let _ = tx.send(Msg::Job(job, JobEvent::ChangesSeen(Box::new(look))));
            }
            Err(e) => return JobEvent::Failed(format!("{e:#}")),
        }
        let next = Instant::now() + WATCH_EVERY.max(started.elapsed() * 2);
        while Instant::now() < next {
            if stop.cancel.load(Ordering::SeqCst) {
                return JobEvent::Cancelled;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Run `work` on a thread of its own and report its event as job `job`. A panic in the work
/// (or in any thread it scoped) does not hang the run: it becomes a failed step that names
/// the panic, so the driver ends or the user retries. `name` is the job's kind, for the
/// thread's name and the internal-error message.
pub fn spawn_job(
    tx: &Sender<Msg>,
    job: JobId,
    name: &'static str,
    work: impl FnOnce(&Sender<Msg>) -> JobEvent + Send + 'static,
) {
    let worker_tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("dj2pg-{name}"))
        .spawn(move || {
            let tx = worker_tx;
            let event = match std::panic::catch_unwind(AssertUnwindSafe(|| {
                inject_panic(name);
                work(&tx)
            })) {
                Ok(event) => event,
                Err(payload) => JobEvent::Failed(internal_error(name, payload.as_ref())),
            };
            let _ = tx.send(Msg::Job(job, event));
        });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Job(
            job,
            JobEvent::Failed(format!("could not start the {name} job: {e}")),
        ));
    }
}

/// The failed step's message for a panic: what it said and where, and what to do.
fn internal_error(name: &str, payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let at = LAST_PANIC_AT
        .lock()
        .map(|mut l| l.take())
        .unwrap_or_default()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    format!(
        "internal error in the {name} job: {what}{at} — please report it (nothing was lost; \
         the step can run again)"
    )
}

/// Where the last panic of a worker thread happened (the payload does not say).
static LAST_PANIC_AT: Mutex<Option<String>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// Panics of worker threads are reported as failed steps, so they print nothing (printing
/// would scribble over the wizard's screen); the main thread's go to the previous hook.
/// `DJ2PG_DEBUG_PANICS` set prints workers' panics too, for debugging (not
/// `RUST_BACKTRACE`, which CI and many shells set for other reasons).
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        let verbose = std::env::var_os("DJ2PG_DEBUG_PANICS").is_some();
        std::panic::set_hook(Box::new(move |info| {
            // A job's panic becomes its Failed event (shown in the step): keep the terminal
            // clean of it. Any other thread's panic (main, a test's thread) prints as usual.
            let main = !std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("dj2pg-"));
            if !main {
                if let Ok(mut at) = LAST_PANIC_AT.lock() {
                    *at = info
                        .location()
                        .map(|l| format!("{}:{}", l.file(), l.line()));
                }
            }
            if main || verbose {
                previous(info);
            }
        }));
    });
}

/// Tests inject a panic into a job by its name (`DJ2PG_TEST_PANIC=copy`); debug builds only.
fn inject_panic(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("DJ2PG_TEST_PANIC").is_ok_and(|n| n == name) {
        panic!("injected by DJ2PG_TEST_PANIC={name}");
    }
    let _ = name;
}

/// What Create schema does about default grants before migrate.
enum GrantsBefore {
    /// None found, or the user keeps them.
    Nothing,
    /// Found and not yet answered: ask.
    Ask(crate::data::privileges::DefaultGrants),
    /// Revoke after migrate: the grants, and the relations of `public` before it.
    Revoke(
        crate::data::privileges::DefaultGrants,
        Vec<(String, String)>,
    ),
}

fn grants_before(
    target: &crate::pg::ConnConfig,
    password: Option<&Secret>,
    answer: Option<crate::data::privileges::GrantsAnswer>,
    app_roles: &[String],
) -> anyhow::Result<GrantsBefore> {
    use crate::data::privileges::GrantsAnswer;
    if answer == Some(GrantsAnswer::Keep) {
        return Ok(GrantsBefore::Nothing);
    }
    let mut client = target
        .connect(password)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(found) = crate::pg::default_grants::find(&mut client, app_roles)? else {
        return Ok(GrantsBefore::Nothing);
    };
    Ok(match answer {
        Some(_) => {
            let before = crate::pg::default_grants::relations(&mut client)?;
            GrantsBefore::Revoke(found, before)
        }
        None => GrantsBefore::Ask(found),
    })
}

fn revoke_after(
    target: &crate::pg::ConnConfig,
    password: Option<&Secret>,
    found: &crate::data::privileges::DefaultGrants,
    before: &[(String, String)],
) -> anyhow::Result<crate::pg::default_grants::Revoked> {
    let mut client = target
        .connect(password)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let after = crate::pg::default_grants::relations(&mut client)?;
    crate::pg::default_grants::revoke_new(&mut client, found, before, &after)
}

/// Connect's result: what a resume checks (the target as given: the same server, database,
/// role?), the pool and its direct connection when there is one, then the description of
/// the connection the schema and the copy will use.
fn connected(
    tx: &Sender<Msg>,
    job: JobId,
    mut client: postgres::Client,
    routed: Option<(crate::data::pg::PoolRoute, postgres::Client)>,
    host: &str,
) -> JobEvent {
    // Unreadable, the identity is not recorded, and a resume redoes Connect rather than
    // trust it.
    if let Ok(identity) = crate::resume_check::target_identity(&mut client) {
        let at = now_text();
        record(tx, job, Record::Target { identity, at });
    }
    let timeouts = crate::pg::timeouts(&mut client);
    let mut client = match routed {
        Some((route, direct)) => {
            let _ = tx.send(Msg::Job(job, JobEvent::PoolRouted(Box::new(route))));
            direct
        }
        None => client,
    };
    match crate::pg::describe(&mut client) {
        Ok(mut info) => {
            info.provider = crate::pg::provider::recognise(&mut client, host);
            info.timeouts = timeouts;
            JobEvent::Connected(Box::new(info))
        }
        Err(e) => JobEvent::Failed(format!("{e:#}")),
    }
}

/// Send a fact the step rests on, for a later resume to check (before the job's own event).
fn record(tx: &Sender<Msg>, job: JobId, r: Record) {
    let _ = tx.send(Msg::Job(job, JobEvent::Recorded(Box::new(r))));
}

/// A job's log lines, as they come, for its step's log pane.
fn log_to(tx: &Sender<Msg>, job: JobId) -> impl FnMut(String) + use<> {
    let tx = tx.clone();
    move |line| {
        let _ = tx.send(Msg::Job(job, JobEvent::Log(line)));
    }
}

/// Write `bytes` to `path` (creating its folder) atomically (see [`crate::atomic`]).
fn write_file(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::atomic::write(path, bytes)
}

/// What a reset job needs.
struct ResetJob {
    project_dir: std::path::PathBuf,
    backup_dir: std::path::PathBuf,
    scan: crate::data::backup::MigrationScan,
    selected: Vec<String>,
    python: std::path::PathBuf,
    settings_module: String,
}

/// Move the files into the backup, run makemigrations for those apps, and record what it
/// wrote (so `dj2pg restore` can tell regenerated files from edited ones).
fn reset_and_regenerate(
    job: ResetJob,
    log: &mut dyn FnMut(String),
    cancel: Arc<AtomicBool>,
) -> JobEvent {
    let report = match crate::backup::reset_migrations(
        &job.project_dir,
        &job.backup_dir,
        &job.scan,
        &job.selected,
        log,
    ) {
        Ok(r) => r,
        Err(e) => return JobEvent::Failed(format!("{e:#}")),
    };
    let apps = job
        .scan
        .apps
        .iter()
        .filter(|a| job.selected.contains(&a.label))
        .filter_map(|a| Some((a.label.clone(), a.migrations_dir.clone()?)))
        .collect();
    let input = crate::data::commands::MakeMigrationsInput {
        python: job.python,
        project_dir: job.project_dir.clone(),
        settings_module: job.settings_module,
        apps,
    };
    let made = match crate::django::make_migrations(input, log, cancel) {
        Ok(m) => m,
        Err(e) => return JobEvent::Failed(format!("{e:#}")),
    };
    if made.run.succeeded()
        && let Err(e) = crate::backup::record_regenerated(&job.project_dir, &job.backup_dir)
    {
        log(format!("could not record the regenerated files: {e:#}"));
    }
    JobEvent::ResetDone(Box::new(report), Box::new(made))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(stage: &str) -> CopyProgress {
        CopyProgress {
            stage: stage.into(),
            ..CopyProgress::default()
        }
    }

    #[test]
    fn a_new_stage_is_sent_at_once_the_same_stage_is_throttled() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut t = Throttle::new(tx, 1);
        for stage in ["analyzing", "analyzing", "verifying"] {
            t.offer(&progress(stage));
        }
        let sent: Vec<String> = rx
            .try_iter()
            .filter_map(|m| match m {
                Msg::Job(_, JobEvent::CopyProgress(p)) => Some(p.stage),
                _ => None,
            })
            .collect();
        assert_eq!(sent, ["analyzing", "verifying"]);
    }
}
