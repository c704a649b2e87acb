//! The four fix recipes: their exact SQL, and whether each can work for this admin, predicted
//! from the diagnosis before anything runs. Pure.
//!
//! The rules mirrored here (PostgreSQL's own checks, decided by capabilities, not by version):
//! - granting a privilege needs it WITH GRANT OPTION or ownership (`public` belongs to
//!   `pg_database_owner` from 15 on, i.e. to whoever owns the database);
//! - `ALTER DATABASE ... OWNER TO r` needs ownership of the database, CREATEDB, and the right to
//!   become `r`: `must be able to SET ROLE "r"` on 16+, `must be member of role "r"` before;
//! - `CREATE SCHEMA ... AUTHORIZATION r` needs CREATE on the database and that same right;
//! - granting membership in `r` needs ADMIN OPTION on `r` on 16+ (CREATEROLE gives it only for
//!   roles the admin created: `permission denied to grant role "r"`); before 16 CREATEROLE was
//!   enough for any role but a superuser.

use crate::data::privileges::{
    AdminFacts, Diagnosis, Goal, Recipe, RecipeId, RecipeOptions, RolesAfter,
};
use crate::pg::quote_ident as ident;

/// Every recipe for this diagnosis, in the order A, B, C, D; the first available of A, B, D,
/// C is marked recommended (A, the least intrusive, whenever it can work).
pub fn recipes(diag: &Diagnosis, opts: &RecipeOptions) -> Vec<Recipe> {
    let admin_name = diag
        .admin
        .as_ref()
        .map_or(opts.admin_role.as_str(), |a| a.role.as_str());
    let ctx = Ctx {
        diag,
        admin: diag.admin.as_ref(),
        admin_name,
        app: &diag.app.role,
        db: &diag.database,
        schema: &diag.schema,
    };
    let own = opts.own_schema.as_deref().unwrap_or(&diag.app.role);
    let mut all = vec![
        ctx.grant_schema(),
        ctx.own_schema(own),
        ctx.runtime_role(),
        ctx.make_owner(),
    ];
    let pick = [
        RecipeId::GrantSchema,
        RecipeId::OwnSchema,
        RecipeId::MakeOwner,
        RecipeId::RuntimeRole,
    ]
    .into_iter()
    .find(|id| all.iter().any(|r| r.id == *id && r.available.is_ok()));
    for r in &mut all {
        r.recommended = Some(r.id) == pick;
    }
    all
}

struct Ctx<'a> {
    diag: &'a Diagnosis,
    admin: Option<&'a AdminFacts>,
    admin_name: &'a str,
    app: &'a str,
    db: &'a str,
    schema: &'a str,
}

