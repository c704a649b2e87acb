//! The connection side of Fix permissions and Create schema, on PostgreSQL 15 and 17: TLS
//! against the harness's self-signed certificate (require, verify-full with the wrong and the
//! right CA), and recognising a connection pool in front of the server.

mod common;

use common::*;
use dj2pg::pg::pool_route;
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
fn pgbouncer_refusing_startup_options_is_recognised() {
    assert!(pool_route::refused_startup_options(
        "unsupported startup parameter: options"
    ));
    assert!(!pool_route::refused_startup_options(
        "password authentication failed for user \"app\""
    ));
}

/// Something between us and the server (a pool, a forwarder) shows as a port mismatch; the
/// server's own port answers as the same database, so the work goes there.
#[test]
fn a_forwarder_in_front_of_the_server_is_detected() {
    let c = cluster_pg(17);
    let mut direct = connect(&c.app(), c.app_password());
    assert!(
        pool_route::route(&c.app(), None, None, Some(c.app_password()), &mut direct)
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
    let mut client = connect(&via, c.app_password());
    let (route, _) = pool_route::route(&via, None, None, Some(c.app_password()), &mut client)
        .expect("connects through the forwarder")
        .expect("the forwarder is noticed");
    assert_eq!(route.direct.port, server_port);
    assert!(
        route.reason.contains(&format!(
            "listens on port {server_port} behind port {proxy_port}"
        )),
        "{}",
        route.reason
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
