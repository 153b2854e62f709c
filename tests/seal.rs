//! Sealed values through the real binary: `keygen`, `--key-file`, `set --seal`, `get --unseal`,
//! and the point of the feature, interoperability: Python's `joserfc` and Node's `jose` open
//! what custodian sealed, and custodian opens what they sealed. The two libraries are installed
//! on demand by `scripts/jose-interop-env` (under target/); a test that cannot run them fails.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};
use support::home::PrivateHome;
use support::run::Run;

const PEOPLE: &str = r#"{"id":"u1","username":"alice","primaryEmail":"alice@example.com","customData":{"theme":"dark"}}
{"id":"u2","username":"bob","primaryEmail":"bob@example.org","customData":{}}
"#;

/// A document with values worth sealing: a string, an object, an array element, a number
/// whose text (`2.50`) must survive.
const BILLING: &str = r#"{"theme": "dark",
  "billing": {"plan": "pro", "taxId": "DE123456789", "iban": {"country": "DE", "number": 1234567}},
  "apps": [{"name": "a"}, {"name": "b"}, {"name": "c", "token": "tok-3f9a-long-enough"}],
  "limits": [1, 2.50, 3]}"#;

fn billing_doc() -> Value {
    serde_json::from_str(BILLING).expect("test document")
}

const SEALED_PATHS: &[&str] = &["billing.taxId", "billing.iban", "apps[2].token", "limits[1]"];

struct Sandbox {
    home: PrivateHome,
    db: PathBuf,
}

impl Sandbox {
    /// A database with alice and bob.
    fn new() -> Self {
        let home = PrivateHome::new(&[]);
        let db = home.path("people.redb");
        let sandbox = Self { home, db };
        sandbox.run(&["init"], None).ok();
        let people = sandbox.file("people.jsonl", PEOPLE);
        sandbox.run(&["import", &people], None).ok();
        sandbox
    }

    fn command(&self) -> Command {
        let mut command = self.home.custodian();
        command.arg("--db").arg(&self.db);
        command
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = self.command();
        command.args(args);
        Run::of(command, Some(stdin.unwrap_or("").as_bytes()))
    }

    fn file(&self, name: &str, text: &str) -> String {
        self.home.write(name, text)
    }

    fn keygen(&self, name: &str) -> String {
        let path = self.home.path(name);
        let path = path.to_str().expect("utf-8").to_owned();
        let run = self.run(&["keygen", "--out", &path], None).ok();
        assert!(run.stdout.starts_with("wrote key "), "{run:?}");
        path
    }

    fn stored(&self, user: &str) -> Value {
        serde_json::from_str(&self.run(&["get", user], None).ok().stdout).expect("stored JSON")
    }

    /// Saves the billing document for alice with SEALED_PATHS sealed by `key`.
    fn seal_billing(&self, key: &str) {
        let file = self.file("billing.json", BILLING);
        let mut args = vec!["--key-file", key, "set", "alice", &file, "--seal"];
        args.extend_from_slice(SEALED_PATHS);
        let run = self.run(&args, None).ok();
        assert!(run.stdout.starts_with("saved: user u1 revision "), "{run:?}");
    }
}

fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    match path {
        "billing.taxId" => &value["billing"]["taxId"],
        "billing.iban" => &value["billing"]["iban"],
        "apps[2].token" => &value["apps"][2]["token"],
        "limits[1]" => &value["limits"][1],
        other => panic!("no such path in the test: {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The two JOSE implementations

struct Jose {
    python: PathBuf,
    node_modules: PathBuf,
}

/// Installs (or finds) joserfc and jose through the script `.ci/run` also relies on. Panics,
/// failing the test, when they cannot be had: a test of interoperability never skips.
fn jose() -> &'static Jose {
    static JOSE: OnceLock<Jose> = OnceLock::new();
    JOSE.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/jose-interop-env");
        let output = Command::new(&script).output().expect("run scripts/jose-interop-env");
        assert!(
            output.status.success(),
            "scripts/jose-interop-env failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env_file = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let env = fs::read_to_string(&env_file).expect("the env file jose-interop-env printed");
        let get = |name: &str| {
            env.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .map(PathBuf::from)
                .unwrap_or_else(|| panic!("{name} missing from {env_file}"))
        };
        Jose { python: get("JOSE_PYTHON"), node_modules: get("JOSE_NODE_MODULES") }
    })
}

#[derive(Clone, Copy, Debug)]
enum Library {
    PythonJoserfc,
    NodeJose,
}