impl Ctx<'_> {
    fn recipe(&self, id: RecipeId, title: &str, explanation: String, goal: Goal) -> Recipe {
        let app = self.app.to_string();
        Recipe {
            id,
            title: title.to_string(),
            explanation,
            sql: Vec::new(),
            database: self.db.to_string(),
            available: Ok(()),
            recommended: false,
            goal,
            roles_after: RolesAfter {
                schema_and_copy: app.clone(),
                settings_user: app,
                search_path: None,
            },
            extension: None,
        }
    }

    /// The admin's facts, or why availability could not be decided.
    fn admin(&self) -> Result<&AdminFacts, String> {
        self.admin.ok_or_else(|| {
            "not checked: no admin credentials were given (enter them, or save the SQL for a DBA)"
                .to_string()
        })
    }

    /// `GRANT CONNECT` first when the app role may not connect.
    fn connect_prefix(&self, sql: &mut Vec<String>) -> Result<(), String> {
        if self.diag.app.connect {
            return Ok(());
        }
        sql.push(format!(
            "GRANT CONNECT ON DATABASE {} TO {}",
            ident(self.db),
            ident(self.app)
        ));
        let a = self.admin()?;
        if a.is_superuser || a.database_connect_grant {
            Ok(())
        } else {
            Err(format!(
                "{} has no CONNECT privilege on {} and {} may not grant it (not the owner, no \
                 grant option)",
                self.app, self.db, a.role
            ))
        }
    }

    /// The right to become the app role, granted first where the admin may grant it.
    fn set_role_prefix(&self, sql: &mut Vec<String>, needs: &str) -> Result<(), String> {
        let a = self.admin()?;
        if a.is_superuser || a.can_set_role_app {
            return Ok(());
        }
        let can_grant = !a.app_is_superuser
            && (a.admin_option_on_app || (!a.membership_rules_16 && a.createrole));
        if can_grant {
            sql.push(format!("GRANT {} TO {}", ident(self.app), ident(&a.role)));
            return Ok(());
        }
        Err(if a.membership_rules_16 {
            format!(
                "{needs} needs {admin} to be able to SET ROLE \"{app}\" (PostgreSQL: must be able \
                 to SET ROLE \"{app}\"), and {admin} cannot grant itself \"{app}\": since \
                 PostgreSQL 16 CREATEROLE gives ADMIN OPTION only on roles {admin} created \
                 (permission denied to grant role \"{app}\"). A superuser or the role's creator \
                 must run GRANT {qapp} TO {qadmin} first",
                admin = a.role,
                app = self.app,
                qapp = ident(self.app),
                qadmin = ident(&a.role)
            )
        } else {
            format!(
                "{needs} needs {admin} to be a member of role \"{app}\" (PostgreSQL: must be \
                 member of role \"{app}\"), and {admin} may not grant it ({})",
                if a.app_is_superuser {
                    format!("{} is a superuser", self.app)
                } else {
                    format!("{} has neither CREATEROLE nor ADMIN OPTION on it", a.role)
                },
                admin = a.role,
                app = self.app
            )
        })
    }

    /// Tables in the schema that the app role could not alter after A or D.
    fn foreign_tables(&self) -> Result<(), String> {
        let n = &self.diag.app.not_owned;
        match n.first() {
            None => Ok(()),
            Some(o) => Err(format!(
                "{} object(s) in {} already belong to other roles ({} {} is {}'s): {} could not \
                 alter them after this fix; use B (a fresh schema) or C (the owner keeps them)",
                n.len(),
                self.schema,
                o.kind,
                o.name,
                o.owner,
                self.app
            )),
        }
    }

    fn grant_schema(&self) -> Recipe {
        let s = self.schema;
        let mut r = self.recipe(
            RecipeId::GrantSchema,
            &format!("Grant USAGE and CREATE on schema {s} to {}", self.app),
            format!(
                "The usual fix. {app} may then create tables in {s}; Django's migrate and the \
                 copy run as {app}, which owns the tables. Nothing else changes.",
                app = self.app
            ),
            Goal::AppOwnsTables { schema: s.into() },
        );
        let available = self.connect_prefix(&mut r.sql);
        r.sql.push(format!(
            "GRANT USAGE, CREATE ON SCHEMA {} TO {}",
            ident(s),
            ident(self.app)
        ));
        r.available = available.and_then(|()| {
            let a = self.admin()?;
            if !a.schema_exists {
                return Err(format!(
                    "schema {s} does not exist in {} (B creates one)",
                    self.db
                ));
            }
            if !(a.is_superuser || a.schema_grant_option) {
                return Err(format!(
                    "{} may not grant privileges on schema {s}: it is {}'s and {} holds no \
                     grant option on it",
                    a.role,
                    a.schema_owner.as_deref().unwrap_or("someone else"),
                    a.role
                ));
            }
            self.foreign_tables()
        });
        r
    }

    fn own_schema(&self, name: &str) -> Recipe {
        let app = self.app;
        let path = search_path_value(name);
        let options = format!("{{\"options\": \"{}\"}}", search_path_option(name));
        let mut r = self.recipe(
            RecipeId::OwnSchema,
            &format!("A schema {name} owned by {app}"),
            format!(
                "Creates schema {name} belonging to {app} and makes it {app}'s search_path in \
                 {db}. The tables go there instead of public; the settings must set \
                 search_path={path} (OPTIONS: {options}).",
                db = self.db,
            ),
            Goal::AppOwnsTables {
                schema: name.into(),
            },
        );
        r.roles_after.search_path = Some(path);
        let mut sql = Vec::new();
        // Collect the SQL whatever the verdict, so a DBA sees all of it; keep the first reason.
        let mut available = self.connect_prefix(&mut sql);
        let existing = self.diag.schemas.iter().find(|(n, _)| n == name);
        if let Some((_, owner)) = existing.filter(|(_, o)| o != app) {
            available = available.and(Err(format!(
                "schema {name} already exists and belongs to {owner}: choose another name"
            )));
        }
        let creates = existing.is_none();
        match self.admin() {
            Err(e) => available = available.and(Err(e)),
            Ok(a) if !a.is_superuser => {
                let needs = format!("CREATE SCHEMA ... AUTHORIZATION {app}");
                available = available.and(self.set_role_prefix(&mut sql, &needs));
                if creates && !a.database_create {
                    available = available.and(Err(format!(
                        "{} has no CREATE privilege on database {}, needed to create a schema",
                        a.role, self.db
                    )));
                }
            }
            Ok(_) => {}
        }
        if creates {
            sql.push(format!(
                "CREATE SCHEMA {} AUTHORIZATION {}",
                ident(name),
                ident(app)
            ));
        }
        sql.extend(self.set_search_path_sql(name));
        r.sql = sql;
        r.available = available;
        r
    }

    /// Make schema `name` the app role's `search_path` in the database. ALTER ROLE ... SET
    /// on another role needs CREATEROLE plus ADMIN OPTION on 16+; a role may always change
    /// its own settings, so a non-superuser admin does it as the app role.
    fn set_search_path_sql(&self, name: &str) -> Vec<String> {
        let app = self.app;
        let set_path = format!(
            "ALTER ROLE {} IN DATABASE {} SET search_path = {}",
            ident(app),
            ident(self.db),
            ident(name)
        );
        if self.admin.is_some_and(|a| a.is_superuser) {
            vec![set_path]
        } else {
            vec![
                format!("SET LOCAL ROLE {}", ident(app)),
                set_path,
                "RESET ROLE".into(),
            ]
        }
    }

    fn runtime_role(&self) -> Recipe {
        let (s, app, admin) = (self.schema, self.app, self.admin_name);
        let mut r = self.recipe(
            RecipeId::RuntimeRole,
            &format!("{admin} owns the tables, {app} only reads and writes rows"),
            format!(
                "Django's migrate and the copy run as {admin}, which owns the tables; {app} may \
                 read, add, change and delete rows in every table of {s} (SELECT, INSERT, \
                 UPDATE, DELETE; USAGE, SELECT on the sequences), also in the tables later \
                 migrations create (ALTER DEFAULT PRIVILEGES). The settings use {app} (a \
                 \"runtime role\"); migrations must later run as {admin}."
            ),
            Goal::RuntimeRole {
                schema: s.into(),
                admin: admin.into(),
            },
        );
        r.roles_after.schema_and_copy = admin.into();
        let available = self.connect_prefix(&mut r.sql);
        let (qs, qapp, qadmin) = (ident(s), ident(app), ident(admin));
        r.sql.extend([
            format!("GRANT USAGE ON SCHEMA {qs} TO {qapp}"),
            format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {qs} TO {qapp}"),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {qs} TO {qapp}"),
            format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {qadmin} IN SCHEMA {qs} \
                 GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {qapp}"
            ),
            format!(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {qadmin} IN SCHEMA {qs} \
                 GRANT USAGE, SELECT ON SEQUENCES TO {qapp}"
            ),
        ]);
        r.available = available.and_then(|()| {
            let a = self.admin()?;
            if a.role == app {
                return Err(format!("the admin and the app are the same role ({app})"));
            }
            if !a.schema_exists {
                return Err(format!("schema {s} does not exist in {}", self.db));
            }
            if !(a.is_superuser || (a.schema_usage && a.schema_create)) {
                return Err(format!(
                    "{} may not create tables in {s} itself (it would run migrate)",
                    a.role
                ));
            }
            if !(a.is_superuser || a.schema_grant_option) {
                return Err(format!(
                    "{} may not grant USAGE on schema {s} (not its owner, no grant option)",
                    a.role
                ));
            }
            Ok(())
        });
        r
    }

    fn make_owner(&self) -> Recipe {
        let (db, app) = (self.db, self.app);
        let mut r = self.recipe(
            RecipeId::MakeOwner,
            &format!("Make {app} the owner of database {db}"),
            format!(
                "{app} becomes the owner of {db}, hence of schema public (it belongs to \
                 pg_database_owner since PostgreSQL 15): it may create there and grant others. \
                 The admin no longer owns {db}."
            ),
            Goal::AppOwnsTables {
                schema: self.schema.into(),
            },
        );
        let mut sql = Vec::new();
        let available = self.connect_prefix(&mut sql).and_then(|()| {
            if self.diag.app.owns_database {
                return Err(format!("{app} already owns {db}"));
            }
            let owner = self.diag.schemas.iter().find(|(n, _)| n == self.schema);
            if let Some((_, owner)) = owner.filter(|(_, o)| o != "pg_database_owner") {
                return Err(format!(
                    "schema {} belongs to {owner}, not to pg_database_owner: owning the database \
                     would not let {app} create in it",
                    self.schema
                ));
            }
            let a = self.admin()?;
            if a.is_superuser {
                return Ok(());
            }
            if !a.owns_database {
                return Err(format!(
                    "{} does not own {db} (owner: {}): only the owner or a superuser may give it \
                     away",
                    a.role, self.diag.database_owner
                ));
            }
            if !a.createdb {
                return Err(format!(
                    "ALTER DATABASE ... OWNER TO needs the CREATEDB attribute, which {} lacks",
                    a.role
                ));
            }
            self.set_role_prefix(&mut sql, &format!("ALTER DATABASE {db} OWNER TO {app}"))?;
            self.foreign_tables()
        });
        sql.push(format!(
            "ALTER DATABASE {} OWNER TO {}",
            ident(db),
            ident(app)
        ));
        r.sql = sql;
        r.available = available;
        r
    }
}

/// The `search_path` value for a schema: bare when it is a plain lower-case identifier
/// (PostgreSQL's rule: a letter or `_`, then letters, digits, `_` or `$`), double-quoted
/// otherwise. The one quoting rule for `search_path` (SQL, settings, messages).
pub fn search_path_value(schema: &str) -> String {
    let plain = schema
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        schema.to_string()
    } else {
        ident(schema)
    }
}

/// The libpq `options` value that sets `search_path` to `schema`: [`search_path_value`],
/// with the backslash escapes libpq needs (it splits `options` on spaces).
pub fn search_path_option(schema: &str) -> String {
    let value = search_path_value(schema)
        .replace('\\', "\\\\")
        .replace(' ', "\\ ");
    format!("-c search_path={value}")
}
