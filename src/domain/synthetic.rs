//! Deterministic synthetic users for demos, load tests and benchmarks: realistic names,
//! usernames and emails, and about 300 bytes of customData shaped like Logto's
//! `adminConsolePreferences` example. The same seed always gives the same users.

use serde_json::json;

use super::import::NewUser;
use super::{CustomData, User};

const FIRST: &[&str] = &[
    "amelia",
    "noah",
    "olivia",
    "liam",
    "emma",
    "mateo",
    "sofia",
    "lucas",
    "mia",
    "elias",
    "zoe",
    "jonas",
    "lea",
    "hugo",
    "chloe",
    "arjun",
    "priya",
    "kenji",
    "yuki",
    "wei",
    "mei",
    "omar",
    "layla",
    "ivan",
    "olga",
    "lukasz",
    "agnieszka",
    "soren",
    "freya",
    "diego",
    "lucia",
    "tariq",
    "amara",
    "kwame",
    "nia",
    "finn",
    "saoirse",
    "henrik",
    "ingrid",
    "marco",
];
const LAST: &[&str] = &[
    "kovacs",
    "smith",
    "garcia",
    "muller",
    "rossi",
    "nguyen",
    "tanaka",
    "kim",
    "novak",
    "silva",
    "dubois",
    "jensen",
    "nowak",
    "ivanova",
    "haddad",
    "okafor",
    "mensah",
    "patel",
    "sharma",
    "chen",
    "wang",
    "yamada",
    "larsen",
    "berg",
    "costa",
    "moreau",
    "fischer",
    "weber",
    "horvat",
    "popescu",
    "oconnor",
    "murphy",
    "andersen",
    "lindqvist",
    "alvarez",
];
/// How names are written, so that the data set has non-ASCII in it.
const DISPLAY_LAST: &[(&str, &str)] = &[
    ("muller", "Müller"),
    ("kovacs", "Kovács"),
    ("nowak", "Nowak"),
    ("alvarez", "Álvarez"),
    ("oconnor", "O'Connor"),
    ("lindqvist", "Lindqvist"),
    ("dubois", "Dubois"),
];
const DOMAINS: &[&str] = &["example.com", "example.org", "example.net", "mail.example", "corp.example"];
const LANGUAGES: &[&str] = &["en", "de", "fr", "ja", "es", "pt-BR", "zh-CN", "pl"];
const MODES: &[&str] = &["system", "light", "dark"];
const PLANS: &[&str] = &["free", "pro", "team", "enterprise"];

/// An endless, deterministic stream of users; `first_number` makes usernames distinct
/// across several seeding runs into one database.
pub struct SyntheticUsers {
    rng: fastrand::Rng,
    number: u64,
    base_ms: i64,
    /// The last id as a number: ids rise through the run (with random gaps), so a bulk load
    /// appends to the users table instead of touching every page of it.
    id_cursor: u64,
}

/// 36^12: how many 12-character `[0-9a-z]` ids there are.
const ID_SPACE: u64 = 4_738_381_338_321_616_896;
/// The largest step between two ids: 10 million users fit in a sixth of the id space.
const ID_GAP: u64 = 1 << 36;

impl SyntheticUsers {
    pub fn new(seed: u64, first_number: u64) -> Self {
        // 2023-01-01T00:00:00Z: fixed, so the same seed gives the same timestamps.
        let mut rng = fastrand::Rng::with_seed(seed);
        let id_cursor = rng.u64(..ID_SPACE / 2);
        Self { rng, number: first_number, base_ms: 1_672_531_200_000, id_cursor }
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.rng.usize(..from.len())]
    }

    fn id(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        self.id_cursor = (self.id_cursor + 1 + self.rng.u64(..ID_GAP)) % ID_SPACE;
        let mut value = self.id_cursor;
        let mut id = [b'0'; 12];
        for place in id.iter_mut().rev() {
            *place = ALPHABET[(value % 36) as usize];
            value /= 36;
        }
        id.iter().map(|b| *b as char).collect()
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

impl Iterator for SyntheticUsers {
    type Item = NewUser;

    fn next(&mut self) -> Option<NewUser> {
        self.number += 1;
        let n = self.number;
        let first = self.pick(FIRST);
        let last = self.pick(LAST);
        let display_last = DISPLAY_LAST
            .iter()
            .find(|(k, _)| *k == last)
            .map_or_else(|| capitalise(last), |(_, v)| (*v).to_owned());
        let username = match self.rng.u8(..3) {
            0 => format!("{first}.{last}{n}"),
            1 => format!("{first}_{last}{n}"),
            _ => format!("{}{last}{n}", &first[..1]),
        };
        let domain = self.pick(DOMAINS);
        let created_at = self.base_ms + self.rng.i64(0..100_000_000_000);
        let updated_at = created_at + self.rng.i64(0..10_000_000_000);
        let signed_in = self.rng.u8(..10) < 8;
        let data = json!({
            "adminConsolePreferences": {
                "language": self.pick(LANGUAGES),
                "appearanceMode": self.pick(MODES),
                "experienceNoticeConfirmed": self.rng.bool(),
            },
            "plan": { "tier": self.pick(PLANS), "seats": self.rng.u32(1..50), "renewsOn": "2027-01-01" },
            "notifications": { "email": self.rng.bool(), "push": self.rng.bool(), "digest": "weekly" },
            "onboarding": { "completed": self.rng.bool(), "step": self.rng.u8(1..6) },
            "featureFlags": ["new-editor", "beta-search"],
        });
        let custom_data = match data {
            serde_json::Value::Object(object) => CustomData::from_object(object),
            _ => CustomData::empty(),
        };
        let user = User {
            id: self.id(),
            username: Some(username),
            primary_email: Some(format!("{first}.{last}.{n}@{domain}")),
            primary_phone: None,
            name: Some(format!("{} {display_last}", capitalise(first))),
            avatar: None,
            identities: Default::default(),
            last_sign_in_at: signed_in.then(|| updated_at + self.rng.i64(0..1_000_000_000)),
            created_at,
            updated_at,
            profile: Default::default(),
            application_id: None,
            is_suspended: self.rng.u8(..50) == 0,
            extra: Default::default(),
        };
        Some(NewUser {
            origin: format!("synthetic user {n}"),
            user,
            custom_data: Some(custom_data),
            fields: None,
        })
    }
}
