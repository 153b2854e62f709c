//! How custodian reaches a PostgreSQL server: a `postgres://` / `postgresql://` URL read the
//! way libpq reads it (host, port, user, password, database, `sslmode`, `sslrootcert`,
//! `connect_timeout`, `application_name`), the password from the URL, `$PGPASSWORD` or
//! `~/.pgpass`, and TLS through rustls. The password is kept out of every message.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::store::StoreError;

/// libpq's default when the URL says nothing.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `text` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// A port as the URL writes it; else why not: `99999` is a number, out of range (it was "is
/// not a number": bb27 Q02).
fn port_number(text: &str) -> Result<u16, &'static str> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not a number");
    }
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err("is not a port: ports are 1 to 65535"),
    }
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it; the certificate is not checked (libpq's default).
    Prefer,
    /// TLS or nothing; the certificate is checked only when `sslrootcert` is given.
    Require,
    /// TLS, and the certificate must chain to `sslrootcert`.
    VerifyCa,
    /// As VerifyCa, and the certificate must name the host.
    VerifyFull,
}

/// Where a unix socket or a TCP host is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Tcp(String),
    Socket(PathBuf),
}

/// Everything needed to connect, read from a URL and the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionSpec {
    pub host: Host,
    pub port: u16,
    pub user: String,
    password: Option<String>,
    pub dbname: String,
    pub ssl_mode: SslMode,
    pub ssl_root_cert: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub application_name: String,
    /// A password file left unread because group or others may read it (as libpq leaves
    /// it): named when the server then refuses the role, since nothing else would say why.
    pub pgpass_ignored: Option<PathBuf>,
    /// Neither the URL nor `$PGPASSWORD` gave a password: the password file is read again at
    /// every connection, as libpq reads it, so a reconnect after a rotation written there
    /// connects (it kept the password read at start and was refused, bb53 F2).
    password_from_file: bool,
}

impl fmt::Debug for ConnectionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionSpec({self})")
    }
}

/// The URL without its password: what messages, logs and `info` show.
impl fmt::Display for ConnectionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Tcp(host) if host.contains(':') => {
                write!(f, "postgres://{}@[{host}]:{}/{}", self.user, self.port, self.dbname)
            }
            Host::Tcp(host) => write!(f, "postgres://{}@{host}:{}/{}", self.user, self.port, self.dbname),
            Host::Socket(dir) => {
                write!(
                    f,
                    "postgres://{}@/{}?host={}&port={}",
                    self.user,
                    self.dbname,
                    dir.display(),
                    self.port
                )
            }
        }
    }
}

/// An `sslmode` as libpq names it, from the URL (`sslmode=`) or the environment (`$PGSSLMODE`).
fn ssl_mode_named(value: &str, given_as: &str) -> Result<SslMode, StoreError> {
    Ok(match value {
        "disable" => SslMode::Disable,
        // libpq's `allow` tries without TLS first; custodian prefers TLS.
        "allow" | "prefer" => SslMode::Prefer,
        "require" => SslMode::Require,
        "verify-ca" => SslMode::VerifyCa,
        "verify-full" => SslMode::VerifyFull,
        other => {
            let given = if given_as.ends_with('=') {
                format!("{given_as}{other}")
            } else {
                format!("{given_as} {other:?}")
            };
            return Err(bad_url(format!(
                "{given} is not one of disable, prefer, require, verify-ca, verify-full"
            )));
        }
    })
}

fn bad_url(reason: impl fmt::Display) -> StoreError {
    StoreError::Connection(format!("bad database URL: {reason}"))
}

/// Undoes `%XX` escapes (a unix socket path or a password may need them).
fn percent_decode(text: &str) -> Result<String, StoreError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(|| bad_url("a % not followed by two hex digits"))?;
            let byte =
                u8::from_str_radix(hex, 16).map_err(|_| bad_url("a % not followed by two hex digits"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad_url("a %-escape that is not UTF-8"))
}