const LIBRARIES: [Library; 2] = [Library::PythonJoserfc, Library::NodeJose];

/// Runs the library's side (tests/interop/) in `mode` (`decrypt` or `encrypt`) with `key`.
fn library(library: Library, mode: &str, key: &str, input: &str) -> String {
    let jose = jose();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let mut command = match library {
        Library::PythonJoserfc => {
            let mut c = Command::new(&jose.python);
            c.arg(dir.join("jose_interop.py"));
            c
        }
        Library::NodeJose => {
            let mut c = Command::new("node");
            c.arg(dir.join("jose_interop.mjs")).env("JOSE_NODE_MODULES", &jose.node_modules);
            c
        }
    };
    command.args([mode, key]);
    let run = Run::of(command, Some(input.as_bytes()));
    assert_eq!(run.code, 0, "{library:?} {mode} failed: {run:?}");
    run.stdout
}

// ---------------------------------------------------------------------------------------------
// Interoperability

#[test]
fn values_custodian_sealed_open_in_python_joserfc_and_node_jose() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    sandbox.seal_billing(&key);
    let stored = sandbox.stored("alice");
    let original = billing_doc();
    for path in SEALED_PATHS {
        let sealed = at(&stored, path).as_str().unwrap_or_else(|| panic!("{path} not sealed: {stored}"));
        for lib in LIBRARIES {
            let plaintext = library(lib, "decrypt", &key, sealed);
            let opened: Value = serde_json::from_str(&plaintext).expect("the plaintext is JSON");
            assert_eq!(&opened, at(&original, path), "{lib:?} opened {path}");
        }
    }
    // The number keeps its text: the plaintext is the value's JSON text.
    let plaintext = library(Library::NodeJose, "decrypt", &key, at(&stored, "limits[1]").as_str().unwrap());
    assert_eq!(plaintext, "2.50");
}

#[test]
fn values_python_joserfc_and_node_jose_sealed_open_in_custodian() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    let mut document = json!({"theme": "dark"});
    for (lib, plaintext) in
        LIBRARIES.iter().zip([r#"{"iban":"DE89370400440532013000"}"#, r#""sk-from-node""#])
    {
        document[format!("{lib:?}")] = Value::String(library(*lib, "encrypt", &key, plaintext));
    }
    // Ciphertext passes the secrets lint without --allow-sensitive.
    let file = sandbox.file("theirs.json", &document.to_string());
    sandbox.run(&["set", "alice", &file], None).ok();
    let run = sandbox.run(&["get", "alice", "--unseal", "--key-file", &key], None).ok();
    let opened: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        opened,
        json!({"theme": "dark", "PythonJoserfc": {"iban": "DE89370400440532013000"}, "NodeJose": "sk-from-node"})
    );
}

