//! The connection side of Fix permissions and Create schema, on PostgreSQL 15 and 17: TLS
//! against the harness's self-signed certificate (require, verify-full with the wrong and the
//! right CA), and recognising a connection pool in front of the server.

mod common;

use common::*;
use dj2pg::pg::privileges::{check_pool, pool_by_port, pool_from_error};
use dj2pg::pg::{Field, SslMode};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

#[test]
fn tls_modes_pg15() {
    tls_modes(15)
}

#[test]
fn tls_modes_pg17() {
    tls_modes(17)
}

fn tls_modes(major: u32) {
    let c = cluster_pg(major);
    let ssl = scalar(
        &c.app(),
        c.app_password(),
        "SELECT ssl::text || ' ' || current_setting('server_version_num') FROM pg_stat_ssl \
         WHERE pid = pg_backend_pid()",
    )
    .expect("a row");
    assert!(ssl.starts_with(&format!("true {major}")), "require: {ssl}");

    let other_ca = tempfile::tempdir().expect("tempdir");
    let wrong = other_ca.path().join("other-ca.crt");
    std::fs::write(&wrong, another_self_signed_cert()).expect("write CA");
    let mut config = c.app();
    config.sslmode = SslMode::VerifyFull;
    config.sslrootcert = Some(wrong);
    let e = config
        .connect(Some(c.app_password()))
        .err()
        .expect("verify-full with the wrong CA is refused");
    assert_eq!(e.field, Field::CaFile, "{e}");
    assert!(e.message.contains("certificate"), "{e}");

    config.sslrootcert = Some(c.ca_file().to_path_buf());
    exec(&config, c.app_password(), "SELECT 1");
}

/// A CA that did not sign the server's certificate.
fn another_self_signed_cert() -> Vec<u8> {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "localhost")
        .unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    b.build().to_pem().unwrap()
}

#[test]
fn pool_ports_and_pgbouncer_errors_are_recognised() {
    let (mut config, _) =
        dj2pg::pg::ConnConfig::from_url("postgresql://doadmin@db-x.ondigitalocean.com:25061/pool")
            .expect("url");
    let f = pool_by_port(&config).expect("25061 is a pool port");
    assert_eq!(f.direct_port, Some(25060));
    assert!(f.advice.contains("port 25060"), "{}", f.advice);
    assert!(
        f.advice.contains("DISABLE_SERVER_SIDE_CURSORS"),
        "{}",
        f.advice
    );
    let f = pool_from_error(&config, "unsupported startup parameter: options").expect("pgbouncer");
    assert_eq!(f.direct_port, Some(25060));
    config.port = 25060;
    assert!(pool_by_port(&config).is_none());
    assert!(pool_from_error(&config, "password authentication failed").is_none());
}

/// Something between us and the server (a pool, a forwarder) shows as a port mismatch.
#[test]
fn a_forwarder_in_front_of_the_server_is_detected() {
    let c = cluster_pg(17);
    assert!(
        check_pool(&c.app(), Some(c.app_password()))
            .expect("direct")
            .is_none(),
        "the direct port is not a pool"
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let proxy_port = listener.local_addr().expect("addr").port();
    let server_port = c.port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                continue;
            };
            pipe(
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            pipe(server, client);
        }
    });
    let mut via = c.app();
    via.port = proxy_port;
    let f = check_pool(&via, Some(c.app_password()))
        .expect("connects through the forwarder")
        .expect("the forwarder is noticed");
    assert_eq!(f.direct_port, Some(server_port));
    assert!(
        f.reason.contains(&format!("dialled port {proxy_port}")),
        "{}",
        f.reason
    );
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}
