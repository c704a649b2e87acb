//! What the Fix permissions step diagnoses, the recipes it offers, and what it ran.
//!
//! Plain data: the facts read from the server ([`AppFacts`], [`AdminFacts`]), the checks made
//! from them for a [`Goal`] ([`Check`]), the [`Recipe`]s with their exact SQL and whether they
//! can work for this admin, and the [`ApplyReport`] of a run. No secrets ever appear here: the
//! SQL of a recipe names roles, schemas and databases, never a password.

use serde::{Deserialize, Serialize};

/// What has to be true for the rest of the migration to work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Goal {
    /// The app role runs Django's `migrate` in `schema`, so it owns the tables, and the copy
    /// runs as the app role too. Needs CONNECT, USAGE and CREATE on the schema, and no table
    /// in it owned by someone else. Recipes A, B and D.
    AppOwnsTables { schema: String },
    /// The admin runs `migrate` and the copy (it owns the tables); the app role is a runtime
    /// role with SELECT, INSERT, UPDATE, DELETE on every table and USAGE, SELECT on every
    /// sequence, today's and those later migrations create. Recipe C.
    RuntimeRole { schema: String, admin: String },
}

impl Goal {
    pub fn schema(&self) -> &str {
        match self {
            Goal::AppOwnsTables { schema } | Goal::RuntimeRole { schema, .. } => schema,
        }
    }
}

/// Which check a [`Check`] is, for code that must find one (the text is for people).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckKind {
    Connect,
    SchemaExists,
    SchemaUsage,
    SchemaCreate,
    TablesOwned,
    /// Recipe C: the app role may read and write every existing table and sequence.
    TableAccess,
    /// Recipe C: the admin's future tables and sequences are granted to the app role.
    DefaultPrivileges,
    /// Recipe C: the admin itself may create in the schema (it runs `migrate`).
    AdminCreate,
    /// After a recipe that creates an extension (pgvector): it is in the app database.
    Extension,
}

/// One line of the diagnosis table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub kind: CheckKind,
    /// E.g. `CREATE on schema "public"`.
    pub name: String,
    pub ok: bool,
    /// Why, in words a non-DBA can act on (who owns what, what is missing).
    pub detail: String,
}

/// A table, view or sequence in the diagnosed schema and its owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedObject {
    pub name: String,
    /// `table`, `view`, `sequence`, ...
    pub kind: String,
    pub owner: String,
}

/// What the app role may do in the app database (read as the app role where it can connect,
/// else through the admin with `has_*_privilege(role, ...)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppFacts {
    pub role: String,
    pub is_superuser: bool,
    pub connect: bool,
    /// The connection error when the app role could not connect (e.g. no CONNECT).
    pub connect_error: Option<String>,
    pub owns_database: bool,
    pub schema_exists: bool,
    pub schema_usage: bool,
    pub schema_create: bool,
    /// The role's `search_path` setting for this database (`ALTER ROLE ... IN DATABASE`).
    pub search_path_setting: Option<String>,
    /// Objects in the schema the app role does not own (it could not alter them).
    pub not_owned: Vec<OwnedObject>,
    /// Tables and sequences in the schema the app role lacks DML/sequence rights on.
    pub no_access: Vec<String>,
    /// Whether `pg_default_acl` grants the app role SELECT, INSERT, UPDATE, DELETE on the
    /// admin's future tables and USAGE, SELECT on its future sequences in the schema.
    pub default_privileges_from_admin: bool,
    /// Whether the admin named by [`Goal::RuntimeRole`] may create in the schema (it runs
    /// `migrate` there); `None` when no admin role was named.
    pub admin_schema_create: Option<bool>,
}

/// What the admin may do: decides which recipes can work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminFacts {
    pub role: String,
    pub is_superuser: bool,
    pub createrole: bool,
    pub createdb: bool,
    /// `pg_has_role(admin, app, 'MEMBER')`.
    pub member_of_app: bool,
    /// May `SET ROLE app` (`pg_has_role(.., 'SET')` where the server knows it, else MEMBER):
    /// what `ALTER DATABASE ... OWNER TO app` and `CREATE SCHEMA ... AUTHORIZATION app` need.
    pub can_set_role_app: bool,
    /// `pg_has_role(admin, app, 'MEMBER WITH ADMIN OPTION')`.
    pub admin_option_on_app: bool,
    /// `pg_auth_members.set_option` / `admin_option` of a direct membership, where the server
    /// has those columns (PostgreSQL 16+); `None` when it has not or there is no direct grant.
    pub membership_set_option: Option<bool>,
    pub membership_admin_option: Option<bool>,
    /// The server has the PostgreSQL 16+ role-membership rules (`pg_auth_members.set_option`
    /// exists): `CREATEROLE` alone no longer lets the admin grant a role it did not create.
    pub membership_rules_16: bool,
    /// The app role is a superuser (only a superuser may grant it).
    pub app_is_superuser: bool,
    pub owns_database: bool,
    pub database_create: bool,
    pub database_connect_grant: bool,
    pub schema_exists: bool,
    pub schema_owner: Option<String>,
    pub schema_usage: bool,
    pub schema_create: bool,
    /// USAGE and CREATE on the schema WITH GRANT OPTION (owners have it implicitly).
    pub schema_grant_option: bool,
}