#[test]
fn a_jwk_set_rotates_the_first_key_seals_and_the_kid_picks_the_key_everywhere() {
    let sandbox = Sandbox::new();
    let old = sandbox.keygen("old.jwk");
    sandbox.seal_billing(&old);
    let new = sandbox.keygen("new.jwk");
    let jwk = |path: &str| fs::read_to_string(path).expect("key");
    let set = sandbox.file("set.jwks", &format!(r#"{{"keys":[{},{}]}}"#, jwk(&new), jwk(&old)));
    fs::set_permissions(&set, fs::Permissions::from_mode(0o600)).expect("chmod");
    // A value sealed by the new (first) key next to the old ones.
    let stored = sandbox.stored("alice");
    let mut document = stored.clone();
    document["fresh"] = json!("new-key-value");
    let file = sandbox.file("more.json", &document.to_string());
    sandbox.run(&["set", "alice", &file, "--seal", "fresh", "--key-file", &set], None).ok();
    let stored = sandbox.stored("alice");
    let fresh = stored["fresh"].as_str().expect("sealed");
    let old_kid: Value = serde_json::from_str(&jwk(&old)).expect("jwk");
    let new_kid: Value = serde_json::from_str(&jwk(&new)).expect("jwk");
    for lib in LIBRARIES {
        assert_eq!(library(lib, "decrypt", &set, fresh), "\"new-key-value\"");
        assert_eq!(
            library(lib, "decrypt", &set, stored["billing"]["taxId"].as_str().unwrap()),
            "\"DE123456789\""
        );
    }
    let opened: Value = serde_json::from_str(
        &sandbox.run(&["--key-file", &set, "get", "alice", "--unseal"], None).ok().stdout,
    )
    .expect("JSON");
    assert_eq!(opened["fresh"], json!("new-key-value"));
    assert_eq!(opened["billing"], billing_doc()["billing"]);
    assert_ne!(old_kid["kid"], new_kid["kid"]);
}

// ---------------------------------------------------------------------------------------------
// The CLI's promises

#[test]
fn get_and_export_never_open_and_get_unseal_restores_the_document() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    sandbox.seal_billing(&key);
    let plain = sandbox.run(&["--key-file", &key, "get", "alice"], None).ok().stdout;
    let export = sandbox.run(&["--key-file", &key, "export"], None).ok().stdout;
    for text in [&plain, &export] {
        assert!(!text.contains("DE123456789") && !text.contains("tok-3f9a"), "{text}");
    }
    // The key file from the environment, the flag after the subcommand: both work.
    let mut command = sandbox.command();
    command.env("CUSTODIAN_KEY_FILE", &key).args(["get", "alice", "--unseal"]);
    let opened: Value = serde_json::from_str(&Run::of(command, None).ok().stdout).expect("JSON");
    assert_eq!(opened, billing_doc());
}

#[test]
fn a_tampered_or_foreign_value_opens_nothing_and_says_so_on_one_line() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    sandbox.seal_billing(&key);
    let mut stored = sandbox.stored("alice");
    let token = stored["apps"][2]["token"].as_str().expect("sealed").to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    // One character of the ciphertext changed.
    let mut ciphertext = parts[3].to_owned().into_bytes();
    ciphertext[0] = if ciphertext[0] == b'A' { b'B' } else { b'A' };
    let tampered =
        format!("{}..{}.{}.{}", parts[0], parts[2], String::from_utf8(ciphertext).expect("ascii"), parts[4]);
    stored["apps"][2]["token"] = Value::String(tampered);
    let file = sandbox.file("tampered.json", &stored.to_string());
    sandbox.run(&["set", "alice", &file], None).ok();
    let run = sandbox.run(&["get", "alice", "--unseal", "--key-file", &key], None);
    assert!(run.stdout.is_empty(), "no partial document: {run:?}");
    assert_eq!(
        run.fails(4),
        "custodian: cannot open apps[2].token: the tag does not match — the value was changed, or the key is wrong (another key under the same kid?)"
    );
    // Another key file: the kid is unknown, so the values stay sealed, named on stderr.
    let other = sandbox.keygen("other.jwk");
    sandbox.seal_billing(&key);
    let run = sandbox.run(&["get", "alice", "--unseal", "--key-file", &other], None).ok();
    assert_eq!(run.stderr.lines().count(), SEALED_PATHS.len(), "{run:?}");
    assert!(run.stderr.starts_with("custodian: left sealed: billing.taxId (no key with kid "), "{run:?}");
    assert!(!run.stdout.contains("DE123456789"));
}

/// A sealed value whose tag was cut off (a bad copy) is refused where the document is opened,
/// as the bad-input table says: it was printed as it was, exit 0, nothing said (bb67 F1).
#[test]
fn get_unseal_refuses_a_sealed_value_cut_to_four_parts() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    sandbox.seal_billing(&key);
    let mut stored = sandbox.stored("alice");
    let token = stored["apps"][2]["token"].as_str().expect("sealed").to_owned();
    let cut = token[..token.rfind('.').expect("dots")].to_owned();
    stored["apps"][2]["token"] = Value::String(cut);
    let file = sandbox.file("cut.json", &stored.to_string());
    sandbox.run(&["set", "alice", &file, "--allow-sensitive"], None).ok();
    let run = sandbox.run(&["get", "alice", "--unseal", "--key-file", &key], None);
    assert!(run.stdout.is_empty(), "no partial document: {run:?}");
    assert_eq!(
        run.fails(4),
        "custodian: cannot open apps[2].token: not a JWE compact value (4 parts separated by dots, 5 expected)"
    );
}

