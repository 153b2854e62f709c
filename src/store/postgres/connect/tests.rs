use super::*;

fn env() -> Environment {
    Environment { os_user: Some("osuser".into()), ..Environment::default() }
}

#[test]
fn a_url_is_read_as_libpq_reads_it() {
    let spec = ConnectionSpec::parse(
        "postgresql://logto_tenant:s%40cret@db.internal:6543/logto?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=9&application_name=ops",
        &env(),
    )
    .unwrap();
    assert_eq!(spec.host, Host::Tcp("db.internal".into()));
    assert_eq!((spec.port, spec.user.as_str(), spec.dbname.as_str()), (6543, "logto_tenant", "logto"));
    assert_eq!(spec.password.as_deref(), Some("s@cret"));
    assert_eq!(spec.ssl_mode, SslMode::VerifyFull);
    assert_eq!(spec.ssl_root_cert, Some(PathBuf::from("/etc/ca.pem")));
    assert_eq!(spec.connect_timeout, Duration::from_secs(9));
    assert_eq!(spec.application_name, "ops");
}

#[test]
fn a_password_with_an_unescaped_slash_or_question_mark_is_refused_without_showing_it() {
    // `port "ab" is not a number` showed the password's first characters.
    for url in [
        "postgres://postgres:ab/cdSECRET@host/db",
        "postgres://u:ab?cdSECRET@host/db",
        "postgres://u:x#SECRET@h/db",
    ] {
        let error = ConnectionSpec::parse(url, &env()).unwrap_err().to_string();
        assert!(error.contains("a /, ? or # before the @"), "{error}");
        assert!(!error.contains("XQ") && !error.contains("SECRET"), "{error}");
    }
    // An @ only in the query, after a user part without one, is read as before.
    let spec = ConnectionSpec::parse("postgres://u:p%2Fq@h/db?application_name=a", &env()).unwrap();
    assert_eq!(spec.password.as_deref(), Some("p/q"));
}

#[test]
fn a_password_with_an_unescaped_at_is_refused_without_showing_it_or_naming_a_host_from_it() {
    // The piece after the password's @ was taken as the host (and looked up in DNS) or the
    // port, in the message and in the log.
    for url in [
        "postgres://logto_admin:Tr0ub4dor@x:correcthorsebattery/staple@db.internal:5432/logto",
        "postgres://u:p@ssw0rdpart/word@127.0.0.1:5432/t1",
        "postgres://u:p@SECRET@host/db",
    ] {
        let error = ConnectionSpec::parse(url, &env()).unwrap_err().to_string();
        assert!(error.contains("more than one @") && error.contains("%40"), "{error}");
        for piece in ["correcthorse", "staple", "ssw0rd", "SECRET", "Tr0ub"] {
            assert!(!error.contains(piece), "{error}");
        }
        assert_eq!(ConnectionSpec::redacted(url), "postgres://(a URL custodian cannot read)");
    }
    // Escaped, it is read; an @ in the parameters is not the user part's.
    let spec = ConnectionSpec::parse("postgres://u:p%40ss@h/db?application_name=a@b", &env()).unwrap();
    assert_eq!(spec.password.as_deref(), Some("p@ss"));
}

#[test]
fn the_displayed_url_never_holds_the_password() {
    let spec = ConnectionSpec::parse("postgres://me:hunter2@h/db", &env()).unwrap();
    assert_eq!(spec.to_string(), "postgres://me@h:5432/db");
    assert!(!format!("{spec:?}").contains("hunter2"));
}

#[test]
fn a_redacted_url_keeps_everything_but_the_password() {
    let shown = ConnectionSpec::redacted("postgresql://role:hunter2@db:6000/logto?sslmode=require");
    assert_eq!(shown, "postgres://role@db:6000/logto");
    assert!(!ConnectionSpec::redacted("postgres://role:hunter2@db:x/logto").contains("hunter2"));
}