/// The whole diagnosis, made connected to the app database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub server_version: String,
    pub server_version_num: i32,
    pub database: String,
    pub database_owner: String,
    /// The schema diagnosed (`public` unless the user chose another).
    pub schema: String,
    /// Every non-system schema of the database and its owner.
    pub schemas: Vec<(String, String)>,
    pub app: AppFacts,
    /// `None` when no admin credentials were given.
    pub admin: Option<AdminFacts>,
    /// The checks for [`Goal::AppOwnsTables`] on [`Diagnosis::schema`].
    pub checks: Vec<Check>,
    /// What Django's `migrate` and the copy need, in one or two sentences.
    pub summary: String,
    /// The `vector` extension, when a column becomes a pgvector column and the database
    /// lacks it: the admin creates it (prepended to every recipe).
    #[serde(default)]
    pub extension: Option<ExtensionNeed>,
}

/// An extension the run needs that the database lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionNeed {
    pub name: String,
    /// The statement the admin runs, connected to the app database.
    pub sql: String,
    /// The server offers it (`pg_available_extensions`); `false`: no recipe can create it.
    pub available: bool,
    /// Who may create it on this server: the provider's rule, in words.
    pub rule: String,
}

impl Diagnosis {
    /// True when every check passes: the step is done with "no fix needed".
    pub fn fix_needed(&self) -> bool {
        self.checks.iter().any(|c| !c.ok) || self.extension.is_some()
    }

    /// The failing checks.
    pub fn missing(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
}

/// The four recipes. `as_str` is the headless `--fix-permissions` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecipeId {
    /// A (default): GRANT USAGE, CREATE ON SCHEMA to the app role.
    GrantSchema,
    /// B: a schema owned by the app role, and its search_path.
    OwnSchema,
    /// C: the admin owns the tables; the app role is a runtime role.
    RuntimeRole,
    /// D: the app role owns the database.
    MakeOwner,
}

impl RecipeId {
    pub const ALL: [RecipeId; 4] = [
        RecipeId::GrantSchema,
        RecipeId::OwnSchema,
        RecipeId::RuntimeRole,
        RecipeId::MakeOwner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecipeId::GrantSchema => "grant-schema",
            RecipeId::OwnSchema => "own-schema",
            RecipeId::RuntimeRole => "runtime-role",
            RecipeId::MakeOwner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<RecipeId> {
        RecipeId::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// `A`..`D`, as the screen labels them.
    pub fn letter(self) -> char {
        match self {
            RecipeId::GrantSchema => 'A',
            RecipeId::OwnSchema => 'B',
            RecipeId::RuntimeRole => 'C',
            RecipeId::MakeOwner => 'D',
        }
    }
}

/// Choices that shape the recipes' SQL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipeOptions {
    /// The admin role named in the SQL when no admin credentials were given (a DBA script):
    /// DigitalOcean's is `doadmin`.
    pub admin_role: String,
    /// Recipe B's schema; `None` names it after the app role (then PostgreSQL's default
    /// `search_path`, `"$user", public`, finds it too).
    pub own_schema: Option<String>,
}

impl Default for RecipeOptions {
    fn default() -> RecipeOptions {
        RecipeOptions {
            admin_role: "doadmin".into(),
            own_schema: None,
        }
    }
}

/// Who the later steps connect as once a recipe ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolesAfter {
    /// The role that runs Django's `migrate` (Create schema) and the copy: it owns the tables.
    pub schema_and_copy: String,
    /// The role the generated settings use at run time.
    pub settings_user: String,
    /// The `search_path` the settings must set (`OPTIONS: {"options": "-c search_path=..."}`),
    /// when the tables are not in `public`.
    pub search_path: Option<String>,
}

/// A fix, with its exact SQL and whether it can work for this admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipe {
    pub id: RecipeId,
    pub title: String,
    /// What it does and what it changes for later, in plain words.
    pub explanation: String,
    /// The statements, run in this order in one transaction, as the admin, connected to
    /// `database`. Identifiers and literals are quoted.
    pub sql: Vec<String>,
    pub database: String,
    /// `Err(reason)` when it cannot work for this admin (predicted from its capabilities,
    /// not tried); the reason names the server's rule.
    pub available: Result<(), String>,
    /// The recipe to pre-select.
    pub recommended: bool,
    pub goal: Goal,
    pub roles_after: RolesAfter,
    /// The extension the recipe creates first (`vector`), re-checked after it ran.
    #[serde(default)]
    pub extension: Option<String>,
}

/// What running a recipe did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    pub recipe: RecipeId,
    /// The statements that ran (no secrets), in order.
    pub sql: Vec<String>,
    /// `current_database()` of the admin's session that ran them.
    pub ran_in: String,
    /// The re-check, made as the app role connected to the app database.
    pub recheck: Recheck,
}

/// The checks for a goal made after a fix (or when the user presses "re-check").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recheck {
    pub goal: Goal,
    pub database: String,
    pub checks: Vec<Check>,
    /// Every check passes. False after a fix means it reported success but changed nothing
    /// where it matters (e.g. the GRANT ran in `defaultdb`).
    pub effective: bool,
}

/// Default privileges of the role that runs `migrate` that hand every table (or sequence)
/// it creates in `public` to other roles: on Supabase, `postgres`'s new tables go to the
/// public API roles `anon` and `authenticated` (and `service_role`), so `auth_user`'s
/// password hashes and `django_session` would be readable through the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultGrants {
    /// The role whose new tables are granted.
    pub role: String,
    /// Who receives them (`PUBLIC` for everyone).
    pub grantees: Vec<String>,
    /// What they receive on tables (`SELECT`, `INSERT`, …).
    pub privileges: Vec<String>,
}

impl DefaultGrants {
    /// The grantees in a few words: `anon, authenticated and service_role`.
    pub fn grantee_words(&self) -> String {
        match self.grantees.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

/// What to do about [`DefaultGrants`] before `migrate` creates Django's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantsAnswer {
    /// Run `migrate`, then revoke those grants on the tables and sequences it created.
    Revoke,
    /// Keep them, as the provider set them (the report says so).
    Keep,
}