#[test]
fn a_document_sealing_grew_past_the_limit_is_refused_saying_sealing_did_it() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    // 900 KiB of text: under the 1 MiB limit as given, over it once sealed (base64url).
    let big = sandbox.file("big.json", &format!(r#"{{"big": "{}"}}"#, "x".repeat(900 * 1024)));
    let error = sandbox.run(&["set", "alice", &big, "--key-file", &key, "--seal", "big"], None).fails(4);
    assert!(error.starts_with("custodian: sealing made the document larger: "), "{error}");
    assert!(error.contains("limit"), "{error}");
    // Unsealed, the same document is saved.
    sandbox.run(&["set", "alice", &big, "--allow-sensitive"], None).ok();
}

#[test]
fn set_seal_refuses_a_missing_path_a_missing_key_and_a_key_others_can_read() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("doc.json", r#"{"billing": {"taxId": "DE1"}}"#);
    let error = sandbox.run(&["set", "alice", &file, "--seal", "billing.taxId"], None).fails(2);
    assert!(error.contains("set --seal needs a key: --key-file FILE or $CUSTODIAN_KEY_FILE"), "{error}");
    let key = sandbox.keygen("key.jwk");
    let error =
        sandbox.run(&["set", "alice", &file, "--key-file", &key, "--seal", "billing.vat"], None).fails(4);
    assert_eq!(error, "custodian: billing.vat: no such value in the document");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).expect("chmod");
    let error =
        sandbox.run(&["set", "alice", &file, "--key-file", &key, "--seal", "billing.taxId"], None).fails(1);
    assert_eq!(
        error,
        format!("custodian: key file {key} is open to group or others (mode 0644); run `chmod 600 {key}`")
    );
    // A directory is no key file, whatever its mode (it was told to `chmod 600`).
    let folder = sandbox.file("keys.d", "");
    fs::remove_file(&folder).expect("rm");
    fs::create_dir(&folder).expect("mkdir");
    let error = sandbox.run(&["get", "alice", "--unseal", "--key-file", &folder], None).fails(1);
    assert_eq!(error, format!("custodian: key file {folder} is a directory, not a key file"));
    let broken = sandbox.file("broken.jwk", r#"{"kty":"oct","kid":"x"}"#);
    fs::set_permissions(&broken, fs::Permissions::from_mode(0o600)).expect("chmod");
    let error = sandbox.run(&["get", "alice", "--unseal", "--key-file", &broken], None).fails(1);
    assert_eq!(
        error,
        format!("custodian: key file {broken}: the key has no \"k\" (the key's bytes, base64url)")
    );
    // Nothing was saved by any of these.
    assert_eq!(sandbox.stored("alice"), json!({"theme": "dark"}));
}

#[test]
fn set_seal_refuses_a_value_that_holds_a_sealed_value() {
    // `get --unseal` would have shown the inner one still sealed, and said nothing (bb12).
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    let file = sandbox.file("doc.json", r#"{"billing": {"taxId": "DE1"}}"#);
    sandbox.run(&["set", "alice", &file, "--key-file", &key, "--seal", "billing.taxId"], None).ok();
    let sealed = sandbox.file("sealed.json", &sandbox.run(&["get", "alice"], None).ok().stdout);
    let error =
        sandbox.run(&["set", "alice", &sealed, "--key-file", &key, "--seal", "billing"], None).fails(4);
    assert_eq!(
        error,
        "custodian: billing: holds the sealed value billing.taxId; seal the values beside it one by one instead"
    );
    assert_eq!(sandbox.run(&["history", "alice"], None).ok().stdout.lines().count(), 3, "nothing saved");
}

#[test]
fn keygen_refuses_to_overwrite_a_file() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    let before = fs::read(&key).expect("key");
    let error = sandbox.run(&["keygen", "--out", &key], None).fails(1);
    assert!(error.contains("already exists; keygen never overwrites a key"), "{error}");
    assert_eq!(fs::read(&key).expect("key"), before);
    assert_eq!(fs::metadata(&key).expect("meta").permissions().mode() & 0o777, 0o600);
}

#[test]
fn the_lint_refuses_a_value_in_the_clear_and_accepts_it_sealed() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    let file = sandbox.file("doc.json", r#"{"stripe": {"apiKey": "sk-3f9a8b7c6d5e4f3a2b1c"}}"#);
    let error = sandbox.run(&["set", "alice", &file], None).fails(4);
    assert!(error.contains("stripe.apiKey (key looks like an API key)"), "{error}");
    sandbox.run(&["set", "alice", &file, "--key-file", &key, "--seal", "stripe.apiKey"], None).ok();
}

#[test]
fn the_editor_refuses_a_key_file_others_can_read_before_it_opens() {
    let sandbox = Sandbox::new();
    let key = sandbox.keygen("key.jwk");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o604)).expect("chmod");
    let mut command = sandbox.command();
    command.env("TERM", "xterm-256color").args(["--key-file", &key]);
    let run = Run::of(command, None);
    assert!(run.stdout.is_empty(), "nothing drawn: {run:?}");
    assert_eq!(
        run.fails(1),
        format!("custodian: key file {key} is open to group or others (mode 0604); run `chmod 600 {key}`")
    );
}