#[test]
fn defaults_follow_libpq() {
    let spec = ConnectionSpec::parse("postgres://127.0.0.1", &env()).unwrap();
    assert_eq!((spec.user.as_str(), spec.dbname.as_str(), spec.port), ("osuser", "osuser", 5432));
    assert_eq!(spec.ssl_mode, SslMode::Prefer);
    assert_eq!(spec.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    let socket = ConnectionSpec::parse("postgres://u@%2Ftmp%2Fsock/db", &env()).unwrap();
    assert_eq!(socket.host, Host::Socket("/tmp/sock".into()));
}

#[test]
fn an_unknown_parameter_or_sslmode_is_refused_by_name() {
    let error = ConnectionSpec::parse("postgres://u@h/db?sslmod=require", &env()).unwrap_err();
    assert!(error.to_string().contains("\"sslmod\""), "{error}");
    let error = ConnectionSpec::parse("postgres://u@h/db?sslmode=always", &env()).unwrap_err();
    assert!(error.to_string().contains("sslmode=always"), "{error}");
}

/// `$PGSSLMODE` and `$PGSSLROOTCERT` are libpq's defaults for a URL that does not name them: a
/// profile's `PGSSLMODE=verify-full` was ignored, and the certificate went unchecked (bb53 F5).
#[test]
fn pgsslmode_and_pgsslrootcert_stand_where_the_url_says_nothing() {
    let environment = Environment {
        pgsslmode: Some("verify-full".into()),
        pgsslrootcert: Some("/etc/ops-ca.pem".into()),
        ..env()
    };
    let spec = ConnectionSpec::parse("postgres://u@h/db", &environment).unwrap();
    assert_eq!(
        (spec.ssl_mode, spec.ssl_root_cert),
        (SslMode::VerifyFull, Some(PathBuf::from("/etc/ops-ca.pem")))
    );
    let spec =
        ConnectionSpec::parse("postgres://u@h/db?sslmode=disable&sslrootcert=/x.pem", &environment).unwrap();
    assert_eq!((spec.ssl_mode, spec.ssl_root_cert), (SslMode::Disable, Some(PathBuf::from("/x.pem"))));
    assert_eq!(ConnectionSpec::parse("postgres://u@h/db", &env()).unwrap().ssl_mode, SslMode::Prefer);
    let environment = Environment { pgsslmode: Some("always".into()), ..env() };
    let error = ConnectionSpec::parse("postgres://u@h/db", &environment).unwrap_err();
    assert!(error.to_string().contains("$PGSSLMODE \"always\" is not one of disable"), "{error}");
    // Only where the URL names none, and not on a unix socket, where libpq ignores it.
    let spec = ConnectionSpec::parse("postgres://u@h/db?sslmode=require", &environment).unwrap();
    assert_eq!(spec.ssl_mode, SslMode::Require);
    let environment = Environment { pgsslmode: Some("verify-full".into()), ..env() };
    let spec = ConnectionSpec::parse("postgres://u@/db?host=/run/postgresql", &environment).unwrap();
    assert_eq!(spec.ssl_mode, SslMode::Prefer);
    // libpq's `system` is said, not looked for as a file (bb54 F9).
    let error = ConnectionSpec::parse("postgres://u@h/db?sslrootcert=system", &env()).unwrap_err();
    assert!(
        error.to_string().contains("sslrootcert=system (the system's certificate store) is not read"),
        "{error}"
    );
}

#[test]
fn the_password_comes_from_pgpassword_then_pgpass() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(&pgpass, "# comment\nother:5432:*:me:wrong\nh:5432:db:me:pa\\:ss\n").unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut environment = Environment { pgpassfile: Some(pgpass.clone()), ..env() };
    let spec = ConnectionSpec::parse("postgres://me@h/db", &environment).unwrap();
    assert_eq!(spec.password.as_deref(), Some("pa:ss"));
    environment.pgpassword = Some("fromenv".into());
    let spec = ConnectionSpec::parse("postgres://me@h/db", &environment).unwrap();
    assert_eq!(spec.password.as_deref(), Some("fromenv"));
    // A file others can read is ignored, as libpq does.
    environment.pgpassword = None;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let spec = ConnectionSpec::parse("postgres://me@h/db", &environment).unwrap();
    assert_eq!(spec.password, None);
    assert_eq!(spec.pgpass_ignored.as_deref(), Some(pgpass.as_path()), "noted, to be named if refused");
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let spec = ConnectionSpec::parse("postgres://me@h/db", &environment).unwrap();
    assert_eq!(spec.pgpass_ignored, None);
    // The file is read again for each connection, as libpq reads it: a reconnect after a
    // rotation written there sent the password read at start, refused (bb53 F2).
    std::fs::write(&pgpass, "h:5432:db:me:rotated\n").unwrap();
    assert_eq!(spec.password_for_a_connection(&environment).as_deref(), Some("rotated"));
    let given = ConnectionSpec::parse("postgres://me:inurl@h/db", &environment).unwrap();
    std::fs::write(&pgpass, "h:5432:db:me:again\n").unwrap();
    assert_eq!(given.password_for_a_connection(&environment).as_deref(), Some("inurl"), "the URL's stands");
    environment.pgpassword = Some("fromenv".into());
    let from_env = ConnectionSpec::parse("postgres://me@h/db", &environment).unwrap();
    assert_eq!(from_env.password_for_a_connection(&environment).as_deref(), Some("fromenv"));
}

