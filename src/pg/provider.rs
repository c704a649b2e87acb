//! Which managed provider runs the server, from what the server itself shows: the roles
//! each provider creates (`rds_superuser`, `cloudsqlsuperuser`, `azure_pg_admin`,
//! `neon_superuser`, Supabase's API roles), then the host name's shape. Said on Connect and
//! in the report so the user knows which of the provider's rules apply (its admin, its pool,
//! its CA file); never used to pick a recipe (those come from the role's attributes).

/// The provider and how it was recognised, from the catalog, when a provider's own roles
/// are there.
pub fn from_catalog(client: &mut postgres::Client) -> Option<String> {
    let rows = client
        .query(
            "SELECT rolname::text FROM pg_roles WHERE rolname IN ('rds_superuser',
                    'cloudsqlsuperuser', 'azure_pg_admin', 'neon_superuser', 'anon',
                    'authenticated', 'service_role')",
            &[],
        )
        .ok()?;
    let roles: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let has = |r: &str| roles.iter().any(|x| x == r);
    Some(
        if has("rds_superuser") {
            "AWS RDS/Aurora (role rds_superuser); its admin is the master user; RDS Proxy \
             keeps sessions pinned"
        } else if has("cloudsqlsuperuser") {
            "Google Cloud SQL (role cloudsqlsuperuser); its admin is postgres or a console user"
        } else if has("azure_pg_admin") {
            "Azure Database for PostgreSQL (role azure_pg_admin); its pool is PgBouncer on \
             port 6432"
        } else if has("neon_superuser") {
            "Neon (role neon_superuser); its admin is the database's _owner role; its pool is \
             the -pooler host"
        } else if has("anon") && has("authenticated") {
            "Supabase (API roles anon and authenticated); its pool is Supavisor on port 6543"
        } else {
            return None;
        }
        .to_string(),
    )
}

/// The provider from the host name's shape, when the catalog did not tell (DigitalOcean,
/// Heroku and Render create no role of their own that a client can see).
pub fn from_host(host: &str) -> Option<String> {
    let h = host.to_ascii_lowercase();
    let known: [(&str, &str); 8] = [
        (
            ".ondigitalocean.com",
            "DigitalOcean (host name); its admin is doadmin; direct port 25060, pools on 25061; \
             CA file ca-certificate.crt from the database's page",
        ),
        (".rds.amazonaws.com", "AWS RDS/Aurora (host name)"),
        (".neon.tech", "Neon (host name)"),
        (".supabase.co", "Supabase (host name)"),
        (".supabase.com", "Supabase (host name)"),
        (
            ".postgres.database.azure.com",
            "Azure Database for PostgreSQL (host name)",
        ),
        (
            ".render.com",
            "Render (host name); the one user owns its database",
        ),
        (
            ".compute-1.amazonaws.com",
            "Heroku (host name); the credential owns the database and cannot create roles",
        ),
    ];
    known
        .iter()
        .find(|(suffix, _)| h.ends_with(suffix))
        .map(|(_, what)| what.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_shapes_name_the_provider() {
        let p = super::from_host("db-postgresql-fra1-1.b.db.ondigitalocean.com").unwrap();
        assert!(p.starts_with("DigitalOcean"), "{p}");
        assert!(super::from_host("db.example.com").is_none());
    }
}