/// What the environment supplies that a URL may leave out.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub pgpassword: Option<String>,
    pub pgpassfile: Option<PathBuf>,
    pub os_user: Option<String>,
    pub home: Option<PathBuf>,
    /// libpq's defaults for a URL without `sslmode=` / `sslrootcert=`: a profile's
    /// `PGSSLMODE=verify-full` was ignored, and the server's certificate went unchecked (bb53 F5).
    pub pgsslmode: Option<String>,
    pub pgsslrootcert: Option<PathBuf>,
}

impl Environment {
    pub fn current() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            pgpassword: var("PGPASSWORD"),
            pgpassfile: var("PGPASSFILE").map(PathBuf::from),
            os_user: var("PGUSER").or_else(|| var("USER")).or_else(|| var("LOGNAME")),
            home: var("HOME").map(PathBuf::from),
            pgsslmode: var("PGSSLMODE"),
            pgsslrootcert: var("PGSSLROOTCERT").map(PathBuf::from),
        }
    }
}

impl ConnectionSpec {
    /// Reads a `postgres://user:password@host:port/dbname?param=value` URL.
    pub fn parse(url: &str, env: &Environment) -> Result<Self, StoreError> {
        let rest = url
            .strip_prefix("postgresql://")
            .or_else(|| url.strip_prefix("postgres://"))
            .ok_or_else(|| bad_url("it must start with postgres:// or postgresql://"))?;
        // An @ after a / or ? means the user name or password holds one of them unescaped:
        // cut there, a piece of the password would show as the port or a parameter.
        if let (Some(at), Some(cut)) = (rest.find('@'), rest.find(['/', '?', '#']))
            && cut < at
        {
            return Err(bad_url(
                "a /, ? or # before the @: in a user name or password write them %2F, %3F, %23 (the URL is not shown: it holds a password)",
            ));
        }
        // More than one @ before the parameters: the user name or password holds one
        // unescaped, and whichever @ was taken, a piece of the password would show as the
        // host (and be looked up in DNS) or the port.
        let before_query = rest.split(['?', '#']).next().unwrap_or(rest);
        if before_query.matches('@').count() > 1 {
            return Err(bad_url(
                "more than one @: in a user name or password write @ as %40 (the URL is not shown: it holds a password)",
            ));
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (mut user, mut password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (Some(percent_decode(user)?), Some(percent_decode(password)?)),
                None => (Some(percent_decode(info)?), None),
            },
            None => (None, None),
        };
        let (host_text, port_text) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) =
                bracketed.split_once(']').ok_or_else(|| bad_url("an unclosed [ in the host"))?;
            (host.to_owned(), after.strip_prefix(':').map(str::to_owned))
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (percent_decode(host)?, Some(port.to_owned())),
                None => (percent_decode(hostport)?, None),
            }
        };
        let mut host = if host_text.is_empty() { None } else { Some(host_text) };
        let mut port = match port_text.filter(|p| !p.is_empty()) {
            Some(port) => Some(port_number(&port).map_err(|why| bad_url(format!("port {port:?} {why}")))?),
            None => None,
        };
        let mut dbname = if path.is_empty() { None } else { Some(percent_decode(path)?) };
        let mut ssl_mode = None;
        let mut ssl_root_cert = env.pgsslrootcert.clone();
        let mut connect_timeout = DEFAULT_CONNECT_TIMEOUT;
        let mut application_name = "custodian".to_owned();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            match key {
                "sslmode" => ssl_mode = Some(ssl_mode_named(&value, "sslmode=")?),
                "sslrootcert" => ssl_root_cert = Some(PathBuf::from(value)),
                "connect_timeout" => {
                    let seconds: u64 = value
                        .parse()
                        .map_err(|_| bad_url(format!("connect_timeout={value} is not whole seconds")))?;
                    // libpq: 0 means wait forever, and anything below 2 s is taken as 2 s.
                    connect_timeout = match seconds {
                        0 => Duration::from_secs(u64::from(u32::MAX)),
                        s => Duration::from_secs(s.max(2)),
                    };
                }
                "application_name" => application_name = value,
                "host" => host = Some(value),
                "port" => {
                    port = Some(port_number(&value).map_err(|why| bad_url(format!("port={value} {why}")))?)
                }
                "user" => user = Some(value),
                "password" => password = Some(value),
                "dbname" => dbname = Some(value),
                other => {
                    return Err(bad_url(format!(
                        "unknown parameter {other:?} (custodian reads sslmode, sslrootcert, connect_timeout, application_name, host, port, user, password, dbname)"
                    )));
                }
            }
        }
        let host = match host {
            Some(h) if h.starts_with('/') => Host::Socket(PathBuf::from(h)),
            Some(h) => Host::Tcp(h),
            None if Path::new("/var/run/postgresql").is_dir() => Host::Socket("/var/run/postgresql".into()),
            None => Host::Tcp("localhost".into()),
        };
        // `$PGSSLMODE` only where the URL names none, and not on a unix socket, where libpq
        // ignores it (a profile's `PGSSLMODE=require` would refuse every socket URL: review).
        let ssl_mode = match (ssl_mode, &env.pgsslmode, &host) {
            (Some(mode), _, _) => mode,
            (None, Some(mode), Host::Tcp(_)) => ssl_mode_named(mode, "$PGSSLMODE")?,
            (None, _, _) => SslMode::Prefer,
        };
        // libpq 16 reads `system` as the system's certificate store, which custodian does not:
        // said, not looked for as a file named `system` (bb54 F9).
        if ssl_root_cert.as_deref() == Some(Path::new("system")) {
            return Err(bad_url(
                "sslrootcert=system (the system's certificate store) is not read by custodian: name the file of the server's certificate authority",
            ));
        }
        let user = user
            .filter(|u| !u.is_empty())
            .or_else(|| env.os_user.clone())
            .ok_or_else(|| bad_url("no user in the URL and none in $PGUSER or $USER"))?;
        let port = port.unwrap_or(5432);
        let dbname = dbname.filter(|d| !d.is_empty()).unwrap_or_else(|| user.clone());
        let mut spec = Self {
            host,
            port,
            user,
            password,
            dbname,
            ssl_mode,
            ssl_root_cert,
            connect_timeout,
            application_name,
            pgpass_ignored: None,
            password_from_file: false,
        };
        if spec.password.is_none() {
            spec.password_from_file = env.pgpassword.is_none();
            spec.password = match &env.pgpassword {
                Some(password) => Some(password.clone()),
                None => spec.password_from_pgpass(env),
            };
        }
        Ok(spec)
    }

    /// `url` as messages and logs may show it: without its password (and without reading
    /// `~/.pgpass`); a URL that cannot be read is not repeated at all.
    pub fn redacted(url: &str) -> String {
        let env = Environment { os_user: Some("-".into()), ..Environment::default() };
        match Self::parse(url, &env) {
            Ok(spec) => spec.to_string(),
            Err(_) => "postgres://(a URL custodian cannot read)".to_owned(),
        }
    }

    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The password for this connection in `~/.pgpass` (or `$PGPASSFILE`): the first line
    /// whose host, port, database and user match (`*` matches anything). libpq ignores a
    /// file that group or others can read, and so does custodian (noting it).
    fn password_from_pgpass(&mut self, env: &Environment) -> Option<String> {
        use std::os::unix::fs::PermissionsExt;
        let path = env.pgpassfile.clone().or_else(|| env.home.as_ref().map(|h| h.join(".pgpass")))?;
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() {
            return None;
        }
        if meta.permissions().mode() & 0o077 != 0 {
            self.pgpass_ignored = Some(path);
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let host = match &self.host {
            Host::Tcp(h) => h.clone(),
            // libpq matches a socket connection against `localhost`.
            Host::Socket(_) => "localhost".to_owned(),
        };
        let port = self.port.to_string();
        let wanted = [host.as_str(), port.as_str(), self.dbname.as_str(), self.user.as_str()];
        text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
            let fields = split_pgpass_line(line);
            if fields.len() != 5 {
                return None;
            }
            let matches = fields.iter().zip(wanted).all(|(field, want)| field == "*" || field == want);
            matches.then(|| fields[4].clone())
        })
    }

    /// The password a connection made now sends: the one given, or the password file's as it
    /// reads now ([`ConnectionSpec::password_from_file`]).
    fn password_for_a_connection(&self, env: &Environment) -> Option<String> {
        if !self.password_from_file {
            return self.password.clone();
        }
        let mut again = self.clone();
        match again.password_from_pgpass(env) {
            Some(password) => Some(password),
            // None at start either: nothing to say (every connection over `trust` warned of a
            // password file problem there was not: bb78 F5).
            None if self.password.is_none() => None,
            None => {
                // The file gone, unreadable, or now open to others (a rotation that wrote it
                // 0644): the password read at start is sent, and the log says why.
                tracing::warn!(ignored = ?again.pgpass_ignored, "the password file gave no password this time: the one read at start is sent");
                self.password.clone()
            }
        }
    }

    /// The client configuration: the server, the role, and the TLS the URL asks for.
    pub fn client_config(
        &self,
    ) -> Result<(postgres::Config, tokio_postgres_rustls::MakeRustlsConnect), StoreError> {
        let mut config = postgres::Config::new();
        match &self.host {
            Host::Tcp(host) => config.host(host),
            Host::Socket(dir) => config.host_path(dir),
        };
        config
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .connect_timeout(self.connect_timeout)
            // A network that drops without a word (no reset, a partition) is found out by the
            // kernel after 30 s of silence and three unanswered probes 10 s apart, about a
            // minute — not the system's default of some eleven minutes — and a call waiting on
            // it ends as "connection lost".
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
        if let Some(password) = self.password_for_a_connection(&Environment::current()) {
            config.password(&password);
        }
        config.ssl_mode(match self.ssl_mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => postgres::config::SslMode::Require,
        });
        Ok((config, self.tls()?))
    }

    /// The TLS the URL asks for (a cancel request needs it alone: no password file read on
    /// the screen's thread for it).
    pub fn tls(&self) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Connection(format!("TLS setup: {e}")))?;
        // libpq: `require` with a root certificate given checks the chain, like verify-ca.
        let mode = match (self.ssl_mode, &self.ssl_root_cert) {
            (SslMode::Require, Some(_)) => SslMode::VerifyCa,
            (mode, _) => mode,
        };
        let config = match mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
                .with_no_client_auth(),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = self.root_certificates()?;
                let webpki =
                    rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| StoreError::Connection(format!("TLS setup: {e}")))?;
                let verifier: Arc<dyn ServerCertVerifier> =
                    if mode == SslMode::VerifyCa { Arc::new(ChainOnly { inner: webpki }) } else { webpki };
                builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
            }
        };
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }

    /// The certificates of `sslrootcert`, by default `~/.postgresql/root.crt` as libpq.
    fn root_certificates(&self) -> Result<RootCertStore, StoreError> {
        use rustls::pki_types::pem::PemObject;
        let path = match &self.ssl_root_cert {
            Some(path) => path.clone(),
            None => Environment::current().home.map(|h| h.join(".postgresql/root.crt")).ok_or_else(|| {
                StoreError::Connection(
                    "sslmode needs sslrootcert= (no $HOME for ~/.postgresql/root.crt)".into(),
                )
            })?,
        };
        let unreadable =
            |e: &dyn fmt::Display| StoreError::Connection(format!("sslrootcert {}: {e}", path.display()));
        let mut roots = RootCertStore::empty();
        let certificates = CertificateDer::pem_file_iter(&path).map_err(|e| unreadable(&e))?;
        for certificate in certificates {
            let certificate = certificate.map_err(|e| unreadable(&e))?;
            roots.add(certificate).map_err(|e| unreadable(&e))?;
        }
        if roots.is_empty() {
            return Err(unreadable(&"no certificate in the file"));
        }
        Ok(roots)
    }
}

/// Splits a `.pgpass` line at unescaped colons, undoing `\:` and `\\`.
fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next()
                    && let Some(field) = fields.last_mut()
                {
                    field.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

/// `sslmode=prefer|require` without a root certificate: encrypted, the server not checked
/// (libpq does the same). Handshake signatures are still verified.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in it is not checked.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext {
                ..
            })) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests;