#[test]
fn only_a_postgres_or_postgresql_url_names_a_database_on_a_server() {
    assert!(is_postgres_url("postgres://u@h/db"));
    assert!(is_postgres_url("postgresql://u@h/db"));
    for file in ["users.redb", "postgres.redb", "./postgres://h/db", "postgres:/h/db"] {
        assert!(!is_postgres_url(file), "{file}");
    }
}

#[test]
fn an_ipv6_host_is_shown_in_brackets_and_the_debug_form_is_the_shown_url() {
    let spec = ConnectionSpec::parse("postgres://me:hunter2@[::1]:5433/db", &env()).unwrap();
    assert_eq!(spec.host, Host::Tcp("::1".into()));
    assert_eq!(spec.to_string(), "postgres://me@[::1]:5433/db");
    assert_eq!(format!("{spec:?}"), "ConnectionSpec(postgres://me@[::1]:5433/db)");
}

#[test]
fn without_a_host_the_url_means_the_local_socket_directory_where_there_is_one_else_localhost() {
    let spec = ConnectionSpec::parse("postgres:///db", &env()).unwrap();
    let expected = if Path::new("/var/run/postgresql").is_dir() {
        Host::Socket("/var/run/postgresql".into())
    } else {
        Host::Tcp("localhost".into())
    };
    assert_eq!(spec.host, expected);
}

#[test]
fn a_spec_has_a_password_only_when_the_url_or_the_environment_gave_one() {
    assert!(ConnectionSpec::parse("postgres://me:pw@h/db", &env()).unwrap().has_password());
    assert!(!ConnectionSpec::parse("postgres://me@h/db", &env()).unwrap().has_password());
}

#[test]
fn a_redacted_url_without_a_user_is_still_shown() {
    assert_eq!(ConnectionSpec::redacted("postgres://h:6000/logto"), "postgres://-@h:6000/logto");
}

/// A port out of range is said to be one, not "not a number" (bb27 Q02).
#[test]
fn a_port_out_of_range_is_said_to_be_out_of_range() {
    for (url, said) in [
        ("postgres://u@h:99999/db", r#"port "99999" is not a port: ports are 1 to 65535"#),
        ("postgres://u@h:0/db", r#"port "0" is not a port: ports are 1 to 65535"#),
        ("postgres://u@h:5x/db", r#"port "5x" is not a number"#),
        ("postgres://u@h/db?port=70000", "port=70000 is not a port: ports are 1 to 65535"),
        ("postgres://u@h/db?port=-1", "port=-1 is not a number"),
    ] {
        let error = ConnectionSpec::parse(url, &env()).unwrap_err().to_string();
        assert_eq!(error, format!("bad database URL: {said}"), "{url}");
    }
    assert_eq!(ConnectionSpec::parse("postgres://u@h:65535/db", &env()).unwrap().port, 65535);
}
